/* SHA-256 (FIPS 180-4), for ACL passwords: Redis keeps and shows each
 * password as the hex SHA-256 of its text (#<hash> in ACL rules). */
#ifndef CACHELY_CORE_SHA256_H
#define CACHELY_CORE_SHA256_H

#include <stddef.h>

/* Write the 64 lower-case hex digits of SHA-256(data) and a NUL to out. */
void sha256_hex(const void *data, size_t len, char out[65]);

#endif

/* SHA-1 (FIPS 180-4), for script names: EVALSHA, SCRIPT LOAD and
 * redis.sha1hex name a script by the hex SHA-1 of its body, as Redis does. */
#ifndef CACHELY_CORE_SHA1_H
#define CACHELY_CORE_SHA1_H

#include <stddef.h>

/* Write the 40 lower-case hex digits of SHA-1(data) and a NUL to out. */
void sha1_hex(const void *data, size_t len, char out[41]);

#endif

/* Hash slots as Redis Cluster computes them: CRC16 (XMODEM) of the key, or
 * of its {hash tag} when the key has a non-empty one, modulo 16384.  The
 * proxy shards by slot so keys map to groups the same way Redis Cluster
 * maps them to nodes. */
#ifndef CACHELY_CORE_SLOT_H
#define CACHELY_CORE_SLOT_H

#include <stddef.h>
#include <stdint.h>

#define SLOT_COUNT 16384

uint16_t slot_crc16(const char *buf, size_t len);
/* The slot of a key (0..16383). */
unsigned slot_of_key(const char *key, size_t len);

#endif

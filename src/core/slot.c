/* CRC16-CCITT (XMODEM: polynomial 0x1021, initial value 0) and the hash-tag
 * rule: the first '{' and the first '}' after it delimit the tag; an empty
 * tag or no closing brace means the whole key is hashed. */
#include "core/slot.h"

#include <string.h>

static uint16_t crc16_table[256];

static void
crc16_init(void)
{
    for (unsigned i = 0; i < 256; i++) {
        uint16_t crc = (uint16_t)(i << 8);
        for (int b = 0; b < 8; b++) {
            crc = (crc & 0x8000) ? (uint16_t)((crc << 1) ^ 0x1021) : (uint16_t)(crc << 1);
        }
        crc16_table[i] = crc;
    }
}

uint16_t
slot_crc16(const char *buf, size_t len)
{
    uint16_t crc = 0;
    if (crc16_table[1] == 0) {
        crc16_init();
    }
    for (size_t i = 0; i < len; i++) {
        crc = (uint16_t)((crc << 8) ^ crc16_table[((crc >> 8) ^ (unsigned char)buf[i]) & 0xff]);
    }
    return crc;
}

unsigned
slot_of_key(const char *key, size_t len)
{
    const char *open = memchr(key, '{', len);
    if (open != NULL) {
        size_t rest = len - (size_t)(open - key) - 1;
        const char *close = memchr(open + 1, '}', rest);
        if (close != NULL && close > open + 1) {
            key = open + 1;
            len = (size_t)(close - open - 1);
        }
    }
    return slot_crc16(key, len) & (SLOT_COUNT - 1);
}

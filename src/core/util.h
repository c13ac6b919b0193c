/* Small pure helpers: strict number parsing and formatting as Redis does it,
 * glob matching, memory-size units, hashing and clocks. */
#ifndef CACHELY_CORE_UTIL_H
#define CACHELY_CORE_UTIL_H

#include <stddef.h>
#include <sys/types.h>
#include <stdint.h>

/* Parse a whole buffer as a signed 64-bit integer with no leading '+',
 * spaces or zeros (except "0" itself).  Returns 0 on success, -1 otherwise. */
int util_str2ll(const char *s, size_t len, long long *out);
/* A SCAN cursor as Redis 7.0 reads one (strtoul over the C string: up to a
 * NUL byte; an optional sign, "-1" wrapping to the largest cursor; "" is
 * 0; leading white space, anything after the digits and overflow are
 * refused).  Returns 0, or -1 for "invalid cursor". */
int util_scan_cursor(const char *s, size_t len, unsigned long *out);
/* Redis's MAX_LONG_DOUBLE_CHARS: the longest long double INCRBYFLOAT parses
 * or prints (%.17Lf of a huge value takes ~4950 bytes). */
#define UTIL_LD_CHARS (5 * 1024)

/* Parse a long double the way INCRBYFLOAT does (Redis's string2ld): the
 * whole buffer, no leading space, no NaN, no overflow or underflow to zero;
 * "inf" is accepted.  Inputs of UTIL_LD_CHARS bytes or more are refused,
 * as in Redis.  Returns 0 on success, -1 otherwise. */
int util_str2ld(const char *s, size_t len, long double *out);
/* Parse a double with the same rules (strtod's range and rounding), of any
 * length, as Redis's string2d.  Returns 0 or -1. */
int util_str2d(const char *s, size_t len, double *out);
/* Format; returns length written (no NUL counted).  dst needs 21 bytes. */
size_t util_ll2str(char *dst, long long v);
size_t util_ull2str(char *dst, unsigned long long v);
/* Long double as INCRBYFLOAT prints it (%.17Lf, trailing zeros dropped).
 * Large magnitudes print every integer digit, so give it UTIL_LD_CHARS as
 * Redis does; returns 0 when cap is too small. */
size_t util_ld2str(char *dst, size_t cap, long double v);
/* Double as Redis prints it in replies (%.17g, inf/-inf). */
size_t util_d2str(char *dst, size_t cap, double v);

/* Parse "100", "10kb", "1gb", "5m"... into bytes.  Returns 0 or -1. */
int util_memtoull(const char *s, unsigned long long *out);
/* Glob-style match (*, ?, [a-z], [^x], \ escapes) of string against pattern.
 * nocase compares ASCII case-insensitively.  Returns 1 on a match. */
int util_glob_match(const char *pat, size_t patlen, const char *str,
                    size_t strlen, int nocase);

/* Keyed 64-bit hash for hash tables; util_hash_seed() randomises the key at
 * startup so clients cannot force collisions. */
void util_hash_seed(const uint8_t seed[16]);
uint64_t util_hash(const void *data, size_t len);

/* Wall-clock milliseconds/microseconds since the epoch, and monotonic
 * microseconds for measuring durations. */
long long util_mstime(void);
long long util_ustime(void);
long long util_monotonic_us(void);

/* Wall-clock time derived from monotonic readings: the wall clock is read
 * again once the last reading is a millisecond old (or the monotonic one
 * went back), so a caller that already holds a monotonic reading gets
 * milliseconds since the epoch without a second clock call. */
struct util_clock {
    long long mono_us;           /* monotonic reading at the anchor */
    long long real_us;           /* wall clock at the anchor */
    int valid;
};
/* Milliseconds since the epoch at the monotonic time mono_us (a fresh
 * util_monotonic_us() reading). */
long long util_clock_ms(struct util_clock *clk, long long mono_us);

/* Write all len bytes to fd, retrying after EINTR and, for a non-blocking
 * fd, waiting up to timeout_ms for room each time it is full.  Returns 0, or
 * -1 with errno set (ETIMEDOUT when the wait ran out). */
int util_write_all(int fd, const void *buf, size_t len, int timeout_ms);

/* Start a non-blocking TCP connection to host:port (the first address the
 * name resolves to), close-on-exec.  Returns the fd with the connect in
 * progress (writability tells when it is done; SO_ERROR tells how), or -1
 * with errno set (EHOSTUNREACH when the name does not resolve). */
int util_connect_nonblock(const char *host, int port);

/* Fill buf with len random bytes from /dev/urandom (falls back to time). */
void util_random_bytes(uint8_t *buf, size_t len);
/* In a child just forked from parent: be killed when the parent dies (a
 * snapshot writer must not outlive a crashed server, holding its sockets
 * open so that peers see neither a refusal nor an EOF). */
void util_child_die_with_parent(pid_t parent);
/* A random hex string of len characters (run ids, replication ids). */
void util_random_hex(char *dst, size_t len);

/* Compare two byte strings in time that depends only on their lengths (for
 * passwords).  Returns 1 when equal. */
int util_secure_equals(const char *a, size_t alen, const char *b, size_t blen);

/* INFO's CPU section, as Redis 7.0 writes it (# CPU, used_cpu_sys ...
 * from getrusage), into buf; returns its length.  512 bytes suffice. */
size_t util_info_cpu(char *buf, size_t cap);

#endif

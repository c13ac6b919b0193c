/* HyperLogLog in Redis's string format (see t_hll.h for the layout).  The
 * sparse writer follows the format's own rules exactly: a register is set
 * by splitting the one opcode that covers it into at most five, then
 * merging adjacent equal VAL opcodes a few steps to the right, so the same
 * PFADDs produce the same bytes as Redis. */
#include "node/t_hll.h"
#include "core/alloc.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define HLL_REGISTER_MAX ((1 << HLL_BITS) - 1)
#define HLL_ALPHA_INF 0.721347520444481703680 /* 1 / (2 ln 2) */

/* ---- sparse opcodes ------------------------------------------------------ */

#define SP_IS_ZERO(b) (((b) & 0xc0) == 0x00)
#define SP_IS_XZERO(b) (((b) & 0xc0) == 0x40)
#define SP_ZERO_LEN(b) (((b) & 0x3f) + 1)
#define SP_XZERO_LEN(b0, b1) (((((unsigned)(b0) & 0x3f) << 8) | (b1)) + 1)
#define SP_VAL_VALUE(b) ((((b) >> 2) & 0x1f) + 1)
#define SP_VAL_LEN(b) (((b) & 0x3) + 1)
#define SP_ZERO_MAX 64
#define SP_XZERO_MAX 16384
#define SP_VAL_MAX_LEN 4

/* The second byte of an XZERO: a truncated value reads a zero there, as
 * Redis reads its string's terminator. */
static inline unsigned
hll_byte1(const unsigned char *p, const unsigned char *end)
{
    return p + 1 < end ? p[1] : 0;
}

static inline unsigned char
sp_val(unsigned val, unsigned len)
{
    return (unsigned char)(0x80 | ((val - 1) << 2) | (len - 1));
}

/* Write a zero run of len (1..16384) at q: returns the bytes used. */
static size_t
sp_zero(unsigned char *q, unsigned len)
{
    if (len > SP_ZERO_MAX) {
        q[0] = (unsigned char)(0x40 | ((len - 1) >> 8));
        q[1] = (unsigned char)((len - 1) & 0xff);
        return 2;
    }
    q[0] = (unsigned char)(len - 1);
    return 1;
}

/* ---- header and cache ------------------------------------------------------ */

int
hll_is_valid(const unsigned char *p, size_t len)
{
    if (len < HLL_HDR_SIZE || memcmp(p, "HYLL", 4) != 0) {
        return 0;
    }
    if (p[4] > HLL_ENC_SPARSE) {
        return 0;
    }
    return p[4] != HLL_ENC_DENSE || len == HLL_DENSE_SIZE;
}

int
hll_cache_get(const unsigned char *p, uint64_t *card)
{
    if (p[15] & 0x80) {
        return 0;
    }
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) {
        v = (v << 8) | p[8 + i];
    }
    *card = v;
    return 1;
}

void
hll_cache_set(unsigned char *p, uint64_t card)
{
    for (int i = 0; i < 8; i++) {
        p[8 + i] = (unsigned char)(card >> (8 * i));
    }
}

void
hll_cache_invalidate(unsigned char *p)
{
    p[15] |= 0x80;
}

static void
hll_reserve(struct hll *h, size_t need)
{
    if (need > h->cap) {
        size_t cap = need + need / 2 + 16;
        h->p = mem_realloc(h->p, cap);
        h->cap = cap;
    }
}

void
hll_init_sparse(struct hll *h)
{
    h->cap = 64;
    h->p = mem_calloc(h->cap);
    memcpy(h->p, "HYLL", 4);
    h->p[4] = HLL_ENC_SPARSE;
    h->len = HLL_HDR_SIZE + sp_zero(h->p + HLL_HDR_SIZE, HLL_REGISTERS);
}

void
hll_init_copy(struct hll *h, const unsigned char *p, size_t len)
{
    h->cap = len + 32;
    h->p = mem_alloc(h->cap);
    memcpy(h->p, p, len);
    h->len = len;
}

/* ---- hashing --------------------------------------------------------------- */

uint64_t
hll_murmur64a(const void *key, size_t len, uint64_t seed)
{
    const uint64_t m = 0xc6a4a7935bd1e995ULL;
    const int r = 47;
    const unsigned char *data = key;
    const unsigned char *end = data + (len & ~(size_t)7);
    uint64_t h = seed ^ ((uint64_t)len * m);

    for (; data != end; data += 8) {
        uint64_t k = 0;
        for (int i = 7; i >= 0; i--) {
            k = (k << 8) | data[i];     /* little endian on every host */
        }
        k *= m;
        k ^= k >> r;
        k *= m;
        h ^= k;
        h *= m;
    }
    size_t tail = len & 7;
    if (tail > 0) {
        for (size_t i = tail; i-- > 0;) {
            h ^= (uint64_t)data[i] << (8 * i);
        }
        h *= m;
    }
    h ^= h >> r;
    h *= m;
    h ^= h >> r;
    return h;
}

int
hll_pattern(const void *ele, size_t len, long *index)
{
    uint64_t hash = hll_murmur64a(ele, len, 0xadc83b19ULL);
    *index = (long)(hash & (HLL_REGISTERS - 1));
    hash >>= HLL_P;
    hash |= (uint64_t)1 << HLL_Q;   /* at most Q zeros: count <= Q + 1 */
    return __builtin_ctzll(hash) + 1;
}

/* ---- dense registers ------------------------------------------------------- */

unsigned
hll_dense_get(const unsigned char *regs, long i)
{
    size_t bit = (size_t)i * HLL_BITS;
    size_t byte = bit / 8;
    unsigned fb = bit & 7;
    unsigned v = regs[byte] >> fb;
    /* The last register ends inside its first byte: never read past. */
    if (fb > 8 - HLL_BITS) {
        v |= (unsigned)regs[byte + 1] << (8 - fb);
    }
    return v & HLL_REGISTER_MAX;
}

void
hll_dense_set(unsigned char *regs, long i, unsigned val)
{
    size_t bit = (size_t)i * HLL_BITS;
    size_t byte = bit / 8;
    unsigned fb = bit & 7;
    regs[byte] &= (unsigned char)~(HLL_REGISTER_MAX << fb);
    regs[byte] |= (unsigned char)(val << fb);
    if (fb > 8 - HLL_BITS) {
        unsigned fb8 = 8 - fb;
        regs[byte + 1] &= (unsigned char)~(HLL_REGISTER_MAX >> fb8);
        regs[byte + 1] |= (unsigned char)(val >> fb8);
    }
}

/* Four 6-bit registers fill three bytes exactly: unpack every register of a
 * dense value into one byte each, without per-register branches. */
static void
hll_dense_unpack(const unsigned char *regs, uint8_t *out)
{
    for (long i = 0; i < HLL_REGISTERS / 4; i++) {
        unsigned b0 = regs[3 * i], b1 = regs[3 * i + 1], b2 = regs[3 * i + 2];
        out[4 * i] = (uint8_t)(b0 & 63);
        out[4 * i + 1] = (uint8_t)(((b0 >> 6) | (b1 << 2)) & 63);
        out[4 * i + 2] = (uint8_t)(((b1 >> 4) | (b2 << 4)) & 63);
        out[4 * i + 3] = (uint8_t)(b2 >> 2);
    }
}

/* ---- conversions ----------------------------------------------------------- */

int
hll_to_dense(struct hll *h)
{
    if (h->p[4] == HLL_ENC_DENSE) {
        return 0;
    }
    unsigned char *dense = mem_calloc(HLL_DENSE_SIZE + 1);
    unsigned char *regs = dense + HLL_HDR_SIZE;
    const unsigned char *p = h->p + HLL_HDR_SIZE, *end = h->p + h->len;
    long idx = 0;

    /* The header and the cached cardinality carry over. */
    memcpy(dense, h->p, HLL_HDR_SIZE);
    dense[4] = HLL_ENC_DENSE;
    while (p < end) {
        long run;
        if (SP_IS_ZERO(*p)) {
            run = SP_ZERO_LEN(*p);
            if (idx + run > HLL_REGISTERS) {
                break;
            }
            p++;
        } else if (SP_IS_XZERO(*p)) {
            run = SP_XZERO_LEN(*p, hll_byte1(p, end));
            if (idx + run > HLL_REGISTERS) {
                break;
            }
            p += 2;
        } else {
            run = SP_VAL_LEN(*p);
            unsigned val = SP_VAL_VALUE(*p);
            if (idx + run > HLL_REGISTERS) {
                break;
            }
            for (long k = 0; k < run; k++) {
                hll_dense_set(regs, idx + k, val);
            }
            p++;
        }
        idx += run;
    }
    if (idx != HLL_REGISTERS) {
        mem_free(dense);
        return -1;
    }
    mem_free(h->p);
    h->p = dense;
    h->len = HLL_DENSE_SIZE;
    h->cap = HLL_DENSE_SIZE + 1;
    return 0;
}

/* Promote to dense and set the register there. */
static int
hll_promote_set(struct hll *h, long index, unsigned count)
{
    if (hll_to_dense(h) != 0) {
        return -1;
    }
    unsigned char *regs = h->p + HLL_HDR_SIZE;
    if (count > hll_dense_get(regs, index)) {
        hll_dense_set(regs, index, count);
        return 1;
    }
    return 0;
}

static int
hll_sparse_set(struct hll *h, long index, unsigned count, size_t sparse_max)
{
    if (count > HLL_SPARSE_VAL_MAX) {
        return hll_promote_set(h, index, count);
    }
    unsigned char *sparse = h->p + HLL_HDR_SIZE;
    unsigned char *p = sparse, *end = h->p + h->len, *prev = NULL;
    long first = 0, span = 0;
    size_t oplen = 1;

    /* The opcode whose run covers index. */
    while (p < end) {
        oplen = 1;
        if (SP_IS_ZERO(*p)) {
            span = SP_ZERO_LEN(*p);
        } else if (SP_IS_XZERO(*p)) {
            span = SP_XZERO_LEN(*p, hll_byte1(p, end));
            oplen = 2;
        } else {
            span = SP_VAL_LEN(*p);
        }
        if (index <= first + span - 1) {
            break;
        }
        prev = p;
        p += oplen;
        first += span;
    }
    if (span == 0 || p >= end) {
        return -1;
    }
    if (oplen == 2 && p + 1 >= end) {
        return -1;
    }
    int is_zero = SP_IS_ZERO(*p), is_xzero = SP_IS_XZERO(*p);
    int is_val = !is_zero && !is_xzero;
    long last = first + span - 1;
    unsigned char seq[5];
    size_t n = 0;

    if (is_val && (unsigned)SP_VAL_VALUE(*p) >= count) {
        return 0;
    }
    if (is_val && span == 1) {
        *p = sp_val(count, 1);
        goto updated;
    }
    if (is_zero && span == 1) {
        *p = sp_val(count, 1);
        goto updated;
    }
    /* Split the run into [before][index][after]. */
    if (is_zero || is_xzero) {
        if (index != first) {
            n += sp_zero(seq + n, (unsigned)(index - first));
        }
        seq[n++] = sp_val(count, 1);
        if (index != last) {
            n += sp_zero(seq + n, (unsigned)(last - index));
        }
    } else {
        unsigned cur = SP_VAL_VALUE(*p);
        if (index != first) {
            seq[n++] = sp_val(cur, (unsigned)(index - first));
        }
        seq[n++] = sp_val(count, 1);
        if (index != last) {
            seq[n++] = sp_val(cur, (unsigned)(last - index));
        }
    }
    {
        size_t oldlen = is_xzero ? 2 : 1;
        long delta = (long)n - (long)oldlen;
        if (delta > 0 && h->len + (size_t)delta > sparse_max) {
            return hll_promote_set(h, index, count);
        }
        size_t off = (size_t)(p - h->p), prevoff = prev ? (size_t)(prev - h->p) : 0;
        hll_reserve(h, h->len + n + 1);
        p = h->p + off;
        prev = prev ? h->p + prevoff : NULL;
        sparse = h->p + HLL_HDR_SIZE;
        memmove(p + n, p + oldlen, h->len - off - oldlen);
        memcpy(p, seq, n);
        h->len = (size_t)((long)h->len + delta);
        end = h->p + h->len;
    }

updated:
    /* Merge adjacent VAL opcodes of one value, scanning up to five opcodes
     * from the one before the change, as Redis does. */
    p = prev ? prev : sparse;
    for (int scan = 5; p < end && scan-- > 0;) {
        if (SP_IS_XZERO(*p)) {
            p += 2;
            continue;
        }
        if (SP_IS_ZERO(*p)) {
            p++;
            continue;
        }
        if (p + 1 < end && !SP_IS_ZERO(p[1]) && !SP_IS_XZERO(p[1])) {
            unsigned v1 = SP_VAL_VALUE(*p), v2 = SP_VAL_VALUE(p[1]);
            unsigned len = SP_VAL_LEN(*p) + SP_VAL_LEN(p[1]);
            if (v1 == v2 && len <= SP_VAL_MAX_LEN) {
                p[1] = sp_val(v1, len);
                memmove(p, p + 1, (size_t)(end - p - 1));
                h->len--;
                end--;
                continue;
            }
        }
        p++;
    }
    hll_cache_invalidate(h->p);
    return 1;
}

int
hll_set(struct hll *h, long index, unsigned count, size_t sparse_max)
{
    if (h->p[4] == HLL_ENC_DENSE) {
        unsigned char *regs = h->p + HLL_HDR_SIZE;
        if (count > hll_dense_get(regs, index)) {
            hll_dense_set(regs, index, count);
            return 1;
        }
        return 0;
    }
    if (h->p[4] == HLL_ENC_SPARSE) {
        return hll_sparse_set(h, index, count, sparse_max);
    }
    return -1;
}

int
hll_add(struct hll *h, const void *ele, size_t len, size_t sparse_max)
{
    long index;
    unsigned count = (unsigned)hll_pattern(ele, len, &index);
    return hll_set(h, index, count, sparse_max);
}

/* ---- counting -------------------------------------------------------------- */

static double
hll_sigma(double x)
{
    if (x == 1.0) {
        return INFINITY;
    }
    double zp, y = 1, z = x;
    do {
        x *= x;
        zp = z;
        z += x * y;
        y += y;
    } while (zp != z);
    return z;
}

static double
hll_tau(double x)
{
    if (x == 0.0 || x == 1.0) {
        return 0.0;
    }
    double zp, y = 1.0, z = 1 - x;
    do {
        x = sqrt(x);
        zp = z;
        y *= 0.5;
        z -= pow(1 - x, 2) * y;
    } while (zp != z);
    return z / 3;
}

static uint64_t
hll_estimate(const long *histo)
{
    double m = HLL_REGISTERS;
    double z = m * hll_tau((m - (double)histo[HLL_Q + 1]) / m);
    for (int j = HLL_Q; j >= 1; j--) {
        z += (double)histo[j];
        z *= 0.5;
    }
    z += m * hll_sigma((double)histo[0] / m);
    return (uint64_t)llroundl(HLL_ALPHA_INF * m * m / z);
}

uint64_t
hll_count_raw(const uint8_t *regs)
{
    long histo[64] = {0};
    for (long i = 0; i < HLL_REGISTERS; i++) {
        histo[regs[i] & 63]++;
    }
    return hll_estimate(histo);
}

int
hll_count(const unsigned char *p, size_t len, uint64_t *card)
{
    long histo[64] = {0};
    if (!hll_is_valid(p, len)) {
        return -1;
    }
    if (p[4] == HLL_ENC_DENSE) {
        uint8_t regs[HLL_REGISTERS];
        hll_dense_unpack(p + HLL_HDR_SIZE, regs);
        for (long i = 0; i < HLL_REGISTERS; i++) {
            histo[regs[i]]++;
        }
    } else {
        const unsigned char *q = p + HLL_HDR_SIZE, *end = p + len;
        long idx = 0;
        while (q < end) {
            long run;
            if (SP_IS_ZERO(*q)) {
                run = SP_ZERO_LEN(*q);
                histo[0] += run;
                q++;
            } else if (SP_IS_XZERO(*q)) {
                run = SP_XZERO_LEN(*q, hll_byte1(q, end));
                histo[0] += run;
                q += 2;
            } else {
                run = SP_VAL_LEN(*q);
                histo[SP_VAL_VALUE(*q)] += run;
                q++;
            }
            idx += run;
        }
        if (idx != HLL_REGISTERS) {
            return -1;
        }
    }
    *card = hll_estimate(histo);
    return 0;
}

int
hll_merge_max(uint8_t *max, const unsigned char *p, size_t len)
{
    if (!hll_is_valid(p, len)) {
        return -1;
    }
    if (p[4] == HLL_ENC_DENSE) {
        uint8_t regs[HLL_REGISTERS];
        hll_dense_unpack(p + HLL_HDR_SIZE, regs);
        for (long i = 0; i < HLL_REGISTERS; i++) {
            max[i] = regs[i] > max[i] ? regs[i] : max[i];
        }
        return 0;
    }
    const unsigned char *q = p + HLL_HDR_SIZE, *end = p + len;
    long i = 0;
    while (q < end) {
        long run;
        if (SP_IS_ZERO(*q)) {
            run = SP_ZERO_LEN(*q);
            if (i + run > HLL_REGISTERS) {
                break;
            }
            q++;
        } else if (SP_IS_XZERO(*q)) {
            run = SP_XZERO_LEN(*q, hll_byte1(q, end));
            if (i + run > HLL_REGISTERS) {
                break;
            }
            q += 2;
        } else {
            run = SP_VAL_LEN(*q);
            unsigned v = SP_VAL_VALUE(*q);
            if (i + run > HLL_REGISTERS) {
                break;
            }
            for (long k = 0; k < run; k++) {
                if (v > max[i + k]) {
                    max[i + k] = (uint8_t)v;
                }
            }
            q++;
        }
        i += run;
    }
    return i == HLL_REGISTERS ? 0 : -1;
}

/* ---- PFDEBUG DECODE and PFSELFTEST ---------------------------------------- */

void
hll_decode_sparse(const unsigned char *p, size_t len, char **out, size_t *outlen)
{
    /* Each opcode prints at most 12 bytes ("v:32,4 " or "Z:16384 "). */
    size_t cap = (len - HLL_HDR_SIZE) * 12 + 1, n = 0;
    char *s = mem_alloc(cap);
    const unsigned char *q = p + HLL_HDR_SIZE, *end = p + len;
    while (q < end) {
        if (SP_IS_ZERO(*q)) {
            n += (size_t)snprintf(s + n, cap - n, "z:%d ", SP_ZERO_LEN(*q));
            q++;
        } else if (SP_IS_XZERO(*q)) {
            n += (size_t)snprintf(s + n, cap - n, "Z:%u ", SP_XZERO_LEN(*q, hll_byte1(q, end)));
            q += 2;
        } else {
            n += (size_t)snprintf(s + n, cap - n, "v:%d,%d ", SP_VAL_VALUE(*q), SP_VAL_LEN(*q));
            q++;
        }
    }
    if (n > 0) {
        n--;            /* the trailing space */
    }
    s[n] = '\0';
    *out = s;
    *outlen = n;
}

int
hll_selftest(char *err, size_t errlen)
{
    /* Register access: every register keeps what was written, whatever
     * its neighbours hold. */
    unsigned char regs[HLL_DENSE_SIZE - HLL_HDR_SIZE + 1];
    uint64_t seed = 0x9e3779b97f4a7c15ULL;
    for (int round = 0; round < 100; round++) {
        unsigned char want[HLL_REGISTERS];
        memset(regs, 0, sizeof(regs));
        for (long i = 0; i < HLL_REGISTERS; i++) {
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            want[i] = (unsigned char)((seed >> 33) & HLL_REGISTER_MAX);
            hll_dense_set(regs, i, want[i]);
        }
        for (long i = 0; i < HLL_REGISTERS; i++) {
            if (hll_dense_get(regs, i) != want[i]) {
                snprintf(err, errlen, "TESTFAILED Register error at %ld", i);
                return -1;
            }
        }
    }
    /* Approximation: a sparse and a dense HLL fed the same elements agree,
     * and stay within five standard errors (1.04 / sqrt(m)). */
    struct hll sp, de;
    hll_init_sparse(&sp);
    hll_init_sparse(&de);
    hll_to_dense(&de);
    double relerr = 1.04 / sqrt((double)HLL_REGISTERS);
    int rc = 0;
    for (uint64_t j = 1; j <= 100000; j++) {
        char ele[24];
        int n = snprintf(ele, sizeof(ele), "%llu", (unsigned long long)j);
        hll_add(&sp, ele, (size_t)n, HLL_SPARSE_MAX_BYTES_DEFAULT);
        hll_add(&de, ele, (size_t)n, HLL_SPARSE_MAX_BYTES_DEFAULT);
        if (j % 1000 != 0 && j > 100) {
            continue;
        }
        uint64_t a, b;
        if (hll_count(sp.p, sp.len, &a) != 0 || hll_count(de.p, de.len, &b) != 0 || a != b) {
            snprintf(err, errlen, "TESTFAILED sparse and dense counts differ at %llu",
                     (unsigned long long)j);
            rc = -1;
            break;
        }
        double e = fabs((double)a - (double)j) / (double)j;
        if (j > 100 && e > relerr * 5) {
            snprintf(err, errlen, "TESTFAILED Too big error. card:%llu abserr:%f",
                     (unsigned long long)j, e);
            rc = -1;
            break;
        }
    }
    mem_free(sp.p);
    mem_free(de.p);
    return rc;
}

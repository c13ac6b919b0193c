/* Latency histogram (see lathist.h). */
#include "ds/lathist.h"
#include "core/alloc.h"

const uint16_t lathist_fast_index[LATHIST_FAST_US] = {
    1,    506,  634,  699,  762,  796,  827,  858,  890,  908,  924,
    939,  955,  971,  986,  1002, 1018, 1028, 1036, 1044, 1052, 1060,
    1067, 1075, 1083, 1091, 1099, 1106, 1114, 1122, 1130, 1138,
};

uint64_t
lathist_total(const struct lathist *h)
{
    uint64_t n = 0;
    for (size_t i = 0; i < LATHIST_SLOTS; i++) {
        n += h->counts[i];
    }
    return n;
}

struct lathist *
lathist_create(void)
{
    return mem_calloc(sizeof(struct lathist));
}

void
lathist_destroy(struct lathist **hp)
{
    mem_free(*hp);
    *hp = NULL;
}

long long
lathist_lowest(size_t i)
{
    if (i < 256) {
        return (long long)i;
    }
    int shift = (int)(i >> 7) - 1;
    return (long long)(i - ((size_t)shift << 7)) << shift;
}

long long
lathist_highest(size_t i)
{
    if (i < 256) {
        return (long long)i;
    }
    int shift = (int)(i >> 7) - 1;
    return lathist_lowest(i) + (1LL << shift) - 1;
}

long long
lathist_percentile(const struct lathist *h, double percentile)
{
    double p = percentile < 100.0 ? percentile : 100.0;
    uint64_t total = lathist_total(h);
    uint64_t rank = (uint64_t)((p / 100.0) * (double)total + 0.5);
    uint64_t seen = 0;
    if (total == 0) {
        return 0;
    }
    if (rank < 1) {
        rank = 1;
    }
    for (size_t i = 0; i < LATHIST_SLOTS; i++) {
        seen += h->counts[i];
        if (seen >= rank) {
            return percentile == 0.0 ? lathist_lowest(i) : lathist_highest(i);
        }
    }
    return 0;
}

size_t
lathist_rows(const struct lathist *h, long long *us, uint64_t *cum, size_t cap)
{
    uint64_t seen = 0, reported = 0, total = lathist_total(h);
    size_t n = 0, i = 0;
    for (long long level = 1024; n < cap && reported < total; level *= 2) {
        size_t top;
        if (level > LATHIST_MAX_NS) {
            /* 2^30 ns has no bucket: HDR's iterator stops before it, so
             * durations past 2^29 ns plus a bucket are counted in calls
             * but in no row, as in Redis. */
            break;
        }
        top = lathist_index(level);
        for (; i <= top; i++) {
            seen += h->counts[i];
        }
        if (seen > reported) {
            us[n] = lathist_highest(top) / 1000;
            cum[n] = seen;
            n++;
            reported = seen;
        }
    }
    return n;
}

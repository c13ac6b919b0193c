/* Adaptive failure detection from a node's probe reply gaps (see
 * detect.h).  Pure arithmetic on times it is given: no clock, no I/O. */
#include "proxy/detect.h"

#include <string.h>

/* Weights of a new gap in the moving mean and deviation (TCP's 1/8, 1/4),
 * and the decay of the maximum per gap (half-life of about 45 gaps). */
#define DETECT_MEAN_W 0.125
#define DETECT_DEV_W 0.25
#define DETECT_MAX_DECAY 0.985
#define DETECT_DEV_K 8.0
#define DETECT_MAX_K 2.0

void
detect_init(struct detect *d)
{
    memset(d, 0, sizeof(*d));
}

void
detect_reply(struct detect *d, long long now_ms, int learn, long long cap_ms)
{
    long long prev = d->last_ok_ms;
    d->last_ok_ms = now_ms;
    if (!learn || prev == 0 || now_ms < prev) {
        return;
    }
    double gap = (double)(now_ms - prev);
    if (gap > (double)cap_ms) {
        return;
    }
    if (d->samples == 0) {
        d->mean_ms = gap;
        d->dev_ms = gap / 2;
        d->max_ms = gap;
    } else {
        double err = gap - d->mean_ms;
        d->mean_ms += DETECT_MEAN_W * err;
        d->dev_ms += DETECT_DEV_W * ((err < 0 ? -err : err) - d->dev_ms);
        d->max_ms *= DETECT_MAX_DECAY;
        if (gap > d->max_ms) {
            d->max_ms = gap;
        }
    }
    d->samples++;
}

long long
detect_timeout_ms(const struct detect *d, long long floor_ms, long long cap_ms)
{
    if (d->samples < DETECT_WARMUP) {
        return cap_ms;
    }
    double t = d->mean_ms + DETECT_DEV_K * d->dev_ms;
    if (t < DETECT_MAX_K * d->max_ms) {
        t = DETECT_MAX_K * d->max_ms;
    }
    if (t < (double)floor_ms) {
        t = (double)floor_ms;
    }
    if (t > (double)cap_ms) {
        t = (double)cap_ms;
    }
    return (long long)t;
}

int
detect_down(const struct detect *d, long long now_ms, long long floor_ms, long long cap_ms)
{
    return now_ms - d->last_ok_ms > detect_timeout_ms(d, floor_ms, cap_ms);
}

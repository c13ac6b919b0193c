/* Failure detection for one node from its own probe replies, with the
 * clock passed in (so tests drive it with a fake one).  The detector learns
 * the gaps between a node's valid probe replies (a moving mean, a moving
 * mean deviation and a slowly decaying maximum, as TCP learns its RTO) and
 * calls the node down when it has been silent for longer than those gaps
 * make plausible: mean + 8 deviations, twice the recent maximum, and never
 * less than a floor, nor more than the cap (down-after-ms, which stays the
 * bound a user sets).  Until it has seen DETECT_WARMUP gaps it uses the
 * cap.  A node whose replies come late under load widens its own bound. */
#ifndef CACHELY_PROXY_DETECT_H
#define CACHELY_PROXY_DETECT_H

/* Gaps learned before the adaptive bound is used. */
#define DETECT_WARMUP 8

struct detect {
    long long last_ok_ms;   /* the last valid reply; 0 before the first */
    long long samples;      /* gaps learned */
    double mean_ms;         /* moving mean of the gaps */
    double dev_ms;          /* moving mean absolute deviation */
    double max_ms;          /* decaying maximum gap */
};

/* Reset d to know nothing (a node just added). */
void detect_init(struct detect *d);

/* A valid reply arrived at now_ms.  learn = 0 records it without learning
 * the gap (the first reply after the node was down: the gap is the outage,
 * not its rhythm).  Gaps longer than cap_ms are never learned. */
void detect_reply(struct detect *d, long long now_ms, int learn, long long cap_ms);

/* The silence after which the node counts as down: the adaptive bound,
 * at least floor_ms, at most cap_ms (cap_ms itself during warm-up). */
long long detect_timeout_ms(const struct detect *d, long long floor_ms, long long cap_ms);

/* 1 when the node has been silent at now_ms (since its last reply) for
 * longer than detect_timeout_ms(). */
int detect_down(const struct detect *d, long long now_ms, long long floor_ms, long long cap_ms);

#endif

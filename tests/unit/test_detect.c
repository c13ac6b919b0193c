/* The proxy's failure detector (src/proxy/detect.c) driven by a fake clock:
 * the tests feed it reply times and ask when it would call the node down. */
#include "proxy/detect.h"

#include <criterion/criterion.h>

#define CAP 1000  /* down-after-ms */
#define FLOOR 300 /* 3 probe intervals of 100 ms */

/* Replies every `gap` ms from t, n of them (the first one not learned, as
 * when the node comes up); returns the time of the last. */
static long long
feed(struct detect *d, long long t, long long gap, int n)
{
    for (int i = 0; i < n; i++) {
        detect_reply(d, t, i > 0, CAP);
        if (i + 1 < n) {
            t += gap;
        }
    }
    return t;
}

Test(detect, uses_down_after_ms_until_warmed_up)
{
    struct detect d;
    detect_init(&d);
    long long t = feed(&d, 1000, 100, DETECT_WARMUP); /* DETECT_WARMUP - 1 gaps */
    cr_assert_eq(detect_timeout_ms(&d, FLOOR, CAP), CAP);
    cr_assert(!detect_down(&d, t + CAP, FLOOR, CAP));
    cr_assert(detect_down(&d, t + CAP + 1, FLOOR, CAP));
}

Test(detect, steady_probes_give_the_floor)
{
    struct detect d;
    detect_init(&d);
    long long t = feed(&d, 1000, 100, 50);
    cr_assert_eq(detect_timeout_ms(&d, FLOOR, CAP), FLOOR);
    cr_assert(!detect_down(&d, t + FLOOR, FLOOR, CAP));
    cr_assert(detect_down(&d, t + FLOOR + 1, FLOOR, CAP));
}

Test(detect, a_hung_node_is_down_well_before_down_after_ms)
{
    struct detect d;
    detect_init(&d);
    long long t = feed(&d, 5000, 105, 30);
    /* The node stops answering after its last reply at t. */
    long long when = 0;
    for (long long now = t; now <= t + CAP + 10; now += 10) {
        if (detect_down(&d, now, FLOOR, CAP)) {
            when = now;
            break;
        }
    }
    cr_assert_gt(when, t);
    cr_assert_leq(when - t, 400, "down after %lld ms", when - t);
}

Test(detect, jittery_replies_widen_the_bound)
{
    struct detect d;
    detect_init(&d);
    long long t = 1000;
    detect_reply(&d, t, 0, CAP);
    /* A busy node: gaps between 100 and 350 ms. */
    for (int i = 0; i < 60; i++) {
        t += (i % 3 == 0) ? 350 : 100;
        detect_reply(&d, t, 1, CAP);
    }
    long long bound = detect_timeout_ms(&d, FLOOR, CAP);
    cr_assert_geq(bound, 700, "bound %lld", bound);
    cr_assert_leq(bound, CAP);
    cr_assert(!detect_down(&d, t + 650, FLOOR, CAP));
}

Test(detect, never_waits_longer_than_down_after_ms)
{
    struct detect d;
    detect_init(&d);
    long long t = 1000;
    detect_reply(&d, t, 0, CAP);
    for (int i = 0; i < 60; i++) {
        t += (i % 2) ? 900 : 50;
        detect_reply(&d, t, 1, CAP);
    }
    cr_assert_eq(detect_timeout_ms(&d, FLOOR, CAP), CAP);
    cr_assert(detect_down(&d, t + CAP + 1, FLOOR, CAP));
}

Test(detect, an_outage_is_not_learned_as_a_gap)
{
    struct detect d;
    detect_init(&d);
    long long t = feed(&d, 1000, 100, 30);
    /* Down for 5 s, then back: its first reply is recorded, not learned. */
    t += 5000;
    detect_reply(&d, t, 0, CAP);
    cr_assert_eq(d.last_ok_ms, t);
    cr_assert_eq(detect_timeout_ms(&d, FLOOR, CAP), FLOOR);
    /* A learned reply after a gap longer than the cap is ignored too. */
    detect_reply(&d, t + 2 * CAP, 1, CAP);
    cr_assert_eq(detect_timeout_ms(&d, FLOOR, CAP), FLOOR);
}

Test(detect, one_late_reply_raises_the_bound_for_a_while)
{
    struct detect d;
    detect_init(&d);
    long long t = feed(&d, 1000, 100, 30);
    t += 400; /* one stall of 400 ms: a busy, healthy node */
    detect_reply(&d, t, 1, CAP);
    cr_assert_geq(detect_timeout_ms(&d, FLOOR, CAP), 790);
    /* Steady again: the bound decays back toward the floor. */
    t = feed(&d, t + 100, 100, 300);
    cr_assert_eq(detect_timeout_ms(&d, FLOOR, CAP), FLOOR);
}

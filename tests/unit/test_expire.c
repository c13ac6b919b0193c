/* The TTL wheel on its own: fake volatile entries and a clock the tests
 * move by hand, so every case is exact about which cycle expires what. */
#include <criterion/criterion.h>

#include "core/alloc.h"
#include "node/entry.h"
#include "node/expire.h"

#include <string.h>

#define SLOT_MS (1LL << EXPIRE_SLOT_SHIFT)
#define TURN_MS (SLOT_MS * EXPIRE_SLOTS)
/* A start time on a turn boundary, so slot arithmetic is easy to follow. */
#define T0 (TURN_MS * 100000)

struct sink {
    struct entry **seen;       /* owned */
    size_t n, cap;
};

static struct entry *
make_entry(long long when)
{
    struct entry *e = mem_calloc(entry_size(1, 0, 8));
    e->volatile_ = 1;
    entry_set_expire(e, when);
    return e;
}

/* The expire_fn contract: the callback must unlink the entry. */
static void
collect(struct entry *e, void *arg)
{
    struct sink *s = arg;
    expire_index_remove(e);
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 64;
        s->seen = mem_realloc(s->seen, s->cap * sizeof(*s->seen));
    }
    s->seen[s->n++] = e;
}

static int
sink_has(const struct sink *s, const struct entry *e)
{
    for (size_t i = 0; i < s->n; i++) {
        if (s->seen[i] == e) {
            return 1;
        }
    }
    return 0;
}

static void
sink_free(struct sink *s)
{
    for (size_t i = 0; i < s->n; i++) {
        mem_free(s->seen[i]);
    }
    mem_free(s->seen);
    memset(s, 0, sizeof(*s));
}

Test(expire, entry_expires_in_the_cycle_once_due_not_before)
{
    struct expire_index ei;
    struct sink s = {0};
    long long when = T0 + 1000;
    struct entry *e = make_entry(when);

    expire_index_init(&ei, T0);
    expire_index_add(&ei, e);
    expire_index_cycle(&ei, T0 + 500, 1000000, collect, &s, NULL);
    cr_assert_eq(s.n, 0);
    expire_index_cycle(&ei, when - 1, 1000000, collect, &s, NULL);
    cr_assert_eq(s.n, 0, "expired a millisecond early");
    /* Its slot is walked once the slot's whole window has passed. */
    int more = expire_index_cycle(&ei, when + SLOT_MS, 1000000, collect, &s, NULL);
    cr_assert_eq(s.n, 1);
    cr_assert_eq(s.seen[0], e);
    cr_assert_eq(more, 0);
    sink_free(&s);
    expire_index_free(&ei);
}

Test(expire, time_already_past_goes_to_the_next_slot_walked)
{
    struct expire_index ei;
    struct sink s = {0};
    expire_index_init(&ei, T0);
    expire_index_cycle(&ei, T0 + 10 * SLOT_MS, 1000000, collect, &s, NULL);
    /* Slots before T0 + 10 slots are walked: a time among them must not
     * wait a whole turn. */
    struct entry *e = make_entry(T0 + SLOT_MS);
    expire_index_add(&ei, e);
    expire_index_cycle(&ei, T0 + 11 * SLOT_MS, 1000000, collect, &s, NULL);
    cr_assert_eq(s.n, 1);
    cr_assert_eq(s.seen[0], e);
    sink_free(&s);
    expire_index_free(&ei);
}

Test(expire, far_future_entry_survives_a_wheel_turn)
{
    struct expire_index ei;
    struct sink s = {0};
    /* Same slot as T0 + half a turn, but one turn later. */
    long long far = T0 + TURN_MS + TURN_MS / 2;
    struct entry *e = make_entry(far);
    struct entry *near = make_entry(T0 + TURN_MS / 2);

    expire_index_init(&ei, T0);
    expire_index_add(&ei, e);
    expire_index_add(&ei, near);
    size_t visited = 0;
    expire_index_cycle(&ei, T0 + TURN_MS / 2 + 2 * SLOT_MS, 1000000, collect,
                       &s, &visited);
    cr_assert_eq(visited, 2, "both entries of the slot are looked at");
    cr_assert_eq(s.n, 1);
    cr_assert_eq(s.seen[0], near);
    /* A full turn later (but before its time) it is still there. */
    expire_index_cycle(&ei, far - SLOT_MS, 1000000, collect, &s, NULL);
    cr_assert_eq(s.n, 1);
    expire_index_cycle(&ei, far + SLOT_MS, 1000000, collect, &s, NULL);
    cr_assert_eq(s.n, 2);
    cr_assert_eq(s.seen[1], e);
    sink_free(&s);
    expire_index_free(&ei);
}

Test(expire, removal_keeps_the_slot_list_intact)
{
    struct expire_index ei;
    struct sink s = {0};
    struct entry *e[5];
    expire_index_init(&ei, T0);
    for (int i = 0; i < 5; i++) {
        e[i] = make_entry(T0 + 100 + i);   /* all in one slot */
        expire_index_add(&ei, e[i]);
    }
    /* Head (last pushed), middle and tail of the list. */
    expire_index_remove(e[4]);
    expire_index_remove(e[2]);
    expire_index_remove(e[0]);
    expire_index_cycle(&ei, T0 + 100 + 2 * SLOT_MS, 1000000, collect, &s, NULL);
    cr_assert_eq(s.n, 2);
    cr_assert(sink_has(&s, e[1]));
    cr_assert(sink_has(&s, e[3]));
    mem_free(e[0]);
    mem_free(e[2]);
    mem_free(e[4]);
    sink_free(&s);
    expire_index_free(&ei);
}

/* Stand-in for a realloc that moved the block: a new block with the same
 * bytes, the old one freed. */
static struct entry *
move_entry(struct entry *e)
{
    size_t size = entry_size(1, 0, 8);
    struct entry *n = mem_alloc(size);
    memcpy(n, e, size);
    mem_free(e);
    expire_index_moved(n);
    return n;
}

Test(expire, moved_entries_stay_linked)
{
    struct expire_index ei;
    struct sink s = {0};
    struct entry *e[3];
    expire_index_init(&ei, T0);
    for (int i = 0; i < 3; i++) {
        e[i] = make_entry(T0 + 200);
        expire_index_add(&ei, e[i]);
    }
    for (int i = 0; i < 3; i++) {
        e[i] = move_entry(e[i]);
    }
    /* Removing the moved middle entry must use its new links. */
    expire_index_remove(e[1]);
    expire_index_cycle(&ei, T0 + 200 + 2 * SLOT_MS, 1000000, collect, &s, NULL);
    cr_assert_eq(s.n, 2);
    cr_assert(sink_has(&s, e[0]));
    cr_assert(sink_has(&s, e[2]));
    mem_free(e[1]);
    sink_free(&s);
    expire_index_free(&ei);
}

Test(expire, budget_stops_a_cycle_and_the_next_resumes)
{
    enum { N = 5000 };
    struct expire_index ei;
    struct sink s = {0};
    static struct entry *e[N];
    expire_index_init(&ei, T0);
    for (int i = 0; i < N; i++) {
        e[i] = make_entry(T0 + 300 + (i % 3) * SLOT_MS);
        expire_index_add(&ei, e[i]);
    }
    long long now = T0 + 300 + 5 * SLOT_MS;
    size_t visited = 0;
    int more = expire_index_cycle(&ei, now, 0, collect, &s, &visited);
    cr_assert_eq(more, 1, "a zero budget leaves work");
    cr_assert_lt(s.n, (size_t)N);
    cr_assert_gt(s.n, 0);
    /* An entry of the slot being walked is deleted between cycles (a
     * command deleted its key): the walk must skip it. */
    struct entry *gone = NULL;
    for (int i = 0; i < N && gone == NULL; i++) {
        if (!sink_has(&s, e[i]) && entry_expire(e[i]) == T0 + 300) {
            gone = e[i];
        }
    }
    cr_assert_not_null(gone);
    expire_index_remove(gone);
    while (more) {
        more = expire_index_cycle(&ei, now, 1000000, collect, &s, NULL);
    }
    cr_assert_eq(s.n, (size_t)N - 1);
    cr_assert(!sink_has(&s, gone));
    mem_free(gone);
    sink_free(&s);
    expire_index_free(&ei);
}

Test(expire, reset_forgets_every_entry)
{
    struct expire_index ei;
    struct sink s = {0};
    struct entry *e = make_entry(T0 + 10);
    expire_index_init(&ei, T0);
    expire_index_add(&ei, e);
    expire_index_reset(&ei, T0);
    expire_index_cycle(&ei, T0 + 10 * SLOT_MS, 1000000, collect, &s, NULL);
    cr_assert_eq(s.n, 0);
    mem_free(e);
    expire_index_free(&ei);
}

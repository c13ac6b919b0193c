/* The list type (node/t_list.c): LRANGE/LTRIM index clamping, LSET,
 * LINSERT, LREM from either end, LPOS with RANK/COUNT/MAXLEN (Redis 7.0's
 * LLONG_MIN rank included), and the object-layer table: encoding name,
 * digests equal whatever the node layout, deep copies, and the rewrite as
 * bounded RPUSH commands. */
#include <criterion/criterion.h>

#include "core/alloc.h"
#include "node/object.h"
#include "node/t_list.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

static struct quicklist *
make(long long fill, const char *const *items, size_t n)
{
    struct quicklist *ql = list_create(fill, 0);
    for (size_t i = 0; i < n; i++) {
        quicklist_push(ql, items[i], strlen(items[i]), QUICKLIST_TAIL);
    }
    return ql;
}

/* The list as "a,b,c" in a static buffer. */
static const char *
joined(struct quicklist *ql)
{
    static char out[4096];
    size_t off = 0;
    struct quicklist_iter it;
    struct listpack_value v;
    out[0] = '\0';
    quicklist_iter_at(ql, 0, QUICKLIST_HEAD, &it);
    while (quicklist_next(&it, &v)) {
        if (off > 0) {
            out[off++] = ',';
        }
        if (v.is_int) {
            off += (size_t)snprintf(out + off, sizeof(out) - off, "%lld", v.ll);
        } else {
            memcpy(out + off, v.str, v.len);
            off += v.len;
        }
        out[off] = '\0';
    }
    return out;
}

Test(t_list, range_clamps_like_lrange)
{
    size_t first;
    cr_assert_eq(list_range(10, 0, -1, &first), 10);
    cr_assert_eq(first, 0);
    cr_assert_eq(list_range(10, -3, -2, &first), 2);
    cr_assert_eq(first, 7);
    cr_assert_eq(list_range(10, -100, 100, &first), 10);
    cr_assert_eq(first, 0);
    cr_assert_eq(list_range(10, 5, 2, &first), 0);
    cr_assert_eq(list_range(10, 10, 20, &first), 0);
    cr_assert_eq(list_range(10, 2, -100, &first), 0);
    cr_assert_eq(list_range(10, LLONG_MIN, LLONG_MAX, &first), 10);
    cr_assert_eq(list_range(0, 0, -1, &first), 0);
}

Test(t_list, set_insert_remove_trim)
{
    const char *items[] = {"a", "b", "a", "c", "a", "d"};
    struct quicklist *ql = make(2, items, 6);
    cr_assert_eq(list_set(ql, -1, "D", 1), 0);
    cr_assert_eq(list_set(ql, 6, "x", 1), -1);
    cr_assert_eq(list_set(ql, -7, "x", 1), -1);
    cr_assert_eq(list_insert(ql, LISTPACK_AFTER, "c", 1, "c2", 2), 1);
    cr_assert_eq(list_insert(ql, LISTPACK_BEFORE, "zz", 2, "q", 1), 0);
    cr_assert_str_eq(joined(ql), "a,b,a,c,c2,a,D");
    cr_assert_eq(list_remove(ql, -2, "a", 1), 2);
    cr_assert_str_eq(joined(ql), "a,b,c,c2,D");
    cr_assert_eq(list_remove(ql, 0, "nope", 4), 0);
    list_trim(ql, 1, -2);
    cr_assert_str_eq(joined(ql), "b,c,c2");
    list_trim(ql, 5, 10);
    cr_assert_eq(quicklist_count(ql), 0);
    cr_assert_eq(quicklist_check(ql), 0);
    quicklist_destroy(&ql);
}

Test(t_list, integers_compare_by_their_decimal_form)
{
    const char *items[] = {"1", "01", "-0", "0", "1"};
    struct quicklist *ql = make(-2, items, 5);
    cr_assert_eq(list_remove(ql, 0, "1", 1), 2);
    cr_assert_str_eq(joined(ql), "01,-0,0");
    quicklist_destroy(&ql);
}

Test(t_list, pos_rank_count_maxlen)
{
    const char *items[] = {"a", "b", "c", "1", "2", "3", "c", "c"};
    struct quicklist *ql = make(3, items, 8);
    long long *out;
    size_t n;

    n = list_pos(ql, "c", 1, 1, 1, 0, &out);
    cr_assert_eq(n, 1);
    cr_assert_eq(out[0], 2);
    mem_free(out);
    n = list_pos(ql, "c", 1, 2, 0, 0, &out);
    cr_assert_eq(n, 2);
    cr_assert_eq(out[0], 6);
    cr_assert_eq(out[1], 7);
    mem_free(out);
    n = list_pos(ql, "c", 1, -1, 2, 0, &out);
    cr_assert_eq(n, 2);
    cr_assert_eq(out[0], 7);
    cr_assert_eq(out[1], 6);
    mem_free(out);
    n = list_pos(ql, "c", 1, 1, 0, 3, &out);
    cr_assert_eq(n, 1);
    cr_assert_eq(out[0], 2);
    mem_free(out);
    n = list_pos(ql, "c", 1, 1, 0, 2, &out);
    cr_assert_eq(n, 0);
    cr_assert_null(out);
    /* Redis 7.0 negates LLONG_MIN into itself: every match from the tail. */
    n = list_pos(ql, "c", 1, LLONG_MIN, 0, 0, &out);
    cr_assert_eq(n, 3);
    cr_assert_eq(out[0], 7);
    cr_assert_eq(out[2], 2);
    mem_free(out);
    n = list_pos(ql, "3", 1, 1, 1, 0, &out);
    cr_assert_eq(n, 1);
    cr_assert_eq(out[0], 5);
    mem_free(out);
    quicklist_destroy(&ql);
}

Test(t_list, table_names_copies_and_digests)
{
    object_setup();
    const struct obj_type *t = obj_type_of(ENTRY_LIST);
    cr_assert_not_null(t);
    cr_assert_str_eq(t->name, "list");
    struct quicklist *a = list_create(1, 0);    /* one element per node */
    struct quicklist *b = list_create(-5, 0);   /* one node */
    for (int i = 0; i < 300; i++) {
        char buf[32];
        int n = snprintf(buf, sizeof(buf), i % 3 ? "e%d" : "%d", i);
        quicklist_push(a, buf, (size_t)n, QUICKLIST_TAIL);
        quicklist_push(b, buf, (size_t)n, QUICKLIST_TAIL);
    }
    cr_assert_gt(quicklist_nodes(a), quicklist_nodes(b));
    cr_assert_str_eq(t->encoding(a), "quicklist");
    cr_assert_eq(t->length(a), 300);
    uint64_t ha[3], hb[3];
    memcpy(ha, obj_digest_bases, sizeof(ha));
    memcpy(hb, obj_digest_bases, sizeof(hb));
    t->digest(a, ha);
    t->digest(b, hb);
    cr_assert_eq(memcmp(ha, hb, sizeof(ha)), 0, "digest depends on the node layout");
    /* Order matters for lists. */
    quicklist_pop(b, QUICKLIST_TAIL);
    quicklist_push(b, "e299", 4, QUICKLIST_HEAD);
    memcpy(hb, obj_digest_bases, sizeof(hb));
    t->digest(b, hb);
    cr_assert_neq(memcmp(ha, hb, sizeof(ha)), 0);
    struct quicklist *c = t->copy(a);
    cr_assert_str_eq(joined(c), joined(a));
    cr_assert_gt(t->memory(a), 300);
    t->free(c);
    t->free(a);
    t->free(b);
}

static char rewritten[1 << 16];
static size_t rewritten_len;

static void
sink(void *arg, const char *p, size_t len)
{
    (void)arg;
    cr_assert_lt(rewritten_len + len, sizeof(rewritten));
    memcpy(rewritten + rewritten_len, p, len);
    rewritten_len += len;
}

Test(t_list, rewrite_is_bounded_rpush_commands)
{
    object_setup();
    const struct obj_type *t = obj_type_of(ENTRY_LIST);
    struct quicklist *ql = list_create(-2, 0);
    for (int i = 0; i < 300; i++) {
        char buf[16];
        int n = snprintf(buf, sizeof(buf), "%d", i);
        quicklist_push(ql, buf, (size_t)n, QUICKLIST_TAIL);
    }
    struct obj_emitter em;
    rewritten_len = 0;
    obj_emitter_init(&em, sink, NULL);
    t->rewrite(ql, "k", 1, &em);
    obj_emit_end(&em);
    obj_emitter_release(&em);
    size_t cmds = 0;
    for (size_t i = 0; i + 10 <= rewritten_len; i++) {
        if (memcmp(rewritten + i, "$5\r\nRPUSH\r\n", 11) == 0) {
            cmds++;
        }
    }
    cr_assert_eq(cmds, 3, "300 elements in batches of %d", OBJ_REWRITE_BATCH);
    cr_assert(strncmp(rewritten, "*130\r\n$5\r\nRPUSH\r\n$1\r\nk\r\n$1\r\n0\r\n", 30) == 0);
    t->free(ql);
}

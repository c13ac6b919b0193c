/* The quicklist (see quicklist.h): listpack nodes in a doubly linked list,
 * node sizes bounded as Redis's list-max-listpack-size says. */
#include "ds/quicklist.h"
#include "core/alloc.h"

#include <string.h>

/* Listpack bytes per node for fill -1..-5. */
static const size_t size_levels[] = {4096, 8192, 16384, 32768, 65536};
/* A count-limited node stops growing here whatever its count. */
#define QUICKLIST_SAFETY_BYTES 8192
/* Encoding header and backlen an element adds beyond its bytes (a bound
 * that is close enough for deciding where the next element goes). */
#define QUICKLIST_ELEM_OVERHEAD 11

/* ---- nodes ---------------------------------------------------------------- */

static struct quicklist_node *
node_new(void)
{
    struct quicklist_node *n = mem_alloc(sizeof(*n));
    n->prev = n->next = NULL;
    n->lp = listpack_new();
    return n;
}

static void
node_free(struct quicklist_node *n)
{
    listpack_free(n->lp);
    mem_free(n);
}

/* May node take one more element of len bytes under the list's fill? */
static int
node_allows(const struct quicklist *ql, const struct quicklist_node *n, size_t len)
{
    size_t sz = listpack_used_bytes(n->lp) + len + QUICKLIST_ELEM_OVERHEAD;
    if (ql->fill < 0) {
        return sz <= size_levels[-ql->fill - 1];
    }
    if (sz > QUICKLIST_SAFETY_BYTES) {
        return 0;
    }
    return listpack_length(n->lp) < (size_t)ql->fill;
}

/* Link n before (where LISTPACK_BEFORE) or after at; at NULL means the head
 * (BEFORE) or the tail (AFTER) of the list. */
static void
node_link(struct quicklist *ql, struct quicklist_node *at, struct quicklist_node *n,
          int where)
{
    if (at == NULL) {
        at = where == LISTPACK_BEFORE ? ql->head : ql->tail;
    }
    if (at == NULL) {
        ql->head = ql->tail = n;
    } else if (where == LISTPACK_BEFORE) {
        n->next = at;
        n->prev = at->prev;
        if (at->prev != NULL) {
            at->prev->next = n;
        } else {
            ql->head = n;
        }
        at->prev = n;
    } else {
        n->prev = at;
        n->next = at->next;
        if (at->next != NULL) {
            at->next->prev = n;
        } else {
            ql->tail = n;
        }
        at->next = n;
    }
    ql->nnodes++;
}

static void
node_unlink_free(struct quicklist *ql, struct quicklist_node *n)
{
    if (n->prev != NULL) {
        n->prev->next = n->next;
    } else {
        ql->head = n->next;
    }
    if (n->next != NULL) {
        n->next->prev = n->prev;
    } else {
        ql->tail = n->prev;
    }
    ql->nnodes--;
    node_free(n);
}

/* ---- life cycle ------------------------------------------------------------ */

struct quicklist *
quicklist_create(int fill)
{
    struct quicklist *ql = mem_calloc(sizeof(*ql));
    if (fill < -5) {
        fill = -5;
    } else if (fill == 0) {
        fill = 1;
    }
    ql->fill = fill;
    return ql;
}

void
quicklist_destroy(struct quicklist **qlp)
{
    struct quicklist *ql = *qlp;
    if (ql == NULL) {
        return;
    }
    struct quicklist_node *n = ql->head;
    while (n != NULL) {
        struct quicklist_node *next = n->next;
        node_free(n);
        n = next;
    }
    mem_free(ql);
    *qlp = NULL;
}

struct quicklist *
quicklist_dup(const struct quicklist *ql)
{
    struct quicklist *copy = quicklist_create(ql->fill);
    for (const struct quicklist_node *n = ql->head; n != NULL; n = n->next) {
        struct quicklist_node *c = mem_alloc(sizeof(*c));
        size_t used = listpack_used_bytes(n->lp);
        c->prev = c->next = NULL;
        c->lp = mem_alloc(used);
        memcpy(c->lp, n->lp, used);
        node_link(copy, NULL, c, LISTPACK_AFTER);
    }
    copy->count = ql->count;
    return copy;
}

size_t
quicklist_bytes(const struct quicklist *ql)
{
    size_t total = mem_usable(ql);
    for (const struct quicklist_node *n = ql->head; n != NULL; n = n->next) {
        total += mem_usable(n) + listpack_bytes(n->lp);
    }
    return total;
}

/* ---- ends ------------------------------------------------------------------ */

void
quicklist_push(struct quicklist *ql, const char *s, size_t len, int where)
{
    struct quicklist_node *n = where == QUICKLIST_HEAD ? ql->head : ql->tail;
    if (n == NULL || !node_allows(ql, n, len)) {
        n = node_new();
        node_link(ql, NULL, n, where == QUICKLIST_HEAD ? LISTPACK_BEFORE : LISTPACK_AFTER);
    }
    if (where == QUICKLIST_HEAD) {
        n->lp = listpack_prepend(n->lp, s, len);
    } else {
        n->lp = listpack_append(n->lp, s, len);
    }
    ql->count++;
}

int
quicklist_peek(const struct quicklist *ql, int where, struct listpack_value *v)
{
    const struct quicklist_node *n = where == QUICKLIST_HEAD ? ql->head : ql->tail;
    if (n == NULL) {
        return -1;
    }
    listpack_get(where == QUICKLIST_HEAD ? listpack_first(n->lp) : listpack_last(n->lp), v);
    return 0;
}

void
quicklist_pop(struct quicklist *ql, int where)
{
    struct quicklist_node *n = where == QUICKLIST_HEAD ? ql->head : ql->tail;
    if (n == NULL) {
        return;
    }
    unsigned char *p = where == QUICKLIST_HEAD ? listpack_first(n->lp) : listpack_last(n->lp);
    n->lp = listpack_delete(n->lp, &p);
    ql->count--;
    if (listpack_length(n->lp) == 0) {
        node_unlink_free(ql, n);
    }
}

/* ---- iteration -------------------------------------------------------------- */

int
quicklist_iter_at(struct quicklist *ql, long index, int dir, struct quicklist_iter *it)
{
    memset(it, 0, sizeof(*it));
    it->ql = ql;
    it->dir = dir;
    size_t count = ql->count;
    if (index < 0) {
        index += (long)count;
    }
    if (index < 0 || (size_t)index >= count) {
        return -1;
    }
    size_t i = (size_t)index;
    struct quicklist_node *n;
    size_t off;
    if (i < count / 2) {
        n = ql->head;
        size_t len = listpack_length(n->lp);
        while (i >= len) {
            i -= len;
            n = n->next;
            len = listpack_length(n->lp);
        }
        off = i;
    } else {
        /* Count from the tail: r elements after the one wanted. */
        size_t r = count - 1 - i;
        n = ql->tail;
        size_t len = listpack_length(n->lp);
        while (r >= len) {
            r -= len;
            n = n->prev;
            len = listpack_length(n->lp);
        }
        off = len - 1 - r;
    }
    it->node = n;
    it->p = listpack_seek(n->lp, (long)off);
    it->pending = 1;
    return 0;
}

int
quicklist_next(struct quicklist_iter *it, struct listpack_value *v)
{
    for (;;) {
        struct quicklist_node *n = it->node;
        if (n == NULL) {
            return 0;
        }
        if (it->pending) {
            it->pending = 0;
        } else if (it->p != NULL) {
            it->p = it->dir == QUICKLIST_HEAD ? listpack_next(n->lp, it->p)
                                              : listpack_prev(n->lp, it->p);
        }
        if (it->p != NULL) {
            listpack_get(it->p, v);
            return 1;
        }
        n = it->dir == QUICKLIST_HEAD ? n->next : n->prev;
        it->node = n;
        if (n == NULL) {
            return 0;
        }
        it->p = it->dir == QUICKLIST_HEAD ? listpack_first(n->lp) : listpack_last(n->lp);
        it->pending = 1;
    }
}

void
quicklist_iter_delete(struct quicklist_iter *it)
{
    struct quicklist_node *n = it->node;
    struct quicklist *ql = it->ql;
    if (it->dir == QUICKLIST_HEAD) {
        n->lp = listpack_delete(n->lp, &it->p);
    } else {
        unsigned char *prev = listpack_prev(n->lp, it->p);
        size_t off = prev != NULL ? (size_t)(prev - n->lp) : 0;
        n->lp = listpack_delete(n->lp, &it->p);
        it->p = prev != NULL ? n->lp + off : NULL;
    }
    it->pending = 1;
    ql->count--;
    if (listpack_length(n->lp) == 0) {
        struct quicklist_node *to = it->dir == QUICKLIST_HEAD ? n->next : n->prev;
        node_unlink_free(ql, n);
        it->node = to;
        it->p = NULL;
        if (to != NULL) {
            it->p = it->dir == QUICKLIST_HEAD ? listpack_first(to->lp) : listpack_last(to->lp);
        }
    }
}

void
quicklist_iter_replace(struct quicklist_iter *it, const char *s, size_t len)
{
    it->node->lp = listpack_replace(it->node->lp, &it->p, s, len);
}

/* Insert s so that it becomes element k (0..length) of node n. */
static void
insert_at(struct quicklist *ql, struct quicklist_node *n, size_t k, const char *s,
          size_t len)
{
    size_t count = listpack_length(n->lp);
    ql->count++;
    if (node_allows(ql, n, len)) {
        if (k < count) {
            unsigned char *p = listpack_seek(n->lp, (long)k);
            n->lp = listpack_insert(n->lp, p, s, len, LISTPACK_BEFORE, NULL);
        } else {
            n->lp = listpack_append(n->lp, s, len);
        }
        return;
    }
    if (k == 0 && n->prev != NULL && node_allows(ql, n->prev, len)) {
        n->prev->lp = listpack_append(n->prev->lp, s, len);
        return;
    }
    if (k == count && n->next != NULL && node_allows(ql, n->next, len)) {
        n->next->lp = listpack_prepend(n->next->lp, s, len);
        return;
    }
    struct quicklist_node *c = node_new();
    c->lp = listpack_append(c->lp, s, len);
    if (k == 0) {
        node_link(ql, n, c, LISTPACK_BEFORE);
        return;
    }
    if (k == count) {
        node_link(ql, n, c, LISTPACK_AFTER);
        return;
    }
    /* Split n at k: elements k.. move to a new node b after it. */
    struct quicklist_node *b = node_new();
    char buf[LISTPACK_INT_BUF];
    for (unsigned char *p = listpack_seek(n->lp, (long)k); p != NULL;
         p = listpack_next(n->lp, p)) {
        size_t l;
        const char *str = listpack_get_str(p, buf, &l);
        b->lp = listpack_append(b->lp, str, l);
    }
    n->lp = listpack_delete_range(n->lp, (long)k, count - k);
    node_link(ql, n, b, LISTPACK_AFTER);
    if (node_allows(ql, n, len)) {
        node_free(c);
        n->lp = listpack_append(n->lp, s, len);
    } else if (node_allows(ql, b, len)) {
        node_free(c);
        b->lp = listpack_prepend(b->lp, s, len);
    } else {
        node_link(ql, n, c, LISTPACK_AFTER);
    }
}

void
quicklist_iter_insert(struct quicklist_iter *it, const char *s, size_t len, int where)
{
    struct quicklist_node *n = it->node;
    size_t k = 0;
    for (unsigned char *p = listpack_first(n->lp); p != it->p; p = listpack_next(n->lp, p)) {
        k++;
    }
    insert_at(it->ql, n, k + (where == LISTPACK_AFTER ? 1 : 0), s, len);
    it->node = NULL;
    it->p = NULL;
}

void
quicklist_delete_range(struct quicklist *ql, size_t start, size_t count)
{
    struct quicklist_node *n = ql->head;
    while (n != NULL && start >= listpack_length(n->lp)) {
        start -= listpack_length(n->lp);
        n = n->next;
    }
    while (n != NULL && count > 0) {
        struct quicklist_node *next = n->next;
        size_t len = listpack_length(n->lp);
        size_t del = len - start < count ? len - start : count;
        if (start == 0 && del == len) {
            node_unlink_free(ql, n);
        } else {
            n->lp = listpack_delete_range(n->lp, (long)start, del);
        }
        ql->count -= del;
        count -= del;
        start = 0;
        n = next;
    }
}

int
quicklist_check(const struct quicklist *ql)
{
    size_t count = 0, nodes = 0;
    const struct quicklist_node *prev = NULL;
    for (const struct quicklist_node *n = ql->head; n != NULL; n = n->next) {
        if (n->prev != prev || listpack_length(n->lp) == 0) {
            return -1;
        }
        count += listpack_length(n->lp);
        nodes++;
        prev = n;
    }
    if (prev != ql->tail || count != ql->count || nodes != ql->nnodes) {
        return -1;
    }
    return 0;
}

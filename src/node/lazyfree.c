/* The lazy-free thread and its queue (see lazyfree.h). */
#include "node/lazyfree.h"
#include "core/alloc.h"
#include "core/log.h"
#include "node/db.h"
#include "node/dict.h"
#include "node/object.h"

#include <pthread.h>
#include <string.h>

struct lazyfree_job {
    struct lazyfree_job *next;       /* owned: the rest of the queue */
    const struct obj_type *type;     /* borrowed; NULL for a dict or array job */
    void *obj;                       /* owned: the value, a struct dict, or an
                                        array from mem_calloc_large */
    size_t large_size;               /* the array's size; 0 for the others */
    size_t objects;                  /* what INFO counts for it, as Redis: 1 a
                                        value, a table's keys, 0 an array */
};

static struct {
    pthread_t thread;
    int running;
    int stopping;
    pthread_mutex_t lock;
    pthread_cond_t wake;             /* a job arrived, or stop */
    pthread_cond_t idle;             /* the queue emptied */
    struct lazyfree_job *head, *tail;
    size_t pending;                  /* queued + running */
    long long done;
    size_t objects_pending;          /* INFO lazyfree_pending_objects */
    long long objects_freed;         /* INFO lazyfreed_objects (RESETSTAT) */
} lf = {.lock = PTHREAD_MUTEX_INITIALIZER,
        .wake = PTHREAD_COND_INITIALIZER,
        .idle = PTHREAD_COND_INITIALIZER};

static void
free_entry(struct entry *e, void *arg)
{
    (void)arg;
    obj_free_entry_value(e);
    mem_free(e);
}

static void
run_job(struct lazyfree_job *j)
{
    if (j->type != NULL) {
        j->type->free(j->obj);
    } else if (j->large_size > 0) {
        mem_free_large(j->obj, j->large_size);
    } else {
        struct dict *d = j->obj;
        dict_clear(d, free_entry, NULL);
        mem_free(d);
    }
}

static void *
lazyfree_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&lf.lock);
    for (;;) {
        while (lf.head == NULL && !lf.stopping) {
            pthread_cond_wait(&lf.wake, &lf.lock);
        }
        if (lf.head == NULL) {
            break;
        }
        struct lazyfree_job *j = lf.head;
        lf.head = j->next;
        if (lf.head == NULL) {
            lf.tail = NULL;
        }
        pthread_mutex_unlock(&lf.lock);
        size_t j_objects = j->objects;
        run_job(j);
        mem_free(j);
        pthread_mutex_lock(&lf.lock);
        lf.pending--;
        lf.done++;
        lf.objects_pending -= j_objects;
        lf.objects_freed += (long long)j_objects;
        if (lf.pending == 0) {
            pthread_cond_broadcast(&lf.idle);
        }
    }
    pthread_mutex_unlock(&lf.lock);
    return NULL;
}

void
lazyfree_setup(void)
{
    if (lf.running) {
        return;
    }
    lf.stopping = 0;
    if (pthread_create(&lf.thread, NULL, lazyfree_main, NULL) != 0) {
        log_warn("Could not start the lazy-free thread: values are freed inline");
        return;
    }
    lf.running = 1;
}

void
lazyfree_teardown(void)
{
    if (!lf.running) {
        return;
    }
    pthread_mutex_lock(&lf.lock);
    lf.stopping = 1;
    pthread_cond_signal(&lf.wake);
    pthread_mutex_unlock(&lf.lock);
    pthread_join(lf.thread, NULL);
    lf.running = 0;
}

static void
enqueue(const struct obj_type *t, void *obj, size_t large_size, size_t objects)
{
    struct lazyfree_job *j = mem_alloc(sizeof(*j));
    j->next = NULL;
    j->type = t;
    j->obj = obj;
    j->large_size = large_size;
    j->objects = objects;
    pthread_mutex_lock(&lf.lock);
    if (lf.tail) {
        lf.tail->next = j;
    } else {
        lf.head = j;
    }
    lf.tail = j;
    lf.pending++;
    lf.objects_pending += objects;
    pthread_cond_signal(&lf.wake);
    pthread_mutex_unlock(&lf.lock);
}

void
lazyfree_object(const struct obj_type *t, void *obj)
{
    if (!lf.running || t->length(obj) <= LAZYFREE_THRESHOLD) {
        t->free(obj);
        return;
    }
    enqueue(t, obj, 0, 1);
}

void
lazyfree_dict(struct dict *d)
{
    if (!lf.running) {
        dict_clear(d, free_entry, NULL);
        mem_free(d);
        return;
    }
    enqueue(NULL, d, 0, dict_size(d));
}

void
lazyfree_large(void *p, size_t size)
{
    if (p == NULL) {
        return;
    }
    if (!lf.running || size < LAZYFREE_PAGES_MIN) {
        mem_free_large(p, size);
        return;
    }
    enqueue(NULL, p, size, 0);
}

size_t
lazyfree_pending(void)
{
    pthread_mutex_lock(&lf.lock);
    size_t n = lf.pending;
    pthread_mutex_unlock(&lf.lock);
    return n;
}

long long
lazyfree_done(void)
{
    pthread_mutex_lock(&lf.lock);
    long long n = lf.done;
    pthread_mutex_unlock(&lf.lock);
    return n;
}

void
lazyfree_object_counts(size_t *pending, long long *freed)
{
    pthread_mutex_lock(&lf.lock);
    *pending = lf.objects_pending;
    *freed = lf.objects_freed;
    pthread_mutex_unlock(&lf.lock);
}

void
lazyfree_reset_stats(void)
{
    pthread_mutex_lock(&lf.lock);
    lf.objects_freed = 0;
    pthread_mutex_unlock(&lf.lock);
}

void
lazyfree_drain(void)
{
    pthread_mutex_lock(&lf.lock);
    while (lf.pending > 0) {
        pthread_cond_wait(&lf.idle, &lf.lock);
    }
    pthread_mutex_unlock(&lf.lock);
}

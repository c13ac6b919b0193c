/* Freeing big values off the event loop: UNLINK, FLUSHALL/FLUSHDB ASYNC and
 * the lazyfree-lazy-* options hand a collection (or a whole detached
 * database) to one background thread, so deleting a 10-million-element set
 * does not stall other clients.  Small values are freed at once: handing
 * them over would cost more than freeing them.  The thread touches only
 * what it was given, which nothing else references any more. */
#ifndef CACHELY_NODE_LAZYFREE_H
#define CACHELY_NODE_LAZYFREE_H

#include <stddef.h>

struct obj_type;
struct dict;

/* Values with more elements than this are freed in the background (the
 * figure Redis uses). */
#define LAZYFREE_THRESHOLD 64

/* Start and stop the thread; teardown waits until every job is done. */
void lazyfree_setup(void);
void lazyfree_teardown(void);
/* Free obj through t: in the background when it is big, else now. */
void lazyfree_object(const struct obj_type *t, void *obj);
/* Free a detached database table and every entry in it in the background;
 * takes ownership of d (heap-allocated by the caller). */
void lazyfree_dict(struct dict *d);
/* Give back a big array from mem_calloc_large (size as allocated): in the
 * background from LAZYFREE_PAGES_MIN bytes up, else now.  Unmapping touched
 * pages took 44 us for 1 MiB, 127 us for 4 MiB and 0.6 ms for 16 MiB here:
 * too long inside a command for the tables of a big keyspace. */
#define LAZYFREE_PAGES_MIN ((size_t)1 << 20)
void lazyfree_large(void *p, size_t size);
/* Jobs queued or running, and values freed by the thread (INFO). */
size_t lazyfree_pending(void);
long long lazyfree_done(void);
/* INFO's lazyfree_pending_objects and lazyfreed_objects, counted as Redis
 * 7.0 counts them (a value 1, a flushed table its keys; the big arrays
 * given back in the background are not objects); RESETSTAT zeroes the
 * second.  Both read under one lock. */
void lazyfree_object_counts(size_t *pending, long long *freed);
void lazyfree_reset_stats(void);
/* Wait until the queue is empty (tests, DEBUG, shutdown). */
void lazyfree_drain(void);

#endif

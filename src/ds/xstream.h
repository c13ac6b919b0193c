/* Stream entry storage: entries (an ID and field/value pairs) in ID order,
 * packed into nodes of up to a number of entries and of bytes (by default
 * XSTREAM_NODE_ENTRIES and XSTREAM_NODE_BYTES; xstream_set_node_limits).
 * In each node IDs are deltas from the node's
 * first ID (varints) and an entry whose field names equal the node's
 * master fields (those of its first entry) stores only its values, as
 * Redis's listpack nodes do.  A deleted entry is flagged in place and the
 * node is freed when its last live entry goes. */
#ifndef CACHELY_DS_XSTREAM_H
#define CACHELY_DS_XSTREAM_H

#include <stddef.h>
#include <stdint.h>

#define XSTREAM_NODE_ENTRIES 100
#define XSTREAM_NODE_BYTES 4096
#define XSTREAM_NODE_BYTES_MAX (1u << 30) /* a node never grows past this */
#define XSTREAM_ITER_WINDOW 128           /* record offsets a reverse iterator holds */

struct xid {
    uint64_t ms;
    uint64_t seq;
};

struct xnode {
    struct xid first;            /* ID of the first entry (live or not) */
    struct xid last;             /* ID of the last entry appended */
    uint32_t live;               /* entries not deleted */
    uint32_t total;              /* entries appended */
    uint32_t len, cap;           /* bytes used / allocated in buf */
    unsigned char *buf;          /* owned: master fields, then records */
};

struct xstream {
    struct xnode **nodes;        /* owned array of owned nodes, in ID order */
    size_t nnodes, cap;
    uint64_t length;             /* live entries */
};

/* One entry as an iterator yields it; pointers borrowed from the node
 * until the stream is modified. */
struct xentry {
    struct xid id;
    size_t nfields;
    const unsigned char *fields; /* packed field names (master or own) */
    const unsigned char *values; /* packed values */
};

int xid_cmp(const struct xid *a, const struct xid *b);

/* When an append starts a new node, for every stream of the process (as
 * Redis's stream-node-max-entries / stream-node-max-bytes, read at each
 * append): max_entries 0 is no count limit, max_bytes 0 (or past
 * XSTREAM_NODE_BYTES_MAX) is XSTREAM_NODE_BYTES_MAX. */
void xstream_set_node_limits(unsigned long long max_entries, unsigned long long max_bytes);

struct xstream *xstream_create(void);
void xstream_destroy(struct xstream **sp);
struct xstream *xstream_copy(const struct xstream *s);
size_t xstream_memory(const struct xstream *s);

/* Append an entry whose ID is greater than every ID in the stream.
 * fields/values: nfields pointers and lengths each. */
void xstream_append(struct xstream *s, const struct xid *id, size_t nfields,
                    const char *const *fields, const size_t *flens,
                    const char *const *values, const size_t *vlens);
/* Delete the entry id; returns 1 when it was there. */
int xstream_delete(struct xstream *s, const struct xid *id);
/* The first / last live entry's ID; -1 when empty. */
int xstream_first_id(const struct xstream *s, struct xid *id);
int xstream_last_id(const struct xstream *s, struct xid *id);

/* Trim from the head: remove entries while more than maxlen remain
 * (minid NULL), or entries with an ID below *minid.  approx: only whole
 * nodes.  limit (> 0): stop after removing about that many entries (whole
 * nodes only when approx).  Returns entries removed. */
size_t xstream_trim(struct xstream *s, uint64_t maxlen, const struct xid *minid,
                    int approx, long long limit);

/* Iteration over live entries with start <= id <= end, forward or in
 * reverse.  The stream must not change while iterating. */
struct xstream_iter {
    const struct xstream *s;     /* borrowed */
    struct xid start, end;
    int rev;
    size_t node;                 /* current node index */
    size_t pos;                  /* forward: byte offset; reverse: index in offs */
    /* reverse: the offsets of up to a window of the node's records, those
     * just before where the previous window began; more: records before
     * offs[0] remain (a node of more records is read window by window). */
    uint32_t offs[XSTREAM_ITER_WINDOW];
    size_t noffs;
    int more;
    int started, done;
};
void xstream_iter_init(struct xstream_iter *it, const struct xstream *s,
                       const struct xid *start, const struct xid *end, int rev);
/* The next entry, or 0 at the end. */
int xstream_iter_next(struct xstream_iter *it, struct xentry *e);

/* Walk an entry's pairs: *fp and *vp start at e->fields and e->values. */
void xentry_pair(const unsigned char **fp, const unsigned char **vp,
                 const char **f, size_t *flen, const char **v, size_t *vlen);

/* Check that buf/len decodes as a node (for the fuzz target and loads):
 * 0 when valid. */
int xstream_node_validate(const unsigned char *buf, size_t len, uint32_t total);

#endif

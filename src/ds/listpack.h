/* A listpack: a sequence of elements packed into ONE allocation, for small
 * lists, hashes, sets and sorted sets.  Each element is a byte string or a
 * 64-bit signed integer; a string that is a canonical decimal integer
 * ("0", "-12", "9223372036854775807"; not "007", "+1", " 1", "-0") is stored
 * as that integer, so "123" and 123 are the same element.
 *
 * Layout (all multi-byte fields little-endian):
 *   [total bytes u32][element count u32] element* [0xFF]
 *   element = [encoding byte(s)][payload][backlen]
 * Small integers take 1 (0..127) or 2 bytes (-4096..4095), strings under 64
 * bytes a 1-byte header; backlen is the size of encoding+payload written as
 * 1 to 5 bytes of 7 bits, so the list can be walked from the tail.
 *
 * The handle is an `unsigned char *` to the allocation (mem_alloc'd, so it
 * is accounted).  EVERY MUTATOR MAY MOVE IT and returns the new handle; any
 * element pointer obtained before a mutation is invalid after it, except the
 * ones a mutator hands back through its out parameter.  Element pointers
 * point at an element's first byte; none of the functions accept a pointer
 * at the 0xFF terminator.  Lengths are bounded by the 32-bit header: keep a
 * listpack under LISTPACK_MAX_SAFE bytes (listpack_safe_to_add) -- the
 * types convert to another encoding long before that. */
#ifndef CACHELY_DS_LISTPACK_H
#define CACHELY_DS_LISTPACK_H

#include <stddef.h>

/* Bytes a caller buffer needs to hold any integer element as a string
 * ("-9223372036854775808" and a NUL). */
#define LISTPACK_INT_BUF 21
/* Largest listpack listpack_safe_to_add agrees to (1 GiB, as Redis). */
#define LISTPACK_MAX_SAFE (1UL << 30)

/* where for listpack_insert. */
#define LISTPACK_BEFORE 0
#define LISTPACK_AFTER 1

/* One element's value.  For strings str/len point INTO the listpack (valid
 * until the next mutation) and ll is 0; for integers is_int = 1, ll is the
 * value, str is NULL and len 0. */
struct listpack_value {
    const unsigned char *str;  /* borrowed from the listpack */
    size_t len;
    long long ll;
    int is_int;
};

/* ---- Life cycle and size ---- */

/* A new empty listpack; free with listpack_free.  Never NULL (aborts on
 * OOM like mem_alloc). */
unsigned char *listpack_new(void);
/* Free a listpack (NULL is fine). */
void listpack_free(unsigned char *lp);
/* Bytes of the allocation as the allocator counts them (mem_usable), for
 * MEMORY USAGE and maxmemory accounting. */
size_t listpack_bytes(const unsigned char *lp);
/* Bytes the encoding uses (the header's total, <= listpack_bytes). */
size_t listpack_used_bytes(const unsigned char *lp);
/* Number of elements, O(1). */
size_t listpack_length(const unsigned char *lp);
/* 1 when adding about add more bytes keeps the listpack under
 * LISTPACK_MAX_SAFE; the types check this before growing a listpack by a
 * large string. */
int listpack_safe_to_add(const unsigned char *lp, size_t add);

/* ---- Navigation: NULL past either end or on an empty listpack ---- */

unsigned char *listpack_first(const unsigned char *lp);
unsigned char *listpack_last(const unsigned char *lp);
unsigned char *listpack_next(const unsigned char *lp, const unsigned char *p);
unsigned char *listpack_prev(const unsigned char *lp, const unsigned char *p);
/* The element at index (0 first, -1 last); NULL when out of range.  Walks
 * from whichever end is nearer: O(min(index, length - index)). */
unsigned char *listpack_seek(const unsigned char *lp, long index);

/* ---- Reading ---- */

/* Decode the element at p into v. */
void listpack_get(const unsigned char *p, struct listpack_value *v);
/* The string form of the element at p: a string element's bytes (pointing
 * into the listpack), or an integer formatted into buf.  Sets *len; the
 * result is not NUL-terminated for string elements. */
const char *listpack_get_str(const unsigned char *p,
                             char buf[LISTPACK_INT_BUF], size_t *len);
/* 1 when the element at p equals the string s (integers compare by their
 * canonical decimal form), else 0. */
int listpack_compare(const unsigned char *p, const char *s, size_t len);
/* The first element equal to s among p, then every (skip+1)-th element
 * after it (skip = 1 looks at hash fields / zset members only when p is a
 * field).  NULL when none or p is NULL.  s is parsed once, so this is a
 * cheap scan. */
unsigned char *listpack_find(const unsigned char *lp, unsigned char *p,
                             const char *s, size_t len, unsigned skip);

/* ---- Mutation: each returns the (possibly moved) listpack ---- */

/* Insert s before or after the element at p.  p == NULL with
 * LISTPACK_AFTER appends, with LISTPACK_BEFORE prepends.  When newp is not
 * NULL it receives the inserted element's position in the returned
 * listpack.  O(length) memmove, amortised O(1) at the tail.  s may point
 * into lp itself (e.g. an element being moved within the same listpack). */
unsigned char *listpack_insert(unsigned char *lp, unsigned char *p,
                               const char *s, size_t len, int where,
                               unsigned char **newp);
unsigned char *listpack_append(unsigned char *lp, const char *s, size_t len);
unsigned char *listpack_prepend(unsigned char *lp, const char *s, size_t len);
unsigned char *listpack_append_int(unsigned char *lp, long long v);
unsigned char *listpack_prepend_int(unsigned char *lp, long long v);
/* Replace the element at *p with s (or the integer v); *p is updated to the
 * replaced element in the returned listpack. */
unsigned char *listpack_replace(unsigned char *lp, unsigned char **p,
                                const char *s, size_t len);
unsigned char *listpack_replace_int(unsigned char *lp, unsigned char **p,
                                    long long v);
/* Delete the element at *p; *p becomes the element that followed it, or
 * NULL when it was the last. */
unsigned char *listpack_delete(unsigned char *lp, unsigned char **p);
/* Delete up to n elements starting at *p (e.g. a field and its value);
 * *p becomes the element after them or NULL.  One memmove. */
unsigned char *listpack_delete_n(unsigned char *lp, unsigned char **p,
                                 size_t n);
/* Delete up to count elements starting at index (negative from the tail);
 * an out-of-range index deletes nothing. */
unsigned char *listpack_delete_range(unsigned char *lp, long index,
                                     size_t count);

/* ---- Sizes of single elements ---- */

/* Bytes the element at p takes, backlen included. */
size_t listpack_element_size(const unsigned char *p);
/* Bytes s would take as an element (as an integer when it is a canonical
 * one): when it equals listpack_element_size(p), listpack_replace(p, s)
 * rewrites the element in place without reallocating or moving lp. */
size_t listpack_encoded_size(const char *s, size_t len);

/* ---- Untrusted input ---- */

/* Full structural check of size bytes at buf as a listpack: header total
 * equals size, every encoding and backlen is consistent, no element runs
 * past the end, the count matches, the terminator is last, and no string
 * element holds a canonical integer (which would break listpack_find).
 * Never reads outside buf[0..size).  Sets *count (when not NULL) to the
 * number of elements.  Returns 0 when valid, -1 otherwise.  A valid buffer
 * can be copied into a mem_alloc'd block and used as a listpack. */
int listpack_validate(const unsigned char *buf, size_t size, size_t *count);

#endif

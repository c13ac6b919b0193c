/* What the script files share (script.c: the caches, the NOSCRIPT and
 * missing-function repair; script_fan.c: SCRIPT and FUNCTION on every
 * node, the FUNCTION LIST parsers; script_lookup.c: functions the proxy
 * never saw loaded); the rest of the proxy sees only the script functions
 * of its header. */
#ifndef CACHELY_PROXY_SCRIPT_INT_H
#define CACHELY_PROXY_SCRIPT_INT_H

#include <stddef.h>

struct proxy;
struct preq;
struct backend;
struct fn_lookup;

#define SCRIPT_BUCKETS 1024

struct script_entry {
    char sha[41];                /* lower-case hex */
    char *body;                  /* owned */
    size_t len;
    struct script_entry *next;   /* the bucket's chain */
};

/* A function library the proxy knows: loaded through it (FUNCTION LOAD,
 * RESTORE), or learned from a node that had it (a lookup: script_lookup.c). */
struct script_lib {
    char *name;                  /* owned: the name the node answered */
    char *code;                  /* owned */
    size_t len;
    int learned;                 /* 0: loaded through the proxy (the missing-
                                    function repair loads it); 1: learned from
                                    a node (loaded before a transaction's FCALL,
                                    never over a node's own library) */
    char *fns;                   /* owned: the names of its functions, each
                                    NUL-terminated; NULL while not known (read
                                    back after a FUNCTION LOAD) */
    size_t fns_len;
    struct script_lib *next;     /* the cache's list */
};

/* A function name found nowhere by a lookup (script_lookup.c). */
#define FN_MISSES_MAX 256        /* names remembered as found nowhere */

struct fn_miss {
    char *name;                  /* owned, NULL when the slot is free */
    size_t len;
    long long until_ms;
};

struct script_cache {
    struct script_entry *buckets[SCRIPT_BUCKETS]; /* owned chains */
    size_t count;
    unsigned long long bytes;    /* bodies and library code */
    int full_logged;
    struct script_lib *libs;     /* owned list */
    struct fn_lookup *lookups;   /* owned list: one per function name */
    int nlookups;
    struct fn_miss misses[FN_MISSES_MAX]; /* owned names: a ring */
    size_t miss_next;
};

/* What a repair loads ahead of the call: a script's body, one library's
 * code, or (both NULL) every library loaded through the proxy. */
struct repair_load {
    struct script_entry *script; /* borrowed from the cache */
    const char *code;            /* borrowed */
    size_t code_len;
};

/* One library of a FUNCTION LIST [WITHCODE] reply (RESP2): pointers into
 * the reply. */
struct listed_lib {
    const char *name, *code;
    size_t name_len, code_len;
    const char *fns;             /* the "functions" array element, or NULL */
    size_t fns_len;
};

/* script.c: px's cache, made on first use. */
struct script_cache *script_cache_of(struct proxy *px);
/* script.c: keep a script's body under its sha (nothing past the cache's
 * bound). */
void script_cache_learn(struct proxy *px, const char *body, size_t len);
/* script.c: forget every script body (SCRIPT FLUSH). */
void script_cache_clear(struct proxy *px);
/* script.c: forget library name (all of them when name is NULL). */
void script_lib_forget(struct proxy *px, const char *name, size_t len);
/* script.c: the library of that name, NULL when the proxy knows none. */
struct script_lib *script_lib_find(struct proxy *px, const char *name, size_t len);
/* script.c: keep library name's code (see there for which copy wins); fns
 * (NUL-separated function names, or NULL) is owned by the cache from now on. */
void script_lib_learn(struct proxy *px, const char *name, size_t nlen, const char *code,
                      size_t len, int learned, char *fns, size_t fns_len);
/* script.c: the second argument of a multibulk frame, in *p and *n (0), or
 * -1 when the frame has none. */
int script_frame_arg1(const char *f, size_t len, const char **p, size_t *n);
/* script.c: does the proxy hold libraries loaded through it? */
int script_own_libs_known(const struct proxy *px);
/* script.c: write-ack: the WAITs sent behind r's first try no longer
 * acknowledge it. */
void script_detach_waits(struct preq *r);
/* script.c: send r once more behind the load of what it missed (on b, or
 * a connection picked when NULL); 1 when sent, r's frame stays the caller's. */
int script_resend(struct preq *r, struct backend *b, const struct repair_load *what, int ack);
/* script.c: free r's retry frame (script.c's copy). */
void script_drop_frame(struct preq *r);

/* script_fan.c: a mem_alloc'd copy of len bytes at p. */
char *script_dup_reply(const char *p, size_t len);
/* script_fan.c: the library of a FUNCTION LIST [WITHCODE] reply at q (end
 * excluded) into *l; returns the bytes it takes, 0 when it is not whole. */
size_t script_listed_at(const char *q, const char *end, struct listed_lib *l);
/* script_fan.c: the names of l's functions, each NUL-terminated, in a new
 * allocation (*len set; NULL when none could be read). */
char *script_fns_collect(const struct listed_lib *l, size_t *len);
/* script_fan.c: is fn one of names (script_fns_collect's)? */
int script_names_have(const char *names, size_t len, const char *fn, size_t fnlen);

/* script_lookup.c: r got "Function not found" (reply): hold it on the
 * lookup of its function; 0 when it is not held.  mine: r's retry frame is
 * script.c's. */
int script_fn_hold(struct preq *r, const char *reply, size_t len, int mine);
/* script_lookup.c: free the lookups left (their sessions gone) and the
 * names found nowhere. */
void script_fn_teardown(struct proxy *px);
/* script_lookup.c: forget the names found nowhere (c may be NULL). */
void script_misses_clear(struct script_cache *c);

#endif

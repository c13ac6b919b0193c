/* One RESP writer for code that both binaries run (the ACL command's
 * replies, HELP texts...): the encoding lives here once, and each binary
 * plugs in where the bytes go (the node's client reply buffer, the proxy's
 * rbuf) through a small ops table.  Hot paths (GET on the node) keep calling
 * their binary's own reply functions directly. */
#ifndef CACHELY_CORE_RESP_WRITER_H
#define CACHELY_CORE_RESP_WRITER_H

#include <stddef.h>

/* Where the bytes go.  raw and error are required; bulk may be NULL. */
struct resp_writer_ops {
    /* Append len bytes that are already RESP. */
    void (*raw)(void *sink, const char *p, size_t len);
    /* An error reply.  msg (NUL-terminated, len bytes) is either the text
     * after "-ERR " ("no such key") or a whole line with its own code
     * ("-WRONGTYPE Operation..."), without CRLF; the sink makes it one line
     * (CR and LF become spaces) and may count it (the node's errorstats). */
    void (*error)(void *sink, const char *msg, size_t len);
    /* Optional: a whole bulk string at once (the node copies header, body
     * and CRLF in one go); NULL: header, body and CRLF through raw. */
    void (*bulk)(void *sink, const char *p, size_t len);
};

struct resp_writer {
    const struct resp_writer_ops *ops; /* borrowed: usually a static table */
    void *sink;                        /* borrowed: the client, the rbuf... */
    int proto;                         /* 2 or 3 (HELLO's protover) */
};

/* Point w at sink (no allocation: a writer lives on the caller's stack). */
void resp_writer_init(struct resp_writer *w, const struct resp_writer_ops *ops, void *sink,
                      int proto);

void resp_writer_raw(struct resp_writer *w, const char *p, size_t len);
/* Aggregate headers.  A map of n pairs is "*2n" in RESP2, "%n" in RESP3; a
 * set is "*n" or "~n". */
void resp_writer_array(struct resp_writer *w, long long n);
void resp_writer_map(struct resp_writer *w, long long n);
void resp_writer_set(struct resp_writer *w, long long n);
void resp_writer_bulk(struct resp_writer *w, const char *p, size_t len);
/* s NULL writes a null. */
void resp_writer_bulk_cstr(struct resp_writer *w, const char *s);
/* "+s\r\n"; s must hold no CR or LF. */
void resp_writer_status(struct resp_writer *w, const char *s);
void resp_writer_ok(struct resp_writer *w);
/* See resp_writer_ops.error for msg's two forms. */
void resp_writer_error(struct resp_writer *w, const char *msg);
void resp_writer_errorf(struct resp_writer *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void resp_writer_int(struct resp_writer *w, long long v);
/* RESP3 ",d"; RESP2 a bulk string of the same digits. */
void resp_writer_double(struct resp_writer *w, double d);
/* The null bulk ("$-1", RESP3 "_") and the null array ("*-1", "_"). */
void resp_writer_null(struct resp_writer *w);
void resp_writer_null_array(struct resp_writer *w);
/* RESP3 "=len\r\next:..."; RESP2 a plain bulk string.  ext is 3 bytes. */
void resp_writer_verbatim(struct resp_writer *w, const char *p, size_t len, const char *ext);
/* RESP3 "#t"/"#f"; RESP2 :1/:0. */
void resp_writer_bool(struct resp_writer *w, int b);
/* A container's HELP (CONFIG HELP, ACL HELP...): its header line, lines
 * (NULL-terminated), then HELP's own entry, all as status lines. */
void resp_writer_help(struct resp_writer *w, const char *container,
                      const char *const *lines);

#endif

/* RESP request parser and encoder helpers.
 *
 * The parser does no I/O: the owner keeps the unconsumed bytes of the stream
 * in one contiguous buffer and calls resp_parser_next() with it each time more
 * bytes arrive.  Progress inside a partial frame is remembered (as offsets
 * from the frame start), so a large frame arriving in small reads is parsed in
 * linear time, and nothing is allocated for a declared length: the argument
 * vector grows only as arguments actually arrive.  Limits are fields; an error
 * sticks until resp_parser_reset(). */
#ifndef CACHELY_CORE_RESP_H
#define CACHELY_CORE_RESP_H

#include <stddef.h>

/* Redis's protocol defaults. */
#define RESP_DEFAULT_MAX_BULK (512LL * 1024 * 1024)
#define RESP_DEFAULT_MAX_MULTIBULK (1024LL * 1024 * 1024) /* INT_MAX-ish; Redis checks > INT_MAX */
#define RESP_MAX_INLINE (64 * 1024)
/* Limits that apply before a client has authenticated (as Redis 7.0). */
#define RESP_UNAUTH_MAX_MULTIBULK 10
#define RESP_UNAUTH_MAX_BULK 16384

struct resp_arg {
    const char *ptr;   /* borrowed from the caller's buffer or the parser's
                          inline scratch; valid until the next call */
    size_t len;
};

struct resp_parser {
    /* limits, set by the owner (defaults from resp_parser_init) */
    long long max_bulk_len;
    long long max_multibulk_len;
    int unauthenticated;      /* apply Redis's pre-AUTH limits */

    /* result of the last STATUS_OK: argc arguments, consumed bytes */
    size_t argc;
    struct resp_arg *argv;    /* owned; argv_cap entries */
    size_t argv_cap;
    size_t consumed;
    /* hint after STATUS_AGAIN: total bytes the frame needs at least */
    size_t need;

    /* progress inside the current frame */
    int kind;                 /* 0 none, '*' multibulk, 'i' inline */
    long long multibulk_left;
    long long bulk_len;       /* -1 when not inside a bulk */
    size_t pos;               /* next unparsed offset from frame start */
    size_t *offs;             /* owned; argument offsets while partial */
    int done;                 /* last call returned a frame */

    char *scratch;            /* owned; unescaped inline arguments */
    size_t scratch_cap;

    int error;                /* sticky */
    char errstr[96];          /* "Protocol error: ..." */
};

void resp_parser_init(struct resp_parser *p);
void resp_parser_free(struct resp_parser *p);
/* Between frames (none begun, or the last one returned), free the argument
 * vector if it has room for more than max_args arguments, and the inline
 * scratch if it is bigger than 16 * max_args bytes: what one big command
 * needed is not kept for the connection's life.  Inside a frame it does
 * nothing.  The arrays grow again as arguments arrive.  argv is invalid
 * afterwards. */
void resp_parser_trim(struct resp_parser *p, size_t max_args);
/* Forget any partial frame and a sticky error. */
void resp_parser_reset(struct resp_parser *p);

/* Parse the next command from buf[0..len), which starts at the frame the
 * parser is in the middle of (or a new one).
 * Returns STATUS_OK with argc/argv/consumed set (argc may be 0 for an empty
 * frame, which the caller skips), STATUS_AGAIN when more bytes are needed
 * (need says how many in total at least), or STATUS_ERR with errstr set. */
int resp_parser_next(struct resp_parser *p, const char *buf, size_t len);

/* The same results as resp_parser_next, faster for the small whole
 * multibulk frames a proxy forwards (GET, SET...); the general path takes
 * everything else.  The proxy's parser; the node keeps resp_parser_next. */
int resp_parser_next_quick(struct resp_parser *p, const char *buf, size_t len);

/* Encoder helpers: each writes a RESP header such as "$5\r\n" or ":42\r\n"
 * into dst (which must have RESP_HDR_MAX bytes) and returns its length. */
#define RESP_HDR_MAX 32
size_t resp_fmt_prefixed(char *dst, char prefix, long long n);

/* What RESP2 and RESP3 spell differently, written once for the node's
 * replies and core/resp_writer: each writes into dst (RESP_HDR_MAX bytes;
 * RESP_DOUBLE_MAX for a double) for protocol proto (2 or 3) and returns
 * the length.  null: "_" or "$-1"; null_array: "_" or "*-1"; bool: "#t"
 * or ":1"; map: "%n" or "*2n"; set: "~n" or "*n"; verbatim_hdr: what goes
 * before len bytes of text ("=len+4" and "ext:", or "$len"); double:
 * ",d" or the bulk "d", in util_d2str's digits. */
size_t resp_fmt_null(char *dst, int proto);
size_t resp_fmt_null_array(char *dst, int proto);
size_t resp_fmt_bool(char *dst, int b, int proto);
size_t resp_fmt_map(char *dst, long long n, int proto);
size_t resp_fmt_set(char *dst, long long n, int proto);
size_t resp_fmt_verbatim_hdr(char *dst, size_t len, const char *ext, int proto);
#define RESP_DOUBLE_MAX 96
size_t resp_fmt_double(char *dst, double d, int proto);

/* A command as a request frame: "*argc" and each argument as a bulk
 * string.  resp_command_len is its exact size; resp_command_write writes it
 * into dst (which must have that room) and returns the same count; and
 * resp_command_encode returns it in a new mem_alloc'd block (the caller
 * frees it) with its length in *len.  One encoder for every request a
 * binary sends or feeds itself (the proxy's backend requests, the node's
 * HTTP calls). */
size_t resp_command_len(size_t argc, const struct resp_arg *argv);
size_t resp_command_write(char *dst, size_t argc, const struct resp_arg *argv);
char *resp_command_encode(size_t argc, const struct resp_arg *argv, size_t *len);

/* Split an inline command line into arguments as redis-cli and Redis do
 * (quotes, \xHH escapes).  Writes unescaped bytes into out (capacity at
 * least len) and argument slices into args (capacity at least len/2+1).
 * Returns the count, or -1 on unbalanced quotes. */
long resp_split_inline(const char *line, size_t len, char *out,
                       struct resp_arg *args);

#endif

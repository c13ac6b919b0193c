/* Unit tests for core/resp: the request parser (multibulk, inline, partial
 * frames, Redis's limits and exact error strings) and the encoder helpers. */
#include "core/resp.h"
#include "core/alloc.h"
#include "core/status.h"

#include <criterion/criterion.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ------------------------------------------------------------ */

/* Parse one frame from a NUL-terminated string with fresh default limits. */
static int
parse_str(struct resp_parser *p, const char *s)
{
    return resp_parser_next(p, s, strlen(s));
}

static void
assert_arg(const struct resp_parser *p, size_t i, const char *want, size_t wantlen)
{
    cr_assert_lt(i, p->argc);
    cr_assert_eq(p->argv[i].len, wantlen, "arg %zu: len %zu, want %zu", i,
                 p->argv[i].len, wantlen);
    cr_assert(memcmp(p->argv[i].ptr, want, wantlen) == 0, "arg %zu differs", i);
}

#define ASSERT_ARG(p, i, lit) assert_arg((p), (i), (lit), sizeof(lit) - 1)

static void
assert_error(const char *input, size_t len, int unauthenticated, const char *want)
{
    struct resp_parser p;
    resp_parser_init(&p);
    p.unauthenticated = unauthenticated;
    cr_assert_eq(resp_parser_next(&p, input, len), STATUS_ERR);
    cr_assert_str_eq(p.errstr, want);
    resp_parser_free(&p);
}

/* Parse a stream as a client does, delivering it first up to split bytes and
 * then whole, keeping unconsumed bytes at the buffer start.  Describes every
 * frame as "a|b|c;" (empty frames as ";") and a final error as "E:<text>". */
static void
describe_stream(const char *s, size_t n, size_t split, char *out, size_t cap)
{
    struct resp_parser p;
    size_t start = 0, fed = split, o = 0;
    char *buf = malloc(n + 1);

    cr_assert_not_null(buf);
    out[0] = '\0';
    resp_parser_init(&p);
    for (;;) {
        int rc;
        /* A fresh copy of exactly the unconsumed bytes, as after compaction. */
        memcpy(buf, s + start, fed - start);
        rc = resp_parser_next(&p, buf, fed - start);
        if (rc == STATUS_OK) {
            for (size_t i = 0; i < p.argc; i++) {
                o += (size_t)snprintf(out + o, cap - o, "%s%.*s", i ? "|" : "",
                                      (int)p.argv[i].len, p.argv[i].ptr);
            }
            o += (size_t)snprintf(out + o, cap - o, ";");
            start += p.consumed;
            continue;
        }
        if (rc == STATUS_ERR) {
            snprintf(out + o, cap - o, "E:%s", p.errstr);
            break;
        }
        cr_assert_gt(p.need, fed - start);
        if (fed == n) {
            break;
        }
        fed = n;
    }
    resp_parser_free(&p);
    free(buf);
}

/* ---- multibulk ---------------------------------------------------------- */

Test(resp, parses_multibulk_command)
{
    struct resp_parser p;
    const char *in = "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n";
    resp_parser_init(&p);
    cr_assert_eq(parse_str(&p, in), STATUS_OK);
    cr_assert_eq(p.argc, 3);
    ASSERT_ARG(&p, 0, "SET");
    ASSERT_ARG(&p, 1, "key");
    ASSERT_ARG(&p, 2, "value");
    cr_assert_eq(p.consumed, strlen(in));
    resp_parser_free(&p);
}

/* A command with many arguments must not leave its argument vector with
 * the connection (100,000 arguments took 3 MB): trimmed between frames,
 * left alone inside one. */
Test(resp, trim_frees_a_big_vector_between_frames_only)
{
    struct resp_parser p;
    char big[4096];
    size_t n = (size_t)snprintf(big, sizeof(big), "*2000\r\n");
    for (int i = 0; i < 200; i++) {
        n += (size_t)snprintf(big + n, sizeof(big) - n, "$1\r\nx\r\n");
    }
    resp_parser_init(&p);
    cr_assert_eq(resp_parser_next(&p, big, n), STATUS_AGAIN);
    size_t cap = p.argv_cap;
    cr_assert_geq(cap, 200);
    resp_parser_trim(&p, 8);
    cr_assert_eq(p.argv_cap, cap, "inside a frame the vector stays");
    resp_parser_reset(&p);
    resp_parser_trim(&p, 8);
    cr_assert_eq(p.argv_cap, 0);
    cr_assert_null(p.argv);
    /* and it grows again */
    cr_assert_eq(parse_str(&p, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"), STATUS_OK);
    ASSERT_ARG(&p, 2, "v");
    resp_parser_trim(&p, 1024);
    cr_assert_eq(p.argc, 3, "a small vector is kept");
    resp_parser_trim(&p, 0);
    cr_assert_eq(p.argv_cap, 0, "after a returned frame it may go");
    resp_parser_free(&p);
}

Test(resp, multibulk_arguments_are_binary_safe)
{
    struct resp_parser p;
    static const char in[] = "*2\r\n$4\r\nECHO\r\n$6\r\n\0\r\n\xff\n\r\r\n";
    resp_parser_init(&p);
    cr_assert_eq(resp_parser_next(&p, in, sizeof(in) - 1), STATUS_OK);
    cr_assert_eq(p.argc, 2);
    ASSERT_ARG(&p, 1, "\0\r\n\xff\n\r");
    resp_parser_free(&p);
}

Test(resp, multibulk_accepts_empty_bulk)
{
    struct resp_parser p;
    resp_parser_init(&p);
    cr_assert_eq(parse_str(&p, "*2\r\n$4\r\nECHO\r\n$0\r\n\r\n"), STATUS_OK);
    cr_assert_eq(p.argc, 2);
    cr_assert_eq(p.argv[1].len, 0);
    resp_parser_free(&p);
}

Test(resp, zero_or_negative_multibulk_count_is_an_empty_frame)
{
    struct resp_parser p;
    resp_parser_init(&p);
    cr_assert_eq(parse_str(&p, "*0\r\nPING\r\n"), STATUS_OK);
    cr_assert_eq(p.argc, 0);
    cr_assert_eq(p.consumed, 4);
    cr_assert_eq(parse_str(&p, "*-1\r\n"), STATUS_OK);
    cr_assert_eq(p.argc, 0);
    cr_assert_eq(p.consumed, 5);
    resp_parser_free(&p);
}

/* ---- inline ------------------------------------------------------------- */

Test(resp, parses_inline_command)
{
    struct resp_parser p;
    resp_parser_init(&p);
    cr_assert_eq(parse_str(&p, "SET  key\tvalue \r\nGET key\r\n"), STATUS_OK);
    cr_assert_eq(p.argc, 3);
    ASSERT_ARG(&p, 0, "SET");
    ASSERT_ARG(&p, 1, "key");
    ASSERT_ARG(&p, 2, "value");
    cr_assert_eq(p.consumed, 17);
    resp_parser_free(&p);
}

Test(resp, inline_accepts_lf_without_cr)
{
    struct resp_parser p;
    resp_parser_init(&p);
    cr_assert_eq(parse_str(&p, "PING\nPING\n"), STATUS_OK);
    cr_assert_eq(p.argc, 1);
    ASSERT_ARG(&p, 0, "PING");
    cr_assert_eq(p.consumed, 5);
    resp_parser_free(&p);
}

Test(resp, inline_double_quotes_and_escapes)
{
    struct resp_parser p;
    resp_parser_init(&p);
    cr_assert_eq(parse_str(&p, "SET \"hello world\" \"\\x41\\x4a\\n\\t\\r\\b\\a\\\\\\\"\\q\"\r\n"),
                 STATUS_OK);
    cr_assert_eq(p.argc, 3);
    ASSERT_ARG(&p, 1, "hello world");
    ASSERT_ARG(&p, 2, "AJ\n\t\r\b\a\\\"q");
    resp_parser_free(&p);
}

Test(resp, inline_incomplete_hex_escape_is_literal)
{
    struct resp_parser p;
    resp_parser_init(&p);
    cr_assert_eq(parse_str(&p, "ECHO \"\\x4\" \"\\xzz\"\r\n"), STATUS_OK);
    cr_assert_eq(p.argc, 3);
    ASSERT_ARG(&p, 1, "x4");
    ASSERT_ARG(&p, 2, "xzz");
    resp_parser_free(&p);
}

Test(resp, inline_single_quotes)
{
    struct resp_parser p;
    resp_parser_init(&p);
    cr_assert_eq(parse_str(&p, "SET 'it\\'s' 'a\\nb' '' \"\"\r\n"), STATUS_OK);
    cr_assert_eq(p.argc, 5);
    ASSERT_ARG(&p, 1, "it's");
    ASSERT_ARG(&p, 2, "a\\nb"); /* no escapes but \' in single quotes */
    ASSERT_ARG(&p, 3, "");
    ASSERT_ARG(&p, 4, "");
    resp_parser_free(&p);
}

Test(resp, inline_empty_lines_are_empty_frames)
{
    struct resp_parser p;
    const char *in = "\r\n  \r\n\nPING\r\n";
    size_t pos = 0;
    resp_parser_init(&p);
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(resp_parser_next(&p, in + pos, strlen(in) - pos), STATUS_OK);
        cr_assert_eq(p.argc, 0, "line %d", i);
        pos += p.consumed;
    }
    cr_assert_eq(resp_parser_next(&p, in + pos, strlen(in) - pos), STATUS_OK);
    cr_assert_eq(p.argc, 1);
    ASSERT_ARG(&p, 0, "PING");
    resp_parser_free(&p);
}

/* An inline line with a NUL byte before its newline is never complete, as
 * in Redis (strchr finds no newline past the NUL): it waits for more input,
 * then fails as too big.  A TLS ClientHello on a plain port is such a line
 * (redis-rb's test_connection_to_non_ssl_server expects the handshake to
 * time out, not an error reply). */
Test(resp, inline_nul_byte_before_newline_waits_as_redis)
{
    struct resp_parser p;
    static const char in[] = "SET a\0 b\r\nPING\r\n";
    resp_parser_init(&p);
    cr_assert_eq(resp_parser_next(&p, in, sizeof(in) - 1), STATUS_AGAIN);
    cr_assert_eq(p.argc, 0);
    resp_parser_free(&p);

    size_t n = RESP_MAX_INLINE + 16;
    char *big = mem_alloc(n);
    memset(big, 'x', n);
    big[3] = '\0';
    big[10] = '\n';
    assert_error(big, n, 0, "Protocol error: too big inline request");
    mem_free(big);
}

/* Regression: an unquoted NUL byte made resp_split_inline loop forever,
 * writing empty arguments past the end of argv (heap overflow found by
 * tests/fuzz/fuzz_resp).  Redis splits a line as a C string, so the NUL
 * ends it. */
Test(resp, split_inline_nul_byte_ends_the_line)
{
    char out[16];
    struct resp_arg args[8];
    cr_assert_eq(resp_split_inline("SET a\0 b", 8, out, args), 2);
}

Test(resp, split_inline_rejects_text_after_closing_quote)
{
    char out[32];
    struct resp_arg args[16];
    cr_assert_eq(resp_split_inline("SET \"a\"b", 8, out, args), -1);
    cr_assert_eq(resp_split_inline("SET 'a'b", 8, out, args), -1);
    cr_assert_eq(resp_split_inline("SET \"a\" b", 9, out, args), 3);
}

/* ---- pipelines and partial frames --------------------------------------- */

Test(resp, parses_pipeline_of_frames)
{
    char got[512];
    const char *in = "*1\r\n$4\r\nPING\r\nECHO hi\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"
                     "\r\n*0\r\n";
    describe_stream(in, strlen(in), strlen(in), got, sizeof(got));
    cr_assert_str_eq(got, "PING;ECHO|hi;GET|k;;;");
}

Test(resp, frame_split_at_every_byte_gives_same_result)
{
    static const char in[] =
        "*3\r\n$3\r\nSET\r\n$3\r\nk\0y\r\n$10\r\n0123456789\r\n"
        "SET \"a b\" '\\'c' \\x41\r\n"
        "*1\r\n$0\r\n\r\n"
        "\r\n"
        "*2\r\n$4\r\nECHO\r\n$2\r\n\r\n\r\n";
    char want[512], got[512];
    size_t n = sizeof(in) - 1;

    describe_stream(in, n, n, want, sizeof(want));
    cr_assert_str_eq(want, "SET|k|0123456789;SET|a b|'c|\\x41;;;ECHO|\r\n;");
    for (size_t split = 0; split <= n; split++) {
        describe_stream(in, n, split, got, sizeof(got));
        cr_assert_str_eq(got, want, "split at %zu", split);
    }
}

Test(resp, error_is_the_same_at_every_split)
{
    static const char in[] = "*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\nx\r\n";
    char want[256], got[256];
    size_t n = sizeof(in) - 1;

    describe_stream(in, n, n, want, sizeof(want));
    cr_assert_str_eq(want, "PING;E:Protocol error: expected '$', got 'x'");
    for (size_t split = 0; split <= n; split++) {
        describe_stream(in, n, split, got, sizeof(got));
        cr_assert_str_eq(got, want, "split at %zu", split);
    }
}

Test(resp, again_says_how_many_bytes_the_frame_needs)
{
    struct resp_parser p;
    const char *in = "*2\r\n$3\r\nGET\r\n$10\r\nabc";
    resp_parser_init(&p);
    cr_assert_eq(parse_str(&p, in), STATUS_AGAIN);
    /* 18 bytes of headers, then 10 bytes of bulk and a CRLF. */
    cr_assert_eq(p.need, 18 + 12);
    resp_parser_free(&p);
}

/* ---- errors, with Redis's exact wording --------------------------------- */

Test(resp, invalid_multibulk_length_error)
{
    assert_error("*abc\r\n", 6, 0, "Protocol error: invalid multibulk length");
    assert_error("*\r\n", 3, 0, "Protocol error: invalid multibulk length");
    assert_error("*01\r\n", 5, 0, "Protocol error: invalid multibulk length");
    assert_error("*2147483648\r\n", 13, 0, "Protocol error: invalid multibulk length");
    assert_error("*99999999999999999999\r\n", 23, 0,
                 "Protocol error: invalid multibulk length");
}

Test(resp, invalid_bulk_length_error)
{
    assert_error("*1\r\n$abc\r\n", 10, 0, "Protocol error: invalid bulk length");
    assert_error("*1\r\n$+3\r\nfoo\r\n", 14, 0, "Protocol error: invalid bulk length");
    assert_error("*1\r\n$\r\n", 7, 0, "Protocol error: invalid bulk length");
}

/* The common lengths are read without util_str2ll; what that fast path
 * does not take (a leading zero, a sign, a byte other than a digit before
 * the CR, more than 18 digits) still gets the general path's answer. */
Test(resp, lengths_outside_the_fast_path_keep_their_errors)
{
    assert_error("*1\r\n$03\r\nfoo\r\n", 14, 0, "Protocol error: invalid bulk length");
    assert_error("*1\r\n$3x\r\nfoo\r\n", 14, 0, "Protocol error: invalid bulk length");
    assert_error("*1\r\n$00\r\n\r\n", 11, 0, "Protocol error: invalid bulk length");
    assert_error("*1\r\n$1234567890123456789\r\n", 26, 0,
                 "Protocol error: invalid bulk length");
    assert_error("*1x\r\n", 5, 0, "Protocol error: invalid multibulk length");
    assert_error("*00\r\n", 5, 0, "Protocol error: invalid multibulk length");

    struct resp_parser p;
    resp_parser_init(&p);
    cr_assert_eq(parse_str(&p, "*2\r\n$0\r\n\r\n$10\r\n0123456789\r\n"), STATUS_OK);
    cr_assert_eq(p.argc, 2);
    ASSERT_ARG(&p, 0, "");
    ASSERT_ARG(&p, 1, "0123456789");
    resp_parser_free(&p);
}

/* Counts and lengths of one, two and three digits on either side of the
 * one- and two-digit shortcut (9, 10, 99, 100), whole and split at every
 * byte: each argument keeps its length. */
Test(resp, one_two_and_three_digit_lengths_at_every_split)
{
    static char in[1024], want[1024], got[1024], expect[1024];
    const size_t lens[] = {9, 10, 99, 100, 1, 0};
    size_t n = 0, e = 0;
    n += (size_t)snprintf(in + n, sizeof(in) - n, "*10\r\n");
    for (int i = 0; i < 10; i++) {
        size_t l = lens[i % 6];
        n += (size_t)snprintf(in + n, sizeof(in) - n, "$%zu\r\n", l);
        memset(in + n, 'a' + i, l);
        memset(expect + e, 'a' + i, l);
        n += l;
        e += l;
        memcpy(in + n, "\r\n", 2);
        n += 2;
        expect[e++] = i == 9 ? ';' : '|';
    }
    expect[e] = '\0';
    describe_stream(in, n, n, want, sizeof(want));
    cr_assert_str_eq(want, expect);
    for (size_t split = 0; split <= n; split++) {
        describe_stream(in, n, split, got, sizeof(got));
        cr_assert_str_eq(got, want, "split at %zu", split);
    }
}

/* A whole frame of up to 64 arguments takes the one-pass path, a longer
 * one the general path: both give the same arguments and consume the
 * frame, and the state left lets the next frame parse. */
Test(resp, frames_on_either_side_of_the_one_pass_limit_parse_alike)
{
    for (size_t argc = 63; argc <= 66; argc++) {
        char buf[2048];
        size_t n = (size_t)snprintf(buf, sizeof(buf), "*%zu\r\n", argc);
        for (size_t i = 0; i < argc; i++) {
            n += (size_t)snprintf(buf + n, sizeof(buf) - n, "$%zu\r\n%zu\r\n",
                                  i < 10 ? (size_t)1 : i < 100 ? (size_t)2 : (size_t)3, i);
        }
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "*1\r\n$4\r\nPING\r\n");
        struct resp_parser p;
        resp_parser_init(&p);
        cr_assert_eq(resp_parser_next(&p, buf, n), STATUS_OK);
        cr_assert_eq(p.argc, argc);
        for (size_t i = 0; i < argc; i++) {
            char want[8];
            int w = snprintf(want, sizeof(want), "%zu", i);
            assert_arg(&p, i, want, (size_t)w);
        }
        size_t used = p.consumed;
        cr_assert_eq(resp_parser_next(&p, buf + used, n - used), STATUS_OK);
        cr_assert_eq(p.argc, 1);
        ASSERT_ARG(&p, 0, "PING");
        cr_assert_eq(used + p.consumed, n);
        resp_parser_free(&p);
    }
}

Test(resp, rejects_negative_bulk_length)
{
    assert_error("*1\r\n$-1\r\n", 9, 0, "Protocol error: invalid bulk length");
    assert_error("*2\r\n$3\r\nGET\r\n$-5\r\n", 18, 0, "Protocol error: invalid bulk length");
}

Test(resp, rejects_bulk_over_max_bulk_len)
{
    struct resp_parser p;
    resp_parser_init(&p);
    p.max_bulk_len = 10;
    cr_assert_eq(parse_str(&p, "*1\r\n$10\r\n0123456789\r\n"), STATUS_OK);
    cr_assert_eq(parse_str(&p, "*1\r\n$11\r\n01234567890\r\n"), STATUS_ERR);
    cr_assert_str_eq(p.errstr, "Protocol error: invalid bulk length");
    resp_parser_free(&p);
    /* Redis's default: 512 MB. */
    assert_error("*1\r\n$536870913\r\n", 16, 0, "Protocol error: invalid bulk length");
}

Test(resp, expected_dollar_error_names_the_byte)
{
    assert_error("*1\r\nx3\r\nfoo\r\n", 13, 0, "Protocol error: expected '$', got 'x'");
    assert_error("*2\r\n$3\r\nGET\r\n:1\r\n", 17, 0,
                 "Protocol error: expected '$', got ':'");
}

Test(resp, too_big_inline_request_error)
{
    size_t n = RESP_MAX_INLINE + 1;
    char *in = malloc(n);
    struct resp_parser p;

    memset(in, 'a', n);
    resp_parser_init(&p);
    /* Exactly the limit still waits for the newline. */
    cr_assert_eq(resp_parser_next(&p, in, n - 1), STATUS_AGAIN);
    resp_parser_free(&p);
    assert_error(in, n, 0, "Protocol error: too big inline request");
    free(in);
}

Test(resp, too_big_mbulk_count_string_error)
{
    size_t n = RESP_MAX_INLINE + 2;
    char *in = malloc(n);
    memset(in, '1', n);
    in[0] = '*';
    assert_error(in, n, 0, "Protocol error: too big mbulk count string");
    free(in);
}

Test(resp, too_big_bulk_count_string_error)
{
    size_t n = RESP_MAX_INLINE + 8;
    char *in = malloc(n);
    memset(in, '1', n);
    memcpy(in, "*1\r\n$", 5);
    assert_error(in, n, 0, "Protocol error: too big bulk count string");
    free(in);
}

Test(resp, unbalanced_quotes_error)
{
    assert_error("SET \"abc\r\n", 10, 0, "Protocol error: unbalanced quotes in request");
    assert_error("SET 'abc\r\n", 10, 0, "Protocol error: unbalanced quotes in request");
    assert_error("SET \"a\"b\r\n", 10, 0, "Protocol error: unbalanced quotes in request");
}

Test(resp, unauthenticated_multibulk_length_error)
{
    struct resp_parser p;
    char in[256];
    int n = snprintf(in, sizeof(in), "*10\r\n");
    for (int i = 0; i < 10; i++) {
        n += snprintf(in + n, sizeof(in) - (size_t)n, "$1\r\na\r\n");
    }
    resp_parser_init(&p);
    p.unauthenticated = 1;
    cr_assert_eq(resp_parser_next(&p, in, (size_t)n), STATUS_OK);
    cr_assert_eq(p.argc, 10);
    resp_parser_free(&p);
    assert_error("*11\r\n", 5, 1, "Protocol error: unauthenticated multibulk length");
}

Test(resp, unauthenticated_bulk_length_error)
{
    struct resp_parser p;
    resp_parser_init(&p);
    p.unauthenticated = 1;
    cr_assert_eq(parse_str(&p, "*2\r\n$4\r\nAUTH\r\n$16384\r\n"), STATUS_AGAIN);
    resp_parser_free(&p);
    assert_error("*2\r\n$4\r\nAUTH\r\n$16385\r\n", 22, 1,
                 "Protocol error: unauthenticated bulk length");
    /* Authenticated clients get the normal limits. */
    resp_parser_init(&p);
    cr_assert_eq(parse_str(&p, "*11\r\n$16385\r\n"), STATUS_AGAIN);
    resp_parser_free(&p);
}

Test(resp, error_sticks_until_reset)
{
    struct resp_parser p;
    resp_parser_init(&p);
    cr_assert_eq(parse_str(&p, "*1\r\n$x\r\n"), STATUS_ERR);
    cr_assert_str_eq(p.errstr, "Protocol error: invalid bulk length");
    cr_assert_eq(parse_str(&p, "PING\r\n"), STATUS_ERR);
    cr_assert_eq(parse_str(&p, "*1\r\n$4\r\nPING\r\n"), STATUS_ERR);
    cr_assert_str_eq(p.errstr, "Protocol error: invalid bulk length");
    resp_parser_reset(&p);
    cr_assert_eq(parse_str(&p, "*1\r\n$4\r\nPING\r\n"), STATUS_OK);
    cr_assert_eq(p.argc, 1);
    ASSERT_ARG(&p, 0, "PING");
    resp_parser_free(&p);
}

/* ---- memory ------------------------------------------------------------- */

Test(resp, huge_declared_bulk_does_not_allocate)
{
    struct resp_parser p;
    size_t before;
    resp_parser_init(&p);
    before = mem_used();
    cr_assert_eq(parse_str(&p, "*2\r\n$3\r\nSET\r\n$536870912\r\nabc"), STATUS_AGAIN);
    cr_assert_eq(p.need, 25 + 536870912 + 2);
    cr_assert_lt(mem_used() - before, 4096, "parser allocated %zu bytes",
                 mem_used() - before);
    resp_parser_free(&p);
    cr_assert_eq(mem_used(), before);
}

Test(resp, huge_declared_multibulk_does_not_allocate)
{
    struct resp_parser p;
    size_t before;
    resp_parser_init(&p);
    before = mem_used();
    cr_assert_eq(parse_str(&p, "*2147483647\r\n$3\r\nGET\r\n"), STATUS_AGAIN);
    cr_assert_lt(mem_used() - before, 4096, "parser allocated %zu bytes",
                 mem_used() - before);
    resp_parser_free(&p);
    cr_assert_eq(mem_used(), before);
}

/* ---- encoder ------------------------------------------------------------ */

Test(resp, fmt_prefixed_writes_header_with_crlf)
{
    char dst[RESP_HDR_MAX];
    size_t n;

    n = resp_fmt_prefixed(dst, '$', 5);
    cr_assert_eq(n, 4);
    cr_assert(memcmp(dst, "$5\r\n", 4) == 0);
    n = resp_fmt_prefixed(dst, ':', 0);
    cr_assert_eq(n, 4);
    cr_assert(memcmp(dst, ":0\r\n", 4) == 0);
    n = resp_fmt_prefixed(dst, ':', -42);
    cr_assert_eq(n, 6);
    cr_assert(memcmp(dst, ":-42\r\n", 6) == 0);
    n = resp_fmt_prefixed(dst, '*', LLONG_MIN);
    cr_assert_eq(n, 23);
    cr_assert(memcmp(dst, "*-9223372036854775808\r\n", 23) == 0);
    n = resp_fmt_prefixed(dst, ':', LLONG_MAX);
    cr_assert(memcmp(dst, ":9223372036854775807\r\n", n) == 0 && n == 22);
}

Test(resp, command_encode_is_a_multibulk_frame_of_exact_length)
{
    struct resp_arg argv[] = {{"SET", 3}, {"", 0}, {"a\r\nb", 4}};
    size_t len;
    char *f = resp_command_encode(3, argv, &len);
    const char *want = "*3\r\n$3\r\nSET\r\n$0\r\n\r\n$4\r\na\r\nb\r\n";
    cr_assert_eq(len, strlen(want));
    cr_assert_eq(resp_command_len(3, argv), len);
    cr_assert(memcmp(f, want, len) == 0);
    mem_free(f);
}

Test(resp, command_len_counts_every_digit_of_long_lengths)
{
    /* 12 arguments (two digits), one of 100,000 bytes (six digits). */
    static char big[100000];
    struct resp_arg argv[12];
    for (size_t i = 0; i < 12; i++) {
        argv[i].ptr = "x";
        argv[i].len = 1;
    }
    argv[5].ptr = big;
    argv[5].len = sizeof(big);
    size_t n = resp_command_len(12, argv);
    char *dst = malloc(n + 16);
    memset(dst, '#', n + 16);
    cr_assert_eq(resp_command_write(dst, 12, argv), n);
    cr_assert(memcmp(dst, "*12\r\n$1\r\nx\r\n", 12) == 0);
    cr_assert_eq(dst[n], '#', "wrote past the computed length");
    /* The parser reads back the same twelve arguments. */
    struct resp_parser p;
    resp_parser_init(&p);
    cr_assert_eq(resp_parser_next(&p, dst, n), STATUS_OK);
    cr_assert_eq(p.argc, 12);
    cr_assert_eq(p.argv[5].len, sizeof(big));
    cr_assert_eq(p.consumed, n);
    resp_parser_free(&p);
    free(dst);
}

Test(resp, command_encode_of_no_arguments)
{
    size_t len;
    char *f = resp_command_encode(0, NULL, &len);
    cr_assert_eq(len, 4);
    cr_assert(memcmp(f, "*0\r\n", 4) == 0);
    mem_free(f);
}

/* ---- resp_parser_next_quick (the proxy's) ------------------------------- */

/* Parse input with both parsers under the same limits, frame after frame
 * as a client's buffer would hand it over: the same status, frames, need
 * and error every time. */
static void
assert_quick_same(const char *input, size_t len, long long max_bulk, long long max_mb,
                  int unauth)
{
    struct resp_parser a, b;
    resp_parser_init(&a);
    resp_parser_init(&b);
    a.max_bulk_len = b.max_bulk_len = max_bulk;
    a.max_multibulk_len = b.max_multibulk_len = max_mb;
    a.unauthenticated = b.unauthenticated = unauth;
    size_t at = 0;
    for (int frames = 0;; frames++) {
        int ra = resp_parser_next(&a, input + at, len - at);
        int rb = resp_parser_next_quick(&b, input + at, len - at);
        cr_assert_eq(ra, rb, "frame %d: status %d vs quick %d", frames, ra, rb);
        if (ra == STATUS_ERR) {
            cr_assert_str_eq(a.errstr, b.errstr);
            break;
        }
        if (ra == STATUS_AGAIN) {
            cr_assert_eq(a.need, b.need);
            break;
        }
        cr_assert_eq(a.consumed, b.consumed);
        cr_assert_eq(a.argc, b.argc);
        for (size_t i = 0; i < a.argc; i++) {
            cr_assert_eq(a.argv[i].len, b.argv[i].len);
            /* (an inline frame's arguments are in each parser's scratch) */
            cr_assert(memcmp(a.argv[i].ptr, b.argv[i].ptr, a.argv[i].len) == 0);
            if (input[at] == '*') {
                cr_assert_eq(a.argv[i].ptr, b.argv[i].ptr, "frame %d arg %zu: at %td vs %td",
                             frames, i, a.argv[i].ptr - input, b.argv[i].ptr - input);
            }
        }
        at += a.consumed;
    }
    resp_parser_free(&a);
    resp_parser_free(&b);
}

#define QUICK_SAME(lit, mb, mm, un) assert_quick_same((lit), sizeof(lit) - 1, (mb), (mm), (un))

Test(resp, quick_parser_agrees_with_the_general_one)
{
    static const char pipe[] = "*2\r\n$3\r\nGET\r\n$16\r\nkey:000000012345\r\n"
                               "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n"
                               "*2\r\n$3\r\nGET\r\n$16\r\nkey:0000";
    QUICK_SAME(pipe, RESP_DEFAULT_MAX_BULK, INT_MAX, 0);
    QUICK_SAME(pipe, 3, INT_MAX, 0);                  /* a bulk over the limit */
    QUICK_SAME(pipe, RESP_DEFAULT_MAX_BULK, 2, 0);    /* SET's count over it */
    QUICK_SAME("*1\r\n$20000\r\n", RESP_DEFAULT_MAX_BULK, INT_MAX, 1); /* pre-AUTH */
    QUICK_SAME("*2\r\n$3\r\nGET\r\n$01\r\nk\r\n", RESP_DEFAULT_MAX_BULK, INT_MAX, 0);
    QUICK_SAME("*2\rX$3\r\nGET\r\n$1\rXk\r\n", RESP_DEFAULT_MAX_BULK, INT_MAX, 0);
    QUICK_SAME("*2\r\n$3\r\nGET\r\n$1234567890\r\nk\r\n", RESP_DEFAULT_MAX_BULK, INT_MAX, 0);
    QUICK_SAME("*2\r\n$3\r\nGET\r\n$-1\r\n", RESP_DEFAULT_MAX_BULK, INT_MAX, 0);
    QUICK_SAME("*2\r\n:3\r\nGET\r\n", RESP_DEFAULT_MAX_BULK, INT_MAX, 0);
    QUICK_SAME("*12\r\n$1\r\na\r\n", RESP_DEFAULT_MAX_BULK, INT_MAX, 1);
    QUICK_SAME("*0\r\n*1\r\n$4\r\nPING\r\nPING\r\n", RESP_DEFAULT_MAX_BULK, INT_MAX, 0);
}

Test(resp, quick_parser_resumes_a_partial_frame)
{
    static const char frame[] = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n";
    struct resp_parser p;
    resp_parser_init(&p);
    /* Every split: AGAIN until the whole frame is there, then one frame. */
    for (size_t cut = 0; cut < sizeof(frame) - 1; cut++) {
        cr_assert_eq(resp_parser_next_quick(&p, frame, cut), STATUS_AGAIN, "cut %zu", cut);
    }
    cr_assert_eq(resp_parser_next_quick(&p, frame, sizeof(frame) - 1), STATUS_OK);
    cr_assert_eq(p.argc, 3);
    ASSERT_ARG(&p, 2, "hello");
    cr_assert_eq(p.consumed, sizeof(frame) - 1);
    /* and the next frame starts afresh */
    cr_assert_eq(resp_parser_next_quick(&p, frame, sizeof(frame) - 1), STATUS_OK);
    cr_assert_eq(p.argc, 3);
    resp_parser_free(&p);
}

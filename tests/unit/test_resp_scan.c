#include "core/resp_scan.h"

#include <criterion/criterion.h>
#include <string.h>

/* Scan s in one go; returns the reply length or -1/0. */
static long
scan_all(const char *s, size_t len)
{
    struct resp_scan sc;
    resp_scan_init(&sc);
    int rc = resp_scan_next(&sc, s, len);
    return rc == 1 ? (long)sc.pos : rc;
}

static long
scan_str(const char *s)
{
    return scan_all(s, strlen(s));
}

static void
expect_whole(const char *s)
{
    cr_assert_eq(scan_all(s, strlen(s)), (long)strlen(s), "reply %s", s);
}

Test(resp_scan, simple_types_end_at_their_line)
{
    expect_whole("+OK\r\n");
    expect_whole("-ERR wrong\r\n");
    expect_whole(":42\r\n");
    expect_whole("_\r\n");
    expect_whole(",3.14\r\n");
    expect_whole("#t\r\n");
    expect_whole("(123456789012345678901234567890\r\n");
}

Test(resp_scan, bulk_and_null_bulk)
{
    expect_whole("$5\r\nhello\r\n");
    expect_whole("$0\r\n\r\n");
    expect_whole("$-1\r\n");
    expect_whole("=8\r\ntxt:abcd\r\n");
    /* a bulk may contain CRLF */
    expect_whole("$4\r\n\r\n\r\n\r\n");
}

Test(resp_scan, aggregates_nest)
{
    expect_whole("*2\r\n$1\r\na\r\n*2\r\n:1\r\n*0\r\n");
    expect_whole("*-1\r\n");
    expect_whole("%2\r\n+a\r\n:1\r\n+b\r\n*1\r\n$1\r\nx\r\n");
    expect_whole("~2\r\n+x\r\n+y\r\n");
    expect_whole(">2\r\n+message\r\n$1\r\nz\r\n");
}

Test(resp_scan, attribute_annotates_the_next_element)
{
    /* |1 key value, then the real reply (an integer) */
    expect_whole("|1\r\n+ttl\r\n:10\r\n:7\r\n");
    expect_whole("*1\r\n|1\r\n+a\r\n+b\r\n:1\r\n");
}

Test(resp_scan, stops_at_the_first_reply_of_a_pipeline)
{
    const char *two = "+OK\r\n$3\r\nbar\r\n";
    cr_assert_eq(scan_all(two, strlen(two)), 5);
}

Test(resp_scan, incomplete_replies_ask_for_more_at_every_split)
{
    const char *r = "*3\r\n$5\r\nhello\r\n%1\r\n+k\r\n:1\r\n*-1\r\n";
    size_t len = strlen(r);
    for (size_t cut = 0; cut < len; cut++) {
        cr_assert_eq(scan_all(r, cut), 0, "cut at %zu", cut);
    }
    cr_assert_eq(scan_all(r, len), (long)len);
}

Test(resp_scan, resumes_where_it_stopped)
{
    const char *r = "*2\r\n$3\r\nabc\r\n$4\r\ndefg\r\n";
    size_t len = strlen(r);
    struct resp_scan sc;
    resp_scan_init(&sc);
    for (size_t n = 1; n < len; n++) {
        cr_assert_eq(resp_scan_next(&sc, r, n), 0);
    }
    cr_assert_eq(resp_scan_next(&sc, r, len), 1);
    cr_assert_eq(sc.pos, len);
    cr_assert_eq(sc.type, '*');
}

Test(resp_scan, rejects_garbage)
{
    cr_assert_eq(scan_all("?x\r\n", 4), -1);
    cr_assert_eq(scan_all("$abc\r\n", 6), -1);
    cr_assert_eq(scan_all("*-2\r\n", 5), -1);
    cr_assert_eq(scan_all("+OK\rX\r\n", 7), -1);
}

/* Count lines ("$3", "*2") are read in one pass when their digits are
 * plain; every other form must still be judged as the general path does. */
Test(resp_scan, count_lines_read_in_one_pass_or_judged_as_before)
{
    expect_whole("$10\r\n0123456789\r\n");
    expect_whole("*0\r\n");
    expect_whole("$0\r\n\r\n");
    /* 18 digits: the longest the one-pass reader takes */
    cr_assert_eq(scan_str("$999999999999999999\r\nx"), 0);
    /* 19 digits and more go through util_str2ll */
    cr_assert_eq(scan_str("$1000000000000000000\r\nx"), 0);
    cr_assert_eq(scan_str("*99999999999999999999\r\n"), -1);
    /* a leading zero, a sign, a space: errors, as before */
    cr_assert_eq(scan_str("$03\r\nabc\r\n"), -1);
    cr_assert_eq(scan_str("$+3\r\nabc\r\n"), -1);
    cr_assert_eq(scan_str("*1 \r\n:1\r\n"), -1);
    /* a CR not followed by LF is an error; one at the end waits */
    cr_assert_eq(scan_str("$3\rXabc\r\n"), -1);
    cr_assert_eq(scan_str("$3\r"), 0);
    cr_assert_eq(scan_str("$3"), 0);
    /* a count line inside an aggregate, cut after each byte */
    const char *r = "*2\r\n$12\r\nhello world!\r\n*1\r\n$0\r\n\r\n";
    size_t len = strlen(r);
    for (size_t cut = 0; cut < len; cut++) {
        cr_assert_eq(scan_all(r, cut), 0, "cut at %zu", cut);
    }
    cr_assert_eq(scan_all(r, len), (long)len);
}

/* Status and integer lines look for their CR by hand for 24 bytes, then
 * with memchr: both ways judge a line alike. */
Test(resp_scan, short_and_long_status_lines_end_alike)
{
    expect_whole("+OK\r\n");
    expect_whole(":0\r\n");
    expect_whole("+0123456789012345678901\r\n");        /* CR at 23 */
    expect_whole("+01234567890123456789012\r\n");       /* CR at 24 */
    expect_whole("+0123456789012345678901234567890123456789\r\n");
    expect_whole("*2\r\n:1\r\n+a much longer status line than 24 bytes\r\n");
    cr_assert_eq(scan_str("+OK\r"), 0);
    cr_assert_eq(scan_str("+OK"), 0);
    cr_assert_eq(scan_str("+0123456789012345678901234567"), 0);
    cr_assert_eq(scan_str("+OK\rX\r\n"), -1);
    cr_assert_eq(scan_str(":12\r:"), -1);
    cr_assert_eq(scan_str("+01234567890123456789012345\rX"), -1);
    /* a CR as the first byte is no type: an error, not a wait */
    cr_assert_eq(scan_str("\r\n+OK"), -1);
    cr_assert_eq(scan_str("\rXYZ"), -1);
}

/* A lone bulk string or short status line is found without the general
 * loop: every cut of it must still wait, and what follows it is not read. */
Test(resp_scan, lone_bulk_and_status_replies_wait_when_cut)
{
    const char *replies[] = {"$5\r\nhello\r\n", "$0\r\n\r\n", "+OK\r\n",
                             "+0123456789abcdefghij\r\n", "$-1\r\n"};
    for (size_t k = 0; k < sizeof(replies) / sizeof(replies[0]); k++) {
        size_t len = strlen(replies[k]);
        for (size_t cut = 0; cut < len; cut++) {
            cr_assert_eq(scan_all(replies[k], cut), 0, "%s cut at %zu", replies[k], cut);
        }
        cr_assert_eq(scan_all(replies[k], len), (long)len, "%s", replies[k]);
    }
    cr_assert_eq(scan_str("$1\r\na\r\n+OK\r\n"), 7);
    cr_assert_eq(scan_str("+OK\r\n$1\r\na\r\n"), 5);
    cr_assert_eq(scan_str("+OK\rX\r\n"), -1);
    cr_assert_eq(scan_str("$3\r\nab"), 0);
}

/* A node may nest as deep as it likes (a Lua script returning a table
 * that holds itself comes back nested to Lua's stack limit): the scanner
 * keeps one count, so any depth is found whole, cut anywhere. */
Test(resp_scan, any_depth)
{
    enum { DEPTH = 5000 };
    static char deep[DEPTH * 8 + 16];
    size_t n = 0;
    for (int i = 0; i < DEPTH; i++) {
        memcpy(deep + n, i % 2 ? "*1\r\n" : "%1\r\n", 4);
        n += 4;
        if (i % 2 == 0) {
            memcpy(deep + n, ":7\r\n", 4); /* the map's key */
            n += 4;
        }
    }
    memcpy(deep + n, ":1\r\n+OK\r\n", 9);
    size_t whole = n + 4;
    cr_assert_eq(scan_all(deep, n + 9), (long)whole);
    for (size_t cut = 0; cut < whole; cut += 7) {
        cr_assert_eq(scan_all(deep, cut), 0, "cut at %zu", cut);
    }
}

/* Regression (issue 9, UBSan): a map or attribute header whose count
 * doubled overflows a long long, as a backend could send it. */
Test(resp_scan, huge_map_count_is_an_error_not_an_overflow)
{
    cr_assert_eq(scan_all("%9223372036854775807\r\n", 22), -1);
    cr_assert_eq(scan_all("|4611686018427387904\r\n", 22), -1);
    cr_assert_eq(scan_all("*1\r\n%4611686018427387904\r\n", 26), -1);
    /* the largest map whose element count fits is only incomplete */
    cr_assert_eq(scan_all("%4611686018427387903\r\n", 22), 0);
}

/* resp_scan_init clears only the scanner's scalars (it runs once per proxied
 * reply): a scanner reused after a nested reply, after an error and after a
 * half-scanned reply must scan the next reply as a fresh one would. */
Test(resp_scan, reinit_reuses_a_scanner_as_new)
{
    struct resp_scan sc;
    const char *nested = "*2\r\n*3\r\n:1\r\n:2\r\n|1\r\n+a\r\n+b\r\n:3\r\n$1\r\nx\r\n";
    const char *flat = "*1\r\n:7\r\n";
    memset(&sc, 0x5a, sizeof(sc)); /* garbage, as on the stack */
    resp_scan_init(&sc);
    cr_assert_eq(resp_scan_next(&sc, nested, strlen(nested)), 1);
    cr_assert_eq(sc.pos, strlen(nested));
    resp_scan_init(&sc);
    cr_assert_eq(resp_scan_next(&sc, flat, strlen(flat)), 1);
    cr_assert_eq(sc.pos, strlen(flat));
    cr_assert_eq(sc.type, '*');

    resp_scan_init(&sc);
    cr_assert_eq(resp_scan_next(&sc, "?x\r\n", 4), -1);
    resp_scan_init(&sc);
    cr_assert_eq(resp_scan_next(&sc, ":5\r\n", 4), 1, "the error does not stick past init");

    resp_scan_init(&sc);
    cr_assert_eq(resp_scan_next(&sc, "*3\r\n:1\r\n", 8), 0);
    resp_scan_init(&sc);
    cr_assert_eq(resp_scan_next(&sc, "+OK\r\n", 5), 1, "no aggregate left open");
    cr_assert_eq(sc.pos, 5);
}

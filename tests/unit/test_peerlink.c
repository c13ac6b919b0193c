/* The reply decoder of the proxy's control links (src/proxy/peerlink.c):
 * peers' answers and node replies become a small tree; malformed or
 * hostile bytes are refused without reading past the reply or allocating
 * what the count announces. */
#include "proxy/peerlink.h"

#include <criterion/criterion.h>
#include <string.h>

static size_t
decode(const char *s, struct peerlink_reply *r)
{
    return peerlink_decode(s, strlen(s), r, 0);
}

Test(peerlink, decodes_a_vote_answer)
{
    static const char in[] = "*3\r\n:1\r\n$3\r\nabc\r\n:7\r\n";
    struct peerlink_reply r;
    cr_assert_eq(decode(in, &r), sizeof(in) - 1);
    cr_assert_eq(r.type, '*');
    cr_assert_eq(r.elements, 3);
    cr_assert_eq(r.element[0].integer, 1);
    cr_assert_eq(r.element[1].len, 3);
    cr_assert(memcmp(r.element[1].str, "abc", 3) == 0);
    cr_assert_eq(r.element[2].integer, 7);
    peerlink_reply_free(&r);
    cr_assert_null(r.element);
}

Test(peerlink, decodes_status_error_and_nil)
{
    struct peerlink_reply r;
    cr_assert_eq(decode("+OK\r\n", &r), 5);
    cr_assert_eq(r.type, '+');
    cr_assert_eq(r.len, 2);
    cr_assert_eq(decode("-NOPERM no\r\n", &r), 12);
    cr_assert_eq(r.type, '-');
    cr_assert_eq(decode("$-1\r\n", &r), 5);
    cr_assert_eq(r.type, '_');
    cr_assert_eq(decode("*-1\r\n", &r), 5);
    cr_assert_eq(r.type, '_');
}

Test(peerlink, refuses_a_bulk_longer_than_the_bytes)
{
    struct peerlink_reply r;
    cr_assert_eq(decode("$10\r\nabc\r\n", &r), 0);
    cr_assert_eq(decode("$3\r\nabc", &r), 0);
}

Test(peerlink, refuses_an_array_count_beyond_the_bytes_without_allocating)
{
    struct peerlink_reply r;
    cr_assert_eq(decode("*1000000000000\r\n:1\r\n", &r), 0);
    cr_assert_null(r.element);
}

Test(peerlink, refuses_nesting_deeper_than_its_limit)
{
    char in[256] = "";
    for (int i = 0; i < 20; i++) {
        strcat(in, "*1\r\n");
    }
    strcat(in, ":1\r\n");
    struct peerlink_reply r;
    cr_assert_eq(decode(in, &r), 0);
    cr_assert_null(r.element);
}

Test(peerlink, refuses_a_bad_integer)
{
    struct peerlink_reply r;
    cr_assert_eq(decode(":12x\r\n", &r), 0);
    cr_assert_eq(decode("*2\r\n:1\r\n:y\r\n", &r), 0);
    cr_assert_null(r.element);
}

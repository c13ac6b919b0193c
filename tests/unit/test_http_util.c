#include "core/http_util.h"

#include <criterion/criterion.h>
#include <string.h>

Test(http_util, decode_is_binary_safe)
{
    char out[16];
    long n = http_util_decode("a%00b%41+c", 10, out);
    cr_assert_eq(n, 6);
    cr_assert(memcmp(out, "a\0bA c", 6) == 0);
    cr_assert_eq(http_util_decode("a%00b%41+c", 10, NULL), n);
}

Test(http_util, decode_rejects_malformed_escapes)
{
    char out[8];
    cr_assert_eq(http_util_decode("%zz", 3, out), -1);
    cr_assert_eq(http_util_decode("ab%4", 4, out), -1);
    cr_assert_eq(http_util_decode("%", 1, out), -1);
}

Test(http_util, query_count_skips_empty_pairs_and_checks_escapes)
{
    cr_assert_eq(http_util_query_count(NULL), 0);
    cr_assert_eq(http_util_query_count("a=1&&b=2"), 2);
    cr_assert_eq(http_util_query_count("a=%zz"), -1);
}

Test(http_util, query_arg_finds_the_first_match)
{
    struct http_util_arg a;
    cr_assert_eq(http_util_query_arg("key=k%001&key=second&value=v", "key", &a), 0);
    cr_assert(a.present);
    cr_assert_eq(a.len, 3);
    cr_assert(memcmp(a.val, "k\0" "1", 3) == 0);
    http_util_arg_free(&a);
    cr_assert_eq(http_util_query_arg("value=v", "key", &a), 0);
    cr_assert(!a.present);
    http_util_arg_free(&a);
    cr_assert_eq(http_util_query_arg("key=%g1", "key", &a), -1);
}

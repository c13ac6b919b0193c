/* Unit tests for core/util: strict integer parsing (Redis's string2ll rules),
 * INCRBYFLOAT-style long double formatting, memory units, glob matching and
 * the keyed hash. */
#include "core/util.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- util_str2ll -------------------------------------------------------- */

static int
str2ll(const char *s, long long *out)
{
    return util_str2ll(s, strlen(s), out);
}

Test(util, ll2str_matches_snprintf_at_every_digit_count)
{
    char buf[24], want[24];
    long long vals[] = {0, 9, 10, 99, 100, 999, 1000, 12345, 99999, 100000,
                        1234567890123LL, -1, -10, -99, -100, LLONG_MAX, LLONG_MIN};
    for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
        size_t n = util_ll2str(buf, vals[i]);
        snprintf(want, sizeof(want), "%lld", vals[i]);
        cr_assert_str_eq(buf, want);
        cr_assert_eq(n, strlen(want));
    }
    for (unsigned long long p = 1; p != 0 && p < ULLONG_MAX / 10; p *= 10) {
        unsigned long long us[] = {p - 1, p, p + 1, p * 10 - 1};
        for (size_t k = 0; k < 4; k++) {
            size_t n = util_ull2str(buf, us[k]);
            snprintf(want, sizeof(want), "%llu", us[k]);
            cr_assert_str_eq(buf, want);
            cr_assert_eq(n, strlen(want));
        }
    }
    /* The digit count comes from the bit length: every power of two and
     * its neighbours, and the 20-digit edge. */
    for (int k = 0; k < 64; k++) {
        unsigned long long us[] = {(1ULL << k) - 1, 1ULL << k, (1ULL << k) + 1,
                                   10000000000000000000ULL - 1, 10000000000000000000ULL};
        for (size_t j = 0; j < 5; j++) {
            size_t n = util_ull2str(buf, us[j]);
            snprintf(want, sizeof(want), "%llu", us[j]);
            cr_assert_str_eq(buf, want);
            cr_assert_eq(n, strlen(want));
        }
    }
    util_ull2str(buf, ULLONG_MAX);
    cr_assert_str_eq(buf, "18446744073709551615");
}

Test(util, clock_ms_follows_the_wall_clock)
{
    struct util_clock clk = {0};
    long long before = util_mstime();
    long long ms = util_clock_ms(&clk, util_monotonic_us());
    long long after = util_mstime();
    cr_assert(ms >= before && ms <= after, "%lld not in [%lld, %lld]", ms, before, after);
    /* Within the millisecond the anchor holds: the monotonic time carries
     * it forward. */
    long long anchor = clk.real_us;
    cr_assert_eq(util_clock_ms(&clk, clk.mono_us + 999), (anchor + 999) / 1000);
    cr_assert_eq(clk.real_us, anchor);
    /* A reading a millisecond on, or one that went back, takes a new one. */
    long long mono = clk.mono_us;
    long long later = util_clock_ms(&clk, mono + 5000);
    cr_assert_eq(clk.mono_us, mono + 5000);
    util_clock_ms(&clk, mono);
    cr_assert_eq(clk.mono_us, mono);
    cr_assert(later >= before && later <= util_mstime() + 1);
}

Test(util, str2ll_parses_plain_integers)
{
    long long v = 123;
    cr_assert_eq(str2ll("0", &v), 0);
    cr_assert_eq(v, 0);
    cr_assert_eq(str2ll("7", &v), 0);
    cr_assert_eq(v, 7);
    cr_assert_eq(str2ll("-42", &v), 0);
    cr_assert_eq(v, -42);
    cr_assert_eq(str2ll("1000000", &v), 0);
    cr_assert_eq(v, 1000000);
}

Test(util, str2ll_accepts_llong_min_and_max)
{
    long long v = 0;
    cr_assert_eq(str2ll("9223372036854775807", &v), 0);
    cr_assert_eq(v, LLONG_MAX);
    cr_assert_eq(str2ll("-9223372036854775808", &v), 0);
    cr_assert_eq(v, LLONG_MIN);
}

Test(util, str2ll_rejects_overflow)
{
    long long v = 5;
    cr_assert_eq(str2ll("9223372036854775808", &v), -1);
    cr_assert_eq(str2ll("-9223372036854775809", &v), -1);
    cr_assert_eq(str2ll("18446744073709551615", &v), -1);
    cr_assert_eq(str2ll("18446744073709551616", &v), -1);
    cr_assert_eq(str2ll("99999999999999999999", &v), -1);
    cr_assert_eq(str2ll("-99999999999999999999", &v), -1);
    cr_assert_eq(v, 5, "a failed parse must not write the result");
}

Test(util, str2ll_rejects_leading_zeros_plus_and_spaces)
{
    long long v;
    const char *bad[] = {"", "-", "+1", "01", "00", "-0", "-01", " 1", "1 ",
                         "\t1", "1\n", "1a", "a1", "1.0", "1e3", "0x10", "--1",
                         "000000000000000000001"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cr_assert_eq(str2ll(bad[i], &v), -1, "accepted \"%s\"", bad[i]);
    }
}

Test(util, str2ll_uses_len_not_nul)
{
    long long v = 0;
    cr_assert_eq(util_str2ll("12345", 2, &v), 0);
    cr_assert_eq(v, 12);
    cr_assert_eq(util_str2ll("1\0" "2", 3, &v), -1);
}

/* ---- util_ld2str -------------------------------------------------------- */

/* What INCRBYFLOAT replies for "SET k <a>; INCRBYFLOAT k <b>": both parsed as
 * long doubles, added, formatted. */
static void
assert_incrbyfloat(const char *a, const char *b, const char *want)
{
    long double x, y;
    char buf[5 * 1024];
    size_t n;

    cr_assert_eq(util_str2ld(a, strlen(a), &x), 0, "parse %s", a);
    cr_assert_eq(util_str2ld(b, strlen(b), &y), 0, "parse %s", b);
    n = util_ld2str(buf, sizeof(buf), x + y);
    cr_assert_str_eq(buf, want, "%s + %s", a, b);
    cr_assert_eq(n, strlen(want));
}

/* Expected strings are redis-server 7.0.15's INCRBYFLOAT replies. */
Test(util, ld2str_formats_like_incrbyfloat)
{
    assert_incrbyfloat("10.5", "0.1", "10.6");
    assert_incrbyfloat("5.0e3", "0", "5000");
    assert_incrbyfloat("3.0000000000000001", "0", "3.0000000000000001");
    assert_incrbyfloat("0", "1.5", "1.5");
    assert_incrbyfloat("1", "0.3", "1.3");
    assert_incrbyfloat("0.1", "0.2", "0.3");
    assert_incrbyfloat("-1.5", "0", "-1.5");
    assert_incrbyfloat("0", "1e-5", "0.00001");
    assert_incrbyfloat("100", "0.00000000000000001", "100.00000000000000001");
    assert_incrbyfloat("17179869184", "0.5", "17179869184.5");
    assert_incrbyfloat("1e20", "0", "100000000000000000000");
}

Test(util, ld2str_prints_negative_zero_as_zero)
{
    assert_incrbyfloat("10", "-10", "0");
    assert_incrbyfloat("-0.0", "0", "0");
}

Test(util, ld2str_prints_large_values_in_full)
{
    /* redis-server 7.0.15: SET f 1e70; INCRBYFLOAT f 0 */
    assert_incrbyfloat("1e70", "0",
                       "10000000000000000000222479489586148259025995410601157579323600873193472");
}

Test(util, ld2str_returns_0_when_buffer_too_small)
{
    /* Room is needed for the untrimmed %.17Lf form: 1.5 takes 19 bytes
     * before trimming, 1e20 takes 39. */
    char buf[32];
    cr_assert_eq(util_ld2str(buf, sizeof(buf), 1e20L), 0);
    cr_assert_eq(util_ld2str(buf, sizeof(buf), 1.5L), 3);
    cr_assert_str_eq(buf, "1.5");
}

Test(util, ld2str_prints_infinity)
{
    char buf[64];
    cr_assert_eq(util_ld2str(buf, sizeof(buf), 1.0L / 0.0L), 3);
    cr_assert_str_eq(buf, "inf");
    cr_assert_eq(util_ld2str(buf, sizeof(buf), -1.0L / 0.0L), 4);
    cr_assert_str_eq(buf, "-inf");
}

/* ---- util_d2str --------------------------------------------------------- */

/* util_d2str must print what %.17g prints (Redis 7.0's double replies),
 * including through its integer shortcut and at that shortcut's edges. */
static void
assert_d2str_is_17g(double d)
{
    char want[64], got[64];
    snprintf(want, sizeof(want), "%.17g", d);
    size_t n = util_d2str(got, sizeof(got), d);
    cr_assert_eq(n, strlen(want), "%s: length %zu", want, n);
    cr_assert(memcmp(got, want, n) == 0, "%.17g printed as %.*s", d, (int)n, got);
}

Test(util, d2str_prints_like_percent_17g)
{
    static const double values[] = {
        0.0, -0.0, 1.0, -1.0, 7.0, 10.0, 99999.0, 123456789.0, -123456789.0,
        1e15 - 1, -(1e15 - 1), 1e15, -1e15, 1e15 + 1, 1e16, 1e17, 1e20,
        0.5, -0.5, 1.5, 0.1, 3.14159, 1e-300, 2.5e-5, 123456789012345.5,
        9007199254740993.0, 4503599627370495.5,
    };
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        assert_d2str_is_17g(values[i]);
    }
    for (long long k = -100000; k <= 100000; k += 7) {
        assert_d2str_is_17g((double)k);
        assert_d2str_is_17g((double)k / 4);
    }
}

/* ---- util_str2ld / util_str2d ------------------------------------------- */

/* A number of len bytes: zeros, then "1" (it parses as 1 at any length). */
static char *
padded_one(size_t len)
{
    char *s = malloc(len + 1);
    memset(s, '0', len - 1);
    s[len - 1] = '1';
    s[len] = '\0';
    return s;
}

Test(util, str2ld_rejects_spaces_nan_and_overflow)
{
    static const char *const bad[] = {"", " 1", "1 ", "1x", "nan",
                                      "1e5000", "1e-5000"};
    long double v;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cr_assert_eq(util_str2ld(bad[i], strlen(bad[i]), &v), -1, "accepted \"%s\"", bad[i]);
    }
    cr_assert_eq(util_str2ld("inf", 3, &v), 0);
    cr_assert_eq(util_str2ld("1.5", 2, &v), 0);
    cr_assert_eq(v, 1.0L, "read past len");
}

/* INCRBYFLOAT must read back what it wrote: 1e300 prints as 301 digits,
 * longer than the 256-byte buffer util_str2ld used to have. */
Test(util, str2ld_parses_long_values_it_printed)
{
    char buf[UTIL_LD_CHARS];
    long double v = 0;
    size_t n = util_ld2str(buf, sizeof(buf), 1e300L);
    cr_assert_gt(n, 256);
    cr_assert_eq(util_str2ld(buf, n, &v), 0);
    cr_assert_eq(v, 1e300L);
}

Test(util, str2ld_refuses_inputs_of_redis_max_long_double_chars)
{
    char *s = padded_one(UTIL_LD_CHARS);
    long double v = 0;
    cr_assert_eq(util_str2ld(s, UTIL_LD_CHARS - 1, &v), 0);
    cr_assert_eq(v, 0.0L, "the first %d bytes are zeros", UTIL_LD_CHARS - 1);
    cr_assert_eq(util_str2ld(s, UTIL_LD_CHARS, &v), -1);
    free(s);
    s = padded_one(UTIL_LD_CHARS - 1);
    cr_assert_eq(util_str2ld(s, UTIL_LD_CHARS - 1, &v), 0);
    cr_assert_eq(v, 1.0L);
    free(s);
}

/* Redis's string2d has no length limit (DBL_MAX written out takes 327
 * characters; Redis's unit/type/zset "zset score double range"): the
 * 256-byte bound this test used to pin refused it. */
Test(util, str2d_keeps_double_range_with_no_length_limit)
{
    char *s = padded_one(256);
    double d = 0;
    long double v = 0;
    cr_assert_eq(util_str2d("1e309", 5, &d), -1);
    cr_assert_eq(util_str2ld("1e309", 5, &v), 0);
    cr_assert_eq(util_str2d("0.25", 4, &d), 0);
    cr_assert_eq(d, 0.25);
    cr_assert_eq(util_str2d(s + 1, 255, &d), 0);
    cr_assert_eq(d, 1.0);
    d = 0;
    cr_assert_eq(util_str2d(s, 256, &d), 0);
    cr_assert_eq(d, 1.0);
    free(s);
}

/* Regression (issue 9 item 8): SET k "1.5\0" then INCRBYFLOAT k 1 gave 2.5,
 * because the parse stopped at the NUL of the copy and took it for the end. */
Test(util, str2ld_and_str2d_reject_an_embedded_nul)
{
    long double v = 0;
    double d = 0;
    cr_assert_eq(util_str2ld("1.5\0", 4, &v), -1);
    cr_assert_eq(util_str2ld("1\0" "5", 3, &v), -1);
    cr_assert_eq(util_str2d("1.5\0", 4, &d), -1);
    cr_assert_eq(util_str2d("\0", 1, &d), -1);
    cr_assert_eq(util_str2ld("1.5", 3, &v), 0);
    cr_assert_eq(v, 1.5L);
}

Test(util, str2ll_rejects_an_embedded_nul)
{
    long long v = 0;
    cr_assert_eq(util_str2ll("12\0", 3, &v), -1);
    cr_assert_eq(util_str2ll("1\0" "2", 3, &v), -1);
}

/* ---- util_memtoull ------------------------------------------------------ */

static unsigned long long
mem_ok(const char *s)
{
    unsigned long long v = 0;
    cr_assert_eq(util_memtoull(s, &v), 0, "rejected \"%s\"", s);
    return v;
}

Test(util, memtoull_units)
{
    cr_assert_eq(mem_ok("0"), 0);
    cr_assert_eq(mem_ok("100"), 100);
    cr_assert_eq(mem_ok("100b"), 100);
    cr_assert_eq(mem_ok("1k"), 1000);
    cr_assert_eq(mem_ok("1kb"), 1024);
    cr_assert_eq(mem_ok("1m"), 1000000);
    cr_assert_eq(mem_ok("1mb"), 1048576);
    cr_assert_eq(mem_ok("1g"), 1000000000ULL);
    cr_assert_eq(mem_ok("1gb"), 1073741824ULL);
    cr_assert_eq(mem_ok("100mb"), 100ULL * 1024 * 1024);
}

Test(util, memtoull_units_ignore_case)
{
    cr_assert_eq(mem_ok("1GB"), 1073741824ULL);
    cr_assert_eq(mem_ok("2Kb"), 2048);
    cr_assert_eq(mem_ok("3M"), 3000000);
}

Test(util, memtoull_rejects_bad_suffixes_and_numbers)
{
    unsigned long long v = 7;
    const char *bad[] = {"", "kb", "1t", "1tb", "1kbb", "1 kb", " 1", "1.5gb",
                         "-1", "-1kb", "1x", "abc", "1b2"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cr_assert_eq(util_memtoull(bad[i], &v), -1, "accepted \"%s\"", bad[i]);
    }
    cr_assert_eq(v, 7);
}

Test(util, memtoull_rejects_overflow)
{
    unsigned long long v;
    cr_assert_eq(util_memtoull("9223372036854775807", &v), 0);
    cr_assert_eq(v, 9223372036854775807ULL);
    cr_assert_eq(util_memtoull("9223372036854775807gb", &v), -1);
    cr_assert_eq(util_memtoull("99999999999999999999", &v), -1);
}

/* ---- util_glob_match ---------------------------------------------------- */

static int
glob(const char *pat, const char *str)
{
    return util_glob_match(pat, strlen(pat), str, strlen(str), 0);
}

static int
globi(const char *pat, const char *str)
{
    return util_glob_match(pat, strlen(pat), str, strlen(str), 1);
}

Test(util, glob_star)
{
    cr_assert(glob("*", ""));
    cr_assert(glob("*", "anything"));
    cr_assert(glob("key:*", "key:"));
    cr_assert(glob("key:*", "key:123"));
    cr_assert(glob("*:123", "key:123"));
    cr_assert(glob("k*y*3", "key:123"));
    cr_assert(glob("**a**", "bab"));
    cr_assert_not(glob("key:*", "kex:1"));
    cr_assert_not(glob("*x", "abc"));
    cr_assert(glob("", ""));
    cr_assert_not(glob("", "a"));
}

Test(util, glob_question_mark)
{
    cr_assert(glob("h?llo", "hello"));
    cr_assert(glob("h?llo", "hallo"));
    cr_assert_not(glob("h?llo", "hllo"));
    cr_assert_not(glob("?", ""));
    cr_assert(glob("??", "ab"));
}

Test(util, glob_character_classes)
{
    cr_assert(glob("h[ae]llo", "hello"));
    cr_assert(glob("h[ae]llo", "hallo"));
    cr_assert_not(glob("h[ae]llo", "hillo"));
    cr_assert(glob("[a-c]", "b"));
    cr_assert(glob("[a-c]", "a"));
    cr_assert(glob("[a-c]", "c"));
    cr_assert_not(glob("[a-c]", "d"));
    cr_assert(glob("[c-a]", "b"), "a reversed range still matches");
    cr_assert(glob("h[^e]llo", "hallo"));
    cr_assert_not(glob("h[^e]llo", "hello"));
    cr_assert_not(glob("[^a]", "a"));
    cr_assert(glob("[^a]", "b"));
    cr_assert(glob("x[a-c0-9]y", "x7y"));
}

Test(util, glob_escapes)
{
    cr_assert(glob("a\\*b", "a*b"));
    cr_assert_not(glob("a\\*b", "axb"));
    cr_assert(glob("a\\?b", "a?b"));
    cr_assert_not(glob("a\\?b", "axb"));
    cr_assert(glob("\\[x]", "[x]"));
    cr_assert(glob("[\\]]", "]"));
    cr_assert(glob("[\\-]", "-"));
    cr_assert(glob("a\\", "a\\"), "a trailing backslash is literal");
}

Test(util, glob_nocase)
{
    cr_assert(globi("HeLLo*", "hello world"));
    cr_assert_not(glob("HeLLo*", "hello world"));
    cr_assert(globi("[A-C]x", "bX"));
    cr_assert(globi("[^A]", "b"));
    cr_assert_not(globi("[^A]", "a"));
}

Test(util, glob_pathological_patterns_finish_fast)
{
    size_t n = 20000;
    char *str = malloc(n + 1);
    char pat[256];
    size_t k = 0;
    long long t0;

    memset(str, 'a', n);
    str[n] = '\0';
    for (int i = 0; i < 40; i++) {
        pat[k++] = 'a';
        pat[k++] = '*';
    }
    pat[k++] = 'b';
    pat[k] = '\0';
    t0 = util_monotonic_us();
    cr_assert_not(glob(pat, str));
    cr_assert_not(glob("*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b", str));
    cr_assert_not(glob("*[a-z]*[a-z]*[a-z]*[a-z]*[a-z]*[a-z]*?*?*?*?*?*?*b", str));
    cr_assert(glob("*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*", str));
    cr_assert_lt(util_monotonic_us() - t0, 1000000, "took %lld us",
                 util_monotonic_us() - t0);
    free(str);
}

/* ---- util_hash ---------------------------------------------------------- */

Test(util, hash_is_deterministic_for_a_fixed_seed)
{
    uint8_t seed[16];
    uint64_t h1, h2;
    const char *keys[] = {"", "a", "ab", "abc", "abcd", "key:1", "key:2",
                          "a key longer than sixteen bytes", "0123456789abcdef"};

    for (int i = 0; i < 16; i++) {
        seed[i] = (uint8_t)(i * 17 + 3);
    }
    util_hash_seed(seed);
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        h1 = util_hash(keys[i], strlen(keys[i]));
        h2 = util_hash(keys[i], strlen(keys[i]));
        cr_assert_eq(h1, h2, "key \"%s\"", keys[i]);
        for (size_t j = 0; j < i; j++) {
            cr_assert_neq(h1, util_hash(keys[j], strlen(keys[j])), "\"%s\" vs \"%s\"",
                          keys[i], keys[j]);
        }
    }
    /* Same seed set again: same values. */
    h1 = util_hash("key:1", 5);
    util_hash_seed(seed);
    cr_assert_eq(util_hash("key:1", 5), h1);
}

Test(util, hash_depends_on_seed)
{
    uint8_t a[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    uint8_t b[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 17};
    uint64_t ha, hb;

    util_hash_seed(a);
    ha = util_hash("key:1", 5);
    util_hash_seed(b);
    hb = util_hash("key:1", 5);
    cr_assert_neq(ha, hb);
}

Test(util, hash_reads_only_len_bytes)
{
    char x[32] = "abcdefghij-XXXXXXXXXXXXXXXX";
    char y[32] = "abcdefghij-YYYYYYYYYYYYYYYY";
    for (size_t len = 0; len <= 11; len++) {
        cr_assert_eq(util_hash(x, len), util_hash(y, len), "len %zu", len);
    }
    cr_assert_neq(util_hash(x, 12), util_hash(y, 12));
}

/* util_scan_cursor against libc's strtoul, which Redis uses: every input
 * strtoul takes whole (up to a NUL) with no leading space and no ERANGE
 * is accepted with strtoul's value, and nothing else. */
Test(util, scan_cursor_agrees_with_strtoul)
{
    static const char *const inputs[] = {
        "", "0", "7", "+0", "-0", "-1", "+", "-", "++1", "12x", "x12", " 1", "1 ",
        "\t1", "18446744073709551615", "18446744073709551616", "-18446744073709551615",
        "-18446744073709551616", "0000000000000000000000000000000000000000000000000001",
        "0x10", "1e3", "99999999999999999999999",
    };
    for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
        const char *s = inputs[i];
        char *end;
        errno = 0;
        unsigned long want = strtoul(s, &end, 10);
        int ok = !(s[0] == ' ' || (s[0] >= '\t' && s[0] <= '\r')) && *end == '\0'
                 && errno != ERANGE;
        unsigned long got = 12345;
        int rc = util_scan_cursor(s, strlen(s), &got);
        cr_expect_eq(rc, ok ? 0 : -1, "\"%s\": %d, strtoul says %s", s, rc, ok ? "ok" : "no");
        if (ok) {
            cr_expect_eq(got, want, "\"%s\": %lu, strtoul %lu", s, got, want);
        }
    }
    /* A NUL ends the cursor, as it ends Redis's C string. */
    unsigned long got;
    cr_expect_eq(util_scan_cursor("5\0junk", 6, &got), 0);
    cr_expect_eq(got, 5);
    cr_expect_eq(util_scan_cursor("\0", 1, &got), 0);
    cr_expect_eq(got, 0);
}

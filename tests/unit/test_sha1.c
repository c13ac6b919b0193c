#include "core/sha1.h"

#include <criterion/criterion.h>
#include <string.h>

/* Digests from sha1sum and FIPS 180's examples; the script names EVALSHA
 * looks up must be these exactly. */
static void
expect(const char *s, size_t len, const char *want)
{
    char out[41];
    sha1_hex(s, len, out);
    cr_assert_str_eq(out, want);
}

Test(sha1, empty_input)
{
    expect("", 0, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
}

Test(sha1, fips_examples)
{
    expect("abc", 3, "a9993e364706816aba3e25717850c26c9cd0d89d");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    expect(two, strlen(two), "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
}

Test(sha1, lengths_around_the_padding_boundary)
{
    /* 55, 56 and 64 bytes: the length fits in the last block or needs
     * another one. */
    char buf[1000];
    memset(buf, 'a', sizeof(buf));
    expect(buf, 55, "c1c8bbdc22796e28c0e15163d20899b65621d65a");
    expect(buf, 56, "c2db330f6083854c99d4b5bfb6e8f29f201be699");
    expect(buf, 64, "0098ba824b5c16427bd7a1122a5a442a25ec644d");
    expect(buf, 1000, "291e9a6c66994949b57ba5e650361e98fc36b1ba");
}

Test(sha1, a_script_name_as_redis_computes_it)
{
    const char *s = "return redis.call('incr','x')";
    expect(s, strlen(s), "ae3477e27be955de7e1bc9adfdca626b478d3cb2");
}

/* The ACL rule parser and the text it prints (core/acl.c), command
 * categories, SHA-256 (core/sha256.c, which keeps the passwords) and
 * protected-mode's decision. */
#include "core/acl.h"
#include "core/alloc.h"
#include "core/command.h"
#include "core/sha256.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <string.h>

static void
setup(void)
{
    command_setup();
}

static void
teardown(void)
{
    command_teardown();
}

TestSuite(acl, .init = setup, .fini = teardown);

/* The ACL LIST text of a user "fuzz" made by rules, or NULL if refused. */
static char *
describe(const char *rules)
{
    return acl_describe_rules(rules, strlen(rules));
}

static void
expect_text(const char *rules, const char *want)
{
    char *got = describe(rules);
    cr_assert_not_null(got, "refused: %s", rules);
    cr_assert_str_eq(got, want, "rules: %s", rules);
    mem_free(got);
}

Test(acl, a_new_user_is_off_with_nothing_allowed)
{
    expect_text("", "fuzz off resetchannels -@all");
}

Test(acl, keeps_only_the_sha256_of_a_password)
{
    expect_text("on >hello",
                "fuzz on #2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824 "
                "resetchannels -@all");
    expect_text("on >hello <hello", "fuzz on resetchannels -@all");
}

Test(acl, prints_key_patterns_with_their_permissions)
{
    expect_text("~k* %R~r* %W~w* %RW~b", "fuzz off ~k* %R~r* %W~w* ~b resetchannels -@all");
    expect_text("~a allkeys", "fuzz off ~* resetchannels -@all");
}

Test(acl, fits_categories_then_single_commands)
{
    expect_text("+@hash -hset", "fuzz off resetchannels -@all +@hash -hset");
    expect_text("+@all -debug", "fuzz off resetchannels +@all -debug");
    expect_text("+config|get", "fuzz off resetchannels -@all +config|get");
}

Test(acl, prints_selectors_in_parentheses)
{
    expect_text("+get ~a* (+set ~b*)",
                "fuzz off ~a* resetchannels -@all +get (~b* resetchannels -@all +set)");
    expect_text("(+set ~b*) clearselectors", "fuzz off resetchannels -@all");
}

Test(acl, refuses_bad_rules)
{
    static const char *const bad[] = {
        "+nosuch", "+@nosuch", "#abc", "!00", "<notapassword", "allkeys ~a",
        "allchannels &a", "%X~a", "foo", "+config|nosuch", "(+get ~a))",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *got = describe(bad[i]);
        cr_expect_null(got, "accepted: %s -> %s", bad[i], got ? got : "");
        mem_free(got);
    }
}

Test(acl, description_reads_back_to_itself)
{
    static const char *const rules[] = {
        "on >a >b ~x %R~y &c* +@read -get (+set ~z) (-@all +ping)",
        "on nopass allkeys allchannels allcommands -@dangerous +info",
        "reset on +@string -@write +get|x",
    };
    for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
        char *first = describe(rules[i]);
        if (first == NULL) {
            continue; /* "+get|x": GET has no subcommands, refused */
        }
        char *second = describe(first + strlen("fuzz "));
        cr_assert_not_null(second, "refused its own text: %s", first);
        cr_expect_str_eq(first, second);
        mem_free(first);
        mem_free(second);
    }
}

Test(acl, categories_match_redis_for_common_commands)
{
    uint32_t get = acl_command_categories(command_lookup("get", 3));
    cr_expect_eq(get, (1u << ACL_CAT_BIT_READ) | (1u << ACL_CAT_BIT_STRING)
                          | (1u << ACL_CAT_BIT_FAST));
    uint32_t flushall = acl_command_categories(command_lookup("flushall", 8));
    cr_expect(flushall & (1u << ACL_CAT_BIT_DANGEROUS));
    cr_expect(flushall & (1u << ACL_CAT_BIT_KEYSPACE));
    uint32_t wait = acl_command_categories(command_lookup("wait", 4));
    cr_expect(wait & (1u << ACL_CAT_BIT_CONNECTION));
    cr_expect(!(wait & (1u << ACL_CAT_BIT_KEYSPACE)));
}

Test(acl, sha256_matches_the_standard_vectors)
{
    char out[65];
    sha256_hex("", 0, out);
    cr_expect_str_eq(out, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    sha256_hex("abc", 3, out);
    cr_expect_str_eq(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    /* 56 bytes: the padding needs a second block */
    sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, out);
    cr_expect_str_eq(out, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

/* protected-mode's decision (the integration suite test_proxy_acl.py also
 * connects from a real non-loopback address in a network namespace). */
static int
refuses(int on, int nopass, int family, const char *ip)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    if (family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)&ss;
        in->sin_family = AF_INET;
        inet_pton(AF_INET, ip, &in->sin_addr);
    } else if (family == AF_INET6) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
        in6->sin6_family = AF_INET6;
        inet_pton(AF_INET6, ip, &in6->sin6_addr);
    } else {
        ss.ss_family = AF_UNIX;
    }
    return acl_protected_refuses(on, nopass, (struct sockaddr *)&ss);
}

Test(acl, protected_mode_refuses_only_non_loopback_peers_without_password)
{
    cr_expect(refuses(1, 1, AF_INET, "10.1.2.3"));
    cr_expect(refuses(1, 1, AF_INET, "192.168.0.1"));
    cr_expect(refuses(1, 1, AF_INET6, "fe80::1"));
    cr_expect(refuses(1, 1, AF_INET6, "::ffff:10.0.0.1"));
    cr_expect(!refuses(1, 1, AF_INET, "127.0.0.1"));
    cr_expect(!refuses(1, 1, AF_INET, "127.4.5.6"));
    cr_expect(!refuses(1, 1, AF_INET6, "::1"));
    cr_expect(!refuses(1, 1, AF_INET6, "::ffff:127.0.0.1"));
    cr_expect(!refuses(1, 1, AF_UNIX, NULL));
    cr_expect(!refuses(0, 1, AF_INET, "10.1.2.3"));  /* protected-mode no */
    cr_expect(!refuses(1, 0, AF_INET, "10.1.2.3"));  /* default has a password */
    cr_expect(acl_protected_refuses(1, 1, NULL));
    cr_expect(strncmp(acl_protected_mode_denied, "-DENIED Redis is running in protected mode",
                      42) == 0);
}

#include "core/slot.h"

#include <criterion/criterion.h>
#include <string.h>

/* Expected values read from a real redis-server 7.0 with cluster-enabled
 * (CLUSTER KEYSLOT), so our slots match Redis Cluster's exactly. */
static void
expect_slot(const char *key, unsigned want)
{
    cr_assert_eq(slot_of_key(key, strlen(key)), want, "slot of '%s'", key);
}

Test(slot, crc16_matches_the_xmodem_check_value)
{
    cr_assert_eq(slot_crc16("123456789", 9), 0x31C3);
}

Test(slot, plain_keys_hash_whole)
{
    expect_slot("foo", 12182);
    expect_slot("bar", 5061);
    expect_slot("hello", 866);
    expect_slot("somekey", 11058);
    expect_slot("123456789", 12739);
    expect_slot("", 0);
}

Test(slot, hash_tags_pick_the_first_braced_part)
{
    expect_slot("{user1000}.following", 3443);
    expect_slot("{user1000}.followers", 3443);
    expect_slot("foo{bar}{zap}", 5061);
    expect_slot("foo{{bar}}zap", 4015);
}

Test(slot, empty_or_unclosed_tags_hash_the_whole_key)
{
    expect_slot("foo{}{bar}", 8363);
    expect_slot("{}", 15257);
    expect_slot("a{b", 13340);
    expect_slot("x}y{z}", 8157);
}

Test(slot, binary_keys_are_hashed_by_length)
{
    char key[3] = {'a', '\0', 'b'};
    cr_assert_neq(slot_of_key(key, 3), slot_of_key(key, 1));
}

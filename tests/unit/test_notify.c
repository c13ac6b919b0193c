/* The notify-keyspace-events letters: parsing, Redis 7.0's canonical text
 * for CONFIG GET, and the rejection of unknown letters. */
#include <criterion/criterion.h>

#include "node/notify.h"

Test(notify, parses_every_class_letter)
{
    cr_assert_eq(notify_parse_classes("KEg$lshzxetmdn"),
                 NOTIFY_KEYSPACE | NOTIFY_KEYEVENT | NOTIFY_ALL | NOTIFY_KEY_MISS
                     | NOTIFY_NEW);
    cr_assert_eq(notify_parse_classes(""), 0);
}

Test(notify, a_is_every_type_but_new_and_keymiss)
{
    int a = notify_parse_classes("A");
    cr_assert_eq(a, NOTIFY_ALL);
    cr_assert_eq(a & (NOTIFY_NEW | NOTIFY_KEY_MISS), 0);
    cr_assert_eq(a & (NOTIFY_KEYSPACE | NOTIFY_KEYEVENT), 0);
}

Test(notify, rejects_an_unknown_letter)
{
    cr_assert_eq(notify_parse_classes("KEX"), -1);
    cr_assert_eq(notify_parse_classes("a"), -1);
}

Test(notify, formats_as_redis_config_get_does)
{
    char buf[32];
    notify_format_classes(notify_parse_classes("KEA"), buf, sizeof(buf));
    cr_assert_str_eq(buf, "AKE");
    /* 7.0 drops n after A. */
    notify_format_classes(notify_parse_classes("AKEmn"), buf, sizeof(buf));
    cr_assert_str_eq(buf, "AKEm");
    notify_format_classes(notify_parse_classes("Eglshzxetd$"), buf, sizeof(buf));
    cr_assert_str_eq(buf, "AE");
    notify_format_classes(notify_parse_classes("$gKn"), buf, sizeof(buf));
    cr_assert_str_eq(buf, "g$nK");
    notify_format_classes(0, buf, sizeof(buf));
    cr_assert_str_eq(buf, "");
}

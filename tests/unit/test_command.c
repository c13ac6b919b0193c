/* The command table: naming invariants, lookup, arity and key positions. */
#include "core/command.h"

#include <criterion/criterion.h>
#include <ctype.h>
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

TestSuite(command, .init = setup, .fini = teardown);

static int
all_lower(const char *s)
{
    for (; *s; s++) {
        if (*s >= 'A' && *s <= 'Z') {
            return 0;
        }
    }
    return 1;
}

Test(command, every_name_is_lower_case)
{
    for (int id = 0; id < CMD_ID__COUNT; id++) {
        const struct command *c = command_get((enum cmd_id)id);
        cr_assert(all_lower(c->name), "%s is not lower case", c->name);
        cr_assert(all_lower(c->fullname), "%s is not lower case", c->fullname);
    }
}

Test(command, full_names_are_unique)
{
    for (int a = 0; a < CMD_ID__COUNT; a++) {
        for (int b = a + 1; b < CMD_ID__COUNT; b++) {
            cr_assert_str_neq(command_get((enum cmd_id)a)->fullname,
                              command_get((enum cmd_id)b)->fullname);
        }
    }
}

Test(command, ids_match_their_rows)
{
    for (int id = 0; id < CMD_ID__COUNT; id++) {
        cr_assert_eq(command_get((enum cmd_id)id)->id, (enum cmd_id)id);
    }
}

Test(command, lookup_ignores_case)
{
    const struct command *a = command_lookup("get", 3);
    cr_assert_not_null(a);
    cr_assert_eq(a->id, CMD_ID_GET);
    cr_assert_eq(command_lookup("GET", 3), a);
    cr_assert_eq(command_lookup("gEt", 3), a);
}

Test(command, lookup_uses_the_length_not_a_terminator)
{
    /* Arguments are not NUL-terminated: "getx" with length 3 is "get". */
    cr_assert_eq(command_lookup("getx", 3), command_get(CMD_ID_GET));
    cr_assert_null(command_lookup("get", 2));
}

Test(command, unknown_names_are_not_found)
{
    cr_assert_null(command_lookup("nosuch", 6));
    cr_assert_null(command_lookup("", 0));
    /* a subcommand name is not a top-level command */
    cr_assert_null(command_lookup("resetstat", 9));
}

Test(command, every_top_level_name_is_found)
{
    for (size_t i = 0; i < command_count(); i++) {
        const struct command *c = command_at(i);
        cr_assert_eq(c->parent, CMD_ID_NONE);
        cr_assert_eq(command_lookup(c->name, strlen(c->name)), c, "%s", c->name);
    }
    cr_assert_null(command_at(command_count()));
}

/* The lookup compares case-folded words, not bytes: every name in upper
 * case is found, and changing any one byte (to another letter, or to the
 * same letter with the high bit set, which is not ASCII) finds another
 * command or none, also past the 16th byte of a long name. */
Test(command, lookup_folds_case_and_tells_every_byte_apart)
{
    for (size_t i = 0; i < command_count(); i++) {
        const struct command *c = command_at(i);
        char name[64];
        size_t len = strlen(c->name);
        cr_assert_lt(len, sizeof(name));
        for (size_t k = 0; k < len; k++) {
            name[k] = (char)toupper((unsigned char)c->name[k]);
        }
        cr_assert_eq(command_lookup(name, len), c, "%s", c->name);
        for (size_t k = 0; k < len; k++) {
            char was = name[k];
            name[k] = (char)(was ^ 0x80);
            cr_assert_neq(command_lookup(name, len), c, "%s byte %zu high bit", c->name, k);
            name[k] = was == 'Q' ? 'X' : 'Q';
            cr_assert_neq(command_lookup(name, len), c, "%s byte %zu", c->name, k);
            name[k] = was;
        }
    }
}

Test(command, count_covers_top_level_rows_only)
{
    size_t top = 0;
    for (int id = 0; id < CMD_ID__COUNT; id++) {
        top += command_get((enum cmd_id)id)->parent == CMD_ID_NONE;
    }
    cr_assert_eq(command_count(), top);
}

Test(command, container_subcommands_are_found)
{
    const struct command *config = command_lookup("config", 6);
    const struct command *get;
    cr_assert_not_null(config);
    cr_assert_gt(config->nsubs, 0);
    get = command_lookup_sub(config, "GET", 3);
    cr_assert_not_null(get);
    cr_assert_eq(get->id, CMD_ID_CONFIG_GET);
    cr_assert_str_eq(get->fullname, "config|get");
    cr_assert_null(command_lookup_sub(config, "nosuch", 6));
    cr_assert_null(config->subs[config->nsubs]);
}

Test(command, every_subcommand_is_listed_under_its_parent)
{
    for (int id = 0; id < CMD_ID__COUNT; id++) {
        const struct command *c = command_get((enum cmd_id)id);
        const struct command *p;
        if (c->parent == CMD_ID_NONE) {
            continue;
        }
        p = command_get(c->parent);
        cr_assert_eq(p->parent, CMD_ID_NONE, "%s nests too deep", c->fullname);
        cr_assert_eq(command_lookup_sub(p, c->name, strlen(c->name)), c, "%s",
                     c->fullname);
    }
}

Test(command, subcommand_arity_counts_the_container)
{
    /* "CONFIG GET x" has three words: a subcommand's arity includes the
     * container's name, as in Redis. */
    for (int id = 0; id < CMD_ID__COUNT; id++) {
        const struct command *c = command_get((enum cmd_id)id);
        if (c->parent != CMD_ID_NONE) {
            int a = c->arity < 0 ? -c->arity : c->arity;
            cr_assert_geq(a, 2, "%s", c->fullname);
        }
    }
}

Test(command, arity_exact_and_minimum)
{
    const struct command *get = command_get(CMD_ID_GET);
    const struct command *set = command_get(CMD_ID_SET);
    cr_assert(command_arity_ok(get, 2));
    cr_assert_not(command_arity_ok(get, 1));
    cr_assert_not(command_arity_ok(get, 3));
    cr_assert_not(command_arity_ok(set, 2));
    cr_assert(command_arity_ok(set, 3));
    cr_assert(command_arity_ok(set, 7));
}

Test(command, key_positions_for_get)
{
    size_t idx[8];
    cr_assert_eq(command_key_positions(command_get(CMD_ID_GET), 2, idx, 8), 1);
    cr_assert_eq(idx[0], 1);
}

Test(command, key_positions_for_del_cover_every_argument)
{
    size_t idx[8];
    size_t n = command_key_positions(command_get(CMD_ID_DEL), 4, idx, 8);
    cr_assert_eq(n, 3);
    cr_assert_eq(idx[0], 1);
    cr_assert_eq(idx[1], 2);
    cr_assert_eq(idx[2], 3);
}

Test(command, key_positions_for_mset_skip_values)
{
    size_t idx[8];
    size_t n = command_key_positions(command_get(CMD_ID_MSET), 5, idx, 8);
    cr_assert_eq(n, 2);
    cr_assert_eq(idx[0], 1);
    cr_assert_eq(idx[1], 3);
}

Test(command, key_positions_respect_the_cap)
{
    size_t idx[2];
    cr_assert_eq(command_key_positions(command_get(CMD_ID_DEL), 6, idx, 2), 2);
}

Test(command, key_positions_of_a_subcommand_count_from_the_container)
{
    size_t idx[4];
    size_t n = command_key_positions(command_get(CMD_ID_OBJECT_ENCODING), 3, idx, 4);
    cr_assert_eq(n, 1);
    cr_assert_eq(idx[0], 2);
}

Test(command, keyless_commands_have_no_positions)
{
    size_t idx[4];
    cr_assert_eq(command_key_positions(command_get(CMD_ID_PING), 2, idx, 4), 0);
    cr_assert_eq(command_key_positions(command_get(CMD_ID_KEYS), 2, idx, 4), 0);
}

Test(command, key_steps_are_positive_when_keys_exist)
{
    for (int id = 0; id < CMD_ID__COUNT; id++) {
        const struct command *c = command_get((enum cmd_id)id);
        if (c->first_key > 0) {
            cr_assert_gt(c->key_step, 0, "%s", c->fullname);
            cr_assert(c->last_key < 0 || c->last_key >= c->first_key, "%s",
                      c->fullname);
        }
    }
}

Test(command, write_and_readonly_are_exclusive)
{
    for (int id = 0; id < CMD_ID__COUNT; id++) {
        const struct command *c = command_get((enum cmd_id)id);
        cr_assert_not((c->flags & CMD_WRITE) && (c->flags & CMD_READONLY), "%s",
                      c->fullname);
    }
}

Test(command, every_row_is_documented)
{
    for (int id = 0; id < CMD_ID__COUNT; id++) {
        const struct command *c = command_get((enum cmd_id)id);
        cr_assert(c->summary && c->summary[0], "%s", c->fullname);
        cr_assert(c->since && c->since[0], "%s", c->fullname);
        cr_assert(c->group && c->group[0], "%s", c->fullname);
    }
}

Test(command, flag_names_follow_the_bits)
{
    cr_assert_str_eq(command_flag_name(CMD_FLAG_BIT_WRITE), "write");
    cr_assert_str_eq(command_flag_name(CMD_FLAG_BIT_READONLY), "readonly");
    cr_assert_str_eq(command_flag_name(CMD_FLAG_BIT_FAST), "fast");
    cr_assert_str_eq(command_flag_name(-1), "");
    cr_assert_str_eq(command_flag_name(CMD_FLAG_BIT__COUNT), "");
}

/* ---- key specs (core/keyspec.c) ----------------------------------------- */

#include "core/keyspec.h"
#include "core/resp.h"

/* For every command whose keys do not move, the key specs (generated from
 * Redis 7.0, or derived) find the keys command_keys() finds, on a line of
 * plain words: the generated table and command.h agree. */
Test(command, key_specs_find_the_tables_fixed_keys)
{
    static const char *const words[] = {"c", "s", "a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8"};
    struct resp_arg argv[10];
    for (int id = 0; id < CMD_ID__COUNT; id++) {
        const struct command *c = command_get((enum cmd_id)id);
        if (c->first_key <= 0 || (c->flags & CMD_MOVABLEKEYS) || id == CMD_ID_SET
            || id == CMD_ID_BITFIELD) {
            continue;
        }
        size_t argc = c->arity > 0 ? (size_t)c->arity : (size_t)(-c->arity) + 2;
        for (size_t i = 0; i < argc; i++) {
            argv[i].ptr = words[i];
            argv[i].len = strlen(words[i]);
        }
        size_t idx[10];
        struct keyspec_key keys[11];
        size_t n = command_keys(c, argc, argv, idx, 10);
        size_t m = keyspec_find(c, argc, argv, keys);
        int notkey = id == CMD_ID_SSUBSCRIBE || id == CMD_ID_SUNSUBSCRIBE
                     || id == CMD_ID_SPUBLISH;
        cr_assert(keyspec_has_keys(c) == !notkey, "%s", c->fullname);
        if (notkey) {
            continue; /* shard channels: Redis's specs say not_key */
        }
        cr_assert_eq(m, n, "%s: %zu keys by spec, %zu by the table", c->fullname, m, n);
        for (size_t i = 0; i < n; i++) {
            cr_assert_eq(keys[i].pos, idx[i], "%s key %zu", c->fullname, i);
            cr_assert(keys[i].flags != 0, "%s key %zu has no flags", c->fullname, i);
        }
    }
}

/* A command with keys added to command.h needs Redis's specs in the
 * generated table, or COMMAND GETKEYSANDFLAGS guesses its flags. */
Test(command, every_command_with_keys_has_redis_key_specs)
{
    for (int id = 0; id < CMD_ID__COUNT; id++) {
        const struct command *c = command_get((enum cmd_id)id);
        if (c->first_key > 0 || (c->flags & CMD_MOVABLEKEYS)) {
            cr_assert(keyspec_known(c),
                      "%s has keys but no row in core/keyspec_table.h: run "
                      "utils/gen-keyspecs.py against redis-server 7.0", c->fullname);
        }
    }
}

Test(command, key_specs_fall_back_on_a_numkeys_that_does_not_parse)
{
    /* ZUNIONSTORE d 2x a b: Redis's callback reads "2x" as 2 and lists
     * the sources, then the destination, all without flags. */
    static const char *const w[] = {"zunionstore", "d", "2x", "a", "b"};
    struct resp_arg argv[5];
    struct keyspec_key keys[6];
    for (size_t i = 0; i < 5; i++) {
        argv[i].ptr = w[i];
        argv[i].len = strlen(w[i]);
    }
    size_t n = keyspec_find(command_get(CMD_ID_ZUNIONSTORE), 5, argv, keys);
    cr_assert_eq(n, 3);
    cr_assert_eq(keys[0].pos, 3);
    cr_assert_eq(keys[1].pos, 4);
    cr_assert_eq(keys[2].pos, 1);
    cr_assert_eq(keys[0].flags | keys[1].flags | keys[2].flags, 0);
}

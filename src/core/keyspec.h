/* Redis 7.0's key specs: for each command, where its keys are (begin
 * search by index or keyword, then a range or a key count) and what the
 * command does with them (RO/RW/OW/RM, access/update/insert/delete, ...).
 * COMMAND GETKEYS and GETKEYSANDFLAGS read them through keyspec_find(),
 * which follows Redis's search, its fallbacks for the commands whose specs
 * cannot say everything (SORT, SET, BITFIELD, a bad numkeys) included, so
 * that both answer as redis-server does.  Routing, WATCH and ACL keep
 * command_keys() (core/command.h), which is cheaper and never fails. */
#ifndef CACHELY_CORE_KEYSPEC_H
#define CACHELY_CORE_KEYSPEC_H

#include "core/command.h"

#include <stddef.h>

/* Key-spec flags, in the order COMMAND GETKEYSANDFLAGS prints them. */
#define KEYSPEC_FLAG_LIST(X)                                                \
    X(RO, "RO")                                                             \
    X(RW, "RW")                                                             \
    X(OW, "OW")                                                             \
    X(RM, "RM")                                                             \
    X(ACCESS, "access")                                                     \
    X(UPDATE, "update")                                                     \
    X(INSERT, "insert")                                                     \
    X(DELETE, "delete")                                                     \
    X(NOT_KEY, "not_key")                                                   \
    X(INCOMPLETE, "incomplete")                                             \
    X(VARIABLE_FLAGS, "variable_flags")

enum keyspec_flag_bit {
#define KEYSPEC_FLAG_BIT(sym, name) KSF_BIT_##sym,
    KEYSPEC_FLAG_LIST(KEYSPEC_FLAG_BIT)
#undef KEYSPEC_FLAG_BIT
    KSF_BIT__COUNT
};

#define KEYSPEC_FLAG_VALUE(sym, name) KSF_##sym = 1u << KSF_BIT_##sym,
enum keyspec_flag { KEYSPEC_FLAG_LIST(KEYSPEC_FLAG_VALUE) };
#undef KEYSPEC_FLAG_VALUE

enum ks_begin { KS_BS_INDEX, KS_BS_KEYWORD, KS_BS_UNKNOWN };
enum ks_find { KS_FK_RANGE, KS_FK_KEYNUM, KS_FK_UNKNOWN };

/* One of a command's key specs. */
struct keyspec {
    unsigned flags;      /* enum keyspec_flag bits */
    enum ks_begin begin;
    int at;              /* INDEX: the index; KEYWORD: where the search starts
                            (negative: from the end, backwards) */
    const char *keyword; /* KEYWORD only */
    enum ks_find find;
    int a, b, c;         /* RANGE: lastkey, keystep, limit;
                            KEYNUM: keynumidx, firstkey, keystep */
    const char *notes;   /* Redis's note on the spec, or NULL */
};

/* One key found in a command line: its argv index (0 = the command name)
 * and its spec's flags (0 where Redis's fallback gives none). */
struct keyspec_key {
    size_t pos;
    unsigned flags;
};

/* Whether Redis 7.0 says the command has key arguments at all (a spec that
 * is not not_key, or a key-finding fallback): "The command has no key
 * arguments" otherwise. */
int keyspec_has_keys(const struct command *cmd);

/* The keys of argv[0..argc) (argv[0] is the command's name; a subcommand's
 * line starts at the container's name) as Redis 7.0's COMMAND GETKEYS
 * finds them: fills out[] (room for argc + 1 entries is always enough) and
 * returns how many.  0 means none were found or the line is malformed:
 * Redis then answers an empty array for a no_mandatory_keys command and
 * "Invalid arguments specified for command" for the others. */
size_t keyspec_find(const struct command *cmd, size_t argc,
                    const struct resp_arg *argv, struct keyspec_key *out);

/* The command's key specs as COMMAND INFO shows them: its generated row,
 * or for a command Redis 7.0 does not have, one range spec from the
 * table's first/last/step, written to *derived.  Returns how many, *out
 * pointing at them. */
int keyspec_specs(const struct command *cmd, const struct keyspec **out,
                  struct keyspec *derived);

/* Redis 7.0's tips for the command (COMMAND INFO's eighth field:
 * "nondeterministic_output", "request_policy:all_shards", ...): *n of
 * them, or NULL and *n = 0. */
const char *const *keyspec_tips(const struct command *cmd, size_t *n);

/* Whether the generated table has the command's specs (else they are
 * derived from its first/last/step, which may not be Redis's flags). */
int keyspec_known(const struct command *cmd);

/* The name of a flag bit ("RO", "access"); "" past the last. */
const char *keyspec_flag_name(int bit);

#endif

/* The option registry: a table of option definitions drives the config file,
 * command-line "--name value" arguments, CONFIG GET/SET/REWRITE and --help.
 * Each binary (node, proxy) owns its table and the struct the values live
 * in; this module only knows types, bounds and offsets. */
#ifndef CACHELY_CORE_OPTION_H
#define CACHELY_CORE_OPTION_H

#include <stddef.h>

enum option_type {
    OPT_BOOL,     /* int: 0/1, "yes"/"no" */
    OPT_INT,      /* long long within [min, max] */
    OPT_MEMORY,   /* unsigned long long bytes, accepts units (100mb) */
    OPT_STRING,   /* char * owned by the values struct (mem_alloc) */
    OPT_ENUM,     /* int index into names */
    OPT_SPECIAL,  /* parse/format through callbacks */
};

enum option_flag {
    OPT_MUTABLE = 1 << 0,   /* CONFIG SET may change it at run time */
    OPT_SENSITIVE = 1 << 1, /* never logged (passwords) */
    OPT_HIDDEN = 1 << 2,    /* not in --help or CONFIG REWRITE unless set */
    OPT_PROTECTED = 1 << 3, /* CONFIG SET only as enable-protected-configs
                             * allows (Redis 7's protected configs) */
    OPT_FILE_ONLY = 1 << 4, /* a repeatable config-file directive ("user"):
                             * not in CONFIG GET; CONFIG REWRITE keeps its
                             * lines as they are */
    OPT_OWNS_STRING = 1 << 5, /* an OPT_SPECIAL whose field (at its offset)
                               * is a heap string: option_free_values
                               * frees it like an OPT_STRING's, and CONFIG
                               * REWRITE writes it as one word */
    OPT_NO_EFFECT = 1 << 6,   /* a Redis option about machinery this binary
                               * does not have: validated, stored, shown and
                               * rewritten, but it changes nothing */
    OPT_EXACT_NAME = 1 << 7,  /* CONFIG GET shows it only when asked by
                               * its very name, never for a pattern
                               * (Redis's hidden testing options) */
};

struct option_def;
/* Parse argv[0..argc) into the option's storage; on failure write a reason
 * (Redis's wording) into err and return -1. */
typedef int (*option_parse_fn)(const struct option_def *def, void *values,
                               const char *value, char *err, size_t errlen);
/* Format the current value into buf. */
typedef void (*option_format_fn)(const struct option_def *def,
                                 const void *values, char *buf, size_t len);
/* Called after a successful CONFIG SET of this option, with the owner's
 * context; returns -1 (with err) to refuse, which restores the old value. */
typedef int (*option_apply_fn)(const struct option_def *def, void *ctx,
                               char *err, size_t errlen);

struct option_def {
    const char *name;
    enum option_type type;
    unsigned flags;
    const char *defval;         /* default, as config-file text */
    long long min, max;         /* OPT_INT bounds */
    const char *const *names;   /* OPT_ENUM names, NULL-terminated */
    size_t offset;              /* of the value inside the values struct */
    option_parse_fn parse;      /* OPT_SPECIAL */
    option_format_fn format;    /* OPT_SPECIAL */
    option_apply_fn apply;      /* optional, run after CONFIG SET */
    const char *doc;
};

/* Another name Redis accepts for an option (slaveof for replicaof): it
 * works wherever the name does, and CONFIG GET lists it as its own entry. */
struct option_alias {
    const char *alias;
    const char *name;
};

/* An option whose only accepted value is its default (cluster-enabled
 * must stay "no"): any other value, from the config file, the command line
 * or CONFIG SET, is refused with why, after the type's own checks. */
struct option_refusal {
    const char *name;
    const char *why;
};

struct option_table {
    const struct option_def *defs;   /* borrowed; terminated by name NULL */
    void *values;                    /* borrowed; the struct offsets refer to */
    void *ctx;                       /* borrowed; passed to apply callbacks */
    char *config_file;               /* owned; absolute path or NULL */
    const struct option_alias *aliases; /* borrowed; terminated by alias
                                         * NULL; or NULL for none */
    const struct option_refusal *refusals; /* borrowed; terminated by name
                                            * NULL; or NULL for none */
};

/* Set every option to its default.  Returns 0 or -1 (a bad default). */
int option_defaults(struct option_table *t);
/* Find an option by name or alias (case-insensitive); NULL when unknown. */
const struct option_def *option_find(const struct option_table *t,
                                     const char *name);
/* The alias of def, or NULL when it has none. */
const char *option_alias(const struct option_table *t,
                         const struct option_def *def);
/* Set one option from text.  Returns 0, or -1 with a reason in err. */
int option_set(struct option_table *t, const struct option_def *def,
               const char *value, char *err, size_t errlen);
/* Set one option from text without running its apply hook (CONFIG SET of
 * several options sharing one hook runs it once, after the last of them).
 * Returns 0, or -1 with a reason in err. */
int option_parse_only(struct option_table *t, const struct option_def *def,
                      const char *value, char *err, size_t errlen);
/* CONFIG SET of n options, all or nothing, with Redis's rules: every name
 * must be known, OPT_MUTABLE, not OPT_PROTECTED and not repeated before
 * anything changes; options sharing an apply hook (a certificate and its
 * key) are applied once, after the last of them; when a value is refused
 * the ones already set get their old values back (hooks rerun).  Returns
 * 0, or -1 with Redis's message (without "ERR ") in err. */
int option_set_many(struct option_table *t, size_t n, char *const *names,
                    char *const *values, char *err, size_t errlen);
/* The names of the OPT_NO_EFFECT options set to something other than
 * their default, comma separated, into buf ("" when none); returns how
 * many there are. */
int option_no_effect_list(const struct option_table *t, char *buf, size_t len);
/* Current value as CONFIG GET prints it. */
void option_format(const struct option_table *t, const struct option_def *def,
                   char *buf, size_t len);
/* Load a config file.  Returns 0, or -1 with "line N: reason" in err. */
int option_load_file(struct option_table *t, const char *path, char *err,
                     size_t errlen);
/* Apply "--name value [value...]" arguments (argv without the program and
 * the config file).  Returns 0, or -1 with a reason in err. */
int option_load_args(struct option_table *t, int argc, char **argv, char *err,
                     size_t errlen);
/* Write the current non-default values back into the config file, keeping
 * its comments and unknown lines.  Returns 0, or -1 with err set. */
int option_rewrite(struct option_table *t, char *err, size_t errlen);
/* s as one config-file word that option_split_line reads back as s: as it
 * is when it is plain printable text, otherwise in double quotes with
 * Redis's escapes (\\ \" \n \r \t \a \b, \xHH for other bytes).
 * Returns a string the caller frees with mem_free. */
char *option_quote(const char *s);
/* Print every option, its default and its doc (for --help). */
void option_print_help(const struct option_table *t, const char *progname);
/* Free the strings owned by the values struct. */
void option_free_values(struct option_table *t);

/* Parse and split a config line into words (quotes as in the inline
 * protocol).  Returns the count (at most max), or -1 on unbalanced quotes.
 * Words point into scratch, which needs strlen(line)+1 bytes. */
int option_split_line(const char *line, char *scratch, char **words, int max);

#endif

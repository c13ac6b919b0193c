/* Option registry: typed storage at offsets in the owner's struct, text
 * parsing with Redis's error wording, config file load and rewrite. */
#include "core/option.h"
#include "core/alloc.h"
#include "core/resp.h"
#include "core/util.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define FIELD(t, def, type) ((type *)((char *)(t)->values + (def)->offset))

const struct option_def *
option_find(const struct option_table *t, const char *name)
{
    for (const struct option_def *d = t->defs; d->name != NULL; d++) {
        if (!strcasecmp(d->name, name)) {
            return d;
        }
    }
    for (const struct option_alias *a = t->aliases; a && a->alias; a++) {
        if (!strcasecmp(a->alias, name)) {
            return option_find(t, a->name);
        }
    }
    return NULL;
}

const char *
option_alias(const struct option_table *t, const struct option_def *def)
{
    for (const struct option_alias *a = t->aliases; a && a->alias; a++) {
        if (!strcasecmp(a->name, def->name)) {
            return a->alias;
        }
    }
    return NULL;
}

static int is_default(const struct option_table *t, const struct option_def *def);

static int
parse_typed(struct option_table *t, const struct option_def *def,
            const char *value, char *err, size_t errlen)
{
    long long ll;
    unsigned long long ull;

    switch (def->type) {
    case OPT_BOOL:
        if (!strcasecmp(value, "yes")) {
            *FIELD(t, def, int) = 1;
        } else if (!strcasecmp(value, "no")) {
            *FIELD(t, def, int) = 0;
        } else {
            snprintf(err, errlen, "argument must be 'yes' or 'no'");
            return -1;
        }
        return 0;
    case OPT_INT:
        if (util_str2ll(value, strlen(value), &ll) != 0) {
            snprintf(err, errlen, "argument couldn't be parsed into an integer");
            return -1;
        }
        if (ll < def->min || ll > def->max) {
            snprintf(err, errlen, "argument must be between %lld and %lld inclusive",
                     def->min, def->max);
            return -1;
        }
        *FIELD(t, def, long long) = ll;
        return 0;
    case OPT_MEMORY:
        if (util_memtoull(value, &ull) != 0) {
            snprintf(err, errlen, "argument must be a memory value");
            return -1;
        }
        if ((def->max > 0 && ull > (unsigned long long)def->max)
            || (def->min > 0 && ull < (unsigned long long)def->min)) {
            snprintf(err, errlen, "argument must be between %lld and %lld inclusive",
                     def->min, def->max);
            return -1;
        }
        *FIELD(t, def, unsigned long long) = ull;
        return 0;
    case OPT_STRING: {
        char **slot = FIELD(t, def, char *);
        mem_free(*slot);
        *slot = mem_strdup(value);
        return 0;
    }
    case OPT_ENUM:
        for (int i = 0; def->names[i] != NULL; i++) {
            if (!strcasecmp(def->names[i], value)) {
                *FIELD(t, def, int) = i;
                return 0;
            }
        }
        {
            size_t off = (size_t)snprintf(err, errlen,
                                          "argument(s) must be one of the following: ");
            for (int i = 0; def->names[i] != NULL && off < errlen; i++) {
                off += (size_t)snprintf(err + off, errlen - off, "%s%s",
                                        i ? ", " : "", def->names[i]);
            }
        }
        return -1;
    case OPT_SPECIAL:
        return def->parse(def, t->values, value, err, errlen);
    }
    return -1;
}

static const char *
refusal(const struct option_table *t, const struct option_def *def)
{
    for (const struct option_refusal *r = t->refusals; r && r->name; r++) {
        if (!strcasecmp(r->name, def->name)) {
            return r->why;
        }
    }
    return NULL;
}

static size_t
field_size(const struct option_def *def)
{
    switch (def->type) {
    case OPT_BOOL:
    case OPT_ENUM:
        return sizeof(int);
    case OPT_INT:
        return sizeof(long long);
    case OPT_MEMORY:
        return sizeof(unsigned long long);
    case OPT_STRING:
    case OPT_SPECIAL:
        break;
    }
    return 0;
}

/* The type's checks first (a bad number gets the type's error, as in
 * Redis), then an option_refusal's: a value other than the default is
 * refused and the old one kept. */
static int
parse_value(struct option_table *t, const struct option_def *def,
            const char *value, char *err, size_t errlen)
{
    const char *why = refusal(t, def);
    unsigned char saved[sizeof(long long)];
    size_t size = field_size(def);

    if (why == NULL || def->type == OPT_SPECIAL) {
        return parse_typed(t, def, value, err, errlen);
    }
    if (def->type == OPT_STRING) {
        if (strcmp(value, def->defval) != 0) {
            snprintf(err, errlen, "%s", why);
            return -1;
        }
        return parse_typed(t, def, value, err, errlen);
    }
    memcpy(saved, (char *)t->values + def->offset, size);
    if (parse_typed(t, def, value, err, errlen) != 0) {
        return -1;
    }
    if (!is_default(t, def)) {
        memcpy((char *)t->values + def->offset, saved, size);
        snprintf(err, errlen, "%s", why);
        return -1;
    }
    return 0;
}

int
option_defaults(struct option_table *t)
{
    char err[256];
    for (const struct option_def *d = t->defs; d->name != NULL; d++) {
        if (parse_value(t, d, d->defval, err, sizeof(err)) != 0) {
            fprintf(stderr, "bad default for %s: %s\n", d->name, err);
            return -1;
        }
    }
    return 0;
}

void
option_format(const struct option_table *t, const struct option_def *def,
              char *buf, size_t len)
{
    switch (def->type) {
    case OPT_BOOL:
        snprintf(buf, len, "%s", *FIELD(t, def, int) ? "yes" : "no");
        break;
    case OPT_INT:
        snprintf(buf, len, "%lld", *FIELD(t, def, long long));
        break;
    case OPT_MEMORY:
        snprintf(buf, len, "%llu", *FIELD(t, def, unsigned long long));
        break;
    case OPT_STRING: {
        const char *s = *FIELD(t, def, char *);
        snprintf(buf, len, "%s", s ? s : "");
        break;
    }
    case OPT_ENUM:
        snprintf(buf, len, "%s", def->names[*FIELD(t, def, int)]);
        break;
    case OPT_SPECIAL:
        def->format(def, t->values, buf, len);
        break;
    }
}

int
option_parse_only(struct option_table *t, const struct option_def *def,
                  const char *value, char *err, size_t errlen)
{
    return parse_value(t, def, value, err, errlen);
}

int
option_set(struct option_table *t, const struct option_def *def,
           const char *value, char *err, size_t errlen)
{
    char old[1024];
    option_format(t, def, old, sizeof(old));
    if (parse_value(t, def, value, err, errlen) != 0) {
        return -1;
    }
    if (def->apply != NULL && t->ctx != NULL
        && def->apply(def, t->ctx, err, errlen) != 0) {
        char ignored[64];
        parse_value(t, def, old, ignored, sizeof(ignored));
        return -1;
    }
    return 0;
}

int
option_set_many(struct option_table *t, size_t n, char *const *names, char *const *values,
                char *err, size_t errlen)
{
    const struct option_def **defs = mem_calloc((n ? n : 1) * sizeof(*defs));
    char **olds = mem_calloc((n ? n : 1) * sizeof(*olds));
    size_t set = 0;
    int rc = -1;

    for (size_t i = 0; i < n; i++) {
        defs[i] = option_find(t, names[i]);
        const char *why = NULL;
        if (defs[i] == NULL) {
            snprintf(err, errlen, "Unknown option or number of arguments for CONFIG SET - '%s'",
                     names[i]);
            goto done;
        }
        if (!(defs[i]->flags & OPT_MUTABLE)) {
            why = "can't set immutable config";
        } else if (defs[i]->flags & OPT_PROTECTED) {
            why = "can't set protected config";
        }
        for (size_t k = 0; k < i && why == NULL; k++) {
            if (defs[k] == defs[i]) {
                why = "duplicate parameter";
            }
        }
        if (why != NULL) {
            snprintf(err, errlen, "CONFIG SET failed (possibly related to argument '%s') - %s",
                     names[i], why);
            goto done;
        }
    }
    for (size_t i = 0; i < n; i++) {
        char buf[4096];
        option_format(t, defs[i], buf, sizeof(buf));
        olds[i] = mem_strdup(buf);
    }
    for (set = 0; set < n; set++) {
        char why[512];
        int later = 0;
        for (size_t k = set + 1; k < n && defs[set]->apply != NULL; k++) {
            later |= defs[k]->apply == defs[set]->apply;
        }
        if ((later ? option_parse_only(t, defs[set], values[set], why, sizeof(why))
                   : option_set(t, defs[set], values[set], why, sizeof(why))) == 0) {
            continue;
        }
        char ignored[512];
        size_t failed = set, named = set;
        while (set-- > 0) {
            option_parse_only(t, defs[set], olds[set], ignored, sizeof(ignored));
        }
        for (size_t k = 0; k < failed; k++) {
            if (defs[k]->apply != NULL) {
                option_set(t, defs[k], olds[k], ignored, sizeof(ignored));
            }
        }
        /* A shared hook's failure names the first of its options. */
        for (size_t k = 0; k < failed && defs[failed]->apply != NULL; k++) {
            if (defs[k]->apply == defs[failed]->apply) {
                named = k;
                break;
            }
        }
        snprintf(err, errlen, "CONFIG SET failed (possibly related to argument '%s') - %s",
                 names[named], why);
        goto done;
    }
    rc = 0;
done:
    for (size_t i = 0; i < n; i++) {
        mem_free(olds[i]);
    }
    mem_free(olds);
    mem_free((void *)defs);
    return rc;
}

int
option_split_line(const char *line, char *scratch, char **words, int max)
{
    size_t len = strlen(line);
    struct resp_arg *args = mem_alloc((len / 2 + 2) * sizeof(*args));
    char *tmp = mem_alloc(len + 1);
    long n = resp_split_inline(line, len, tmp, args);
    char *o = scratch;
    if (n > max) {
        n = max;
    }
    for (long i = 0; i < n; i++) {
        memcpy(o, args[i].ptr, args[i].len);
        o[args[i].len] = '\0';
        words[i] = o;
        o += args[i].len + 1;
    }
    mem_free(tmp);
    mem_free(args);
    return (int)n;
}

/* Join words[1..n) with spaces: multi-word values such as
 * client-output-buffer-limit or save schedules. */
static void
join_words(char **words, int n, char *out, size_t cap)
{
    size_t off = 0;
    out[0] = '\0';
    for (int i = 1; i < n && off < cap; i++) {
        off += (size_t)snprintf(out + off, cap - off, "%s%s", i > 1 ? " " : "",
                                words[i]);
    }
}

int
option_load_file(struct option_table *t, const char *path, char *err,
                 size_t errlen)
{
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    int lineno = 0, rc = 0;

    if (f == NULL) {
        snprintf(err, errlen, "can't open config file '%s': %s", path,
                 strerror(errno));
        return -1;
    }
    mem_free(t->config_file);
    t->config_file = NULL;
    {
        char *abs = realpath(path, NULL);
        t->config_file = mem_strdup(abs ? abs : path);
        free(abs);
    }
    while ((got = getline(&line, &cap, f)) >= 0) {
        char **words, *scratch, *value, reason[512];
        int n;
        const struct option_def *def;

        lineno++;
        while (got > 0 && (line[got - 1] == '\n' || line[got - 1] == '\r')) {
            line[--got] = '\0';
        }
        char *p = line;
        while (*p == ' ' || *p == '\t') {
            p++;
        }
        if (*p == '#' || *p == '\0') {
            continue;
        }
        /* Sized for the line: every word, unescaped, and the value (the
         * words after the name joined by single spaces) are no longer. */
        size_t plen = strlen(p);
        int maxwords = plen / 2 + 2 > INT_MAX ? INT_MAX : (int)(plen / 2 + 2);
        words = mem_alloc((size_t)maxwords * sizeof(*words));
        scratch = mem_alloc(plen + 1);
        value = mem_alloc(plen + 1);
        n = option_split_line(p, scratch, words, maxwords);
        if (n < 0) {
            snprintf(err, errlen, "line %d: unbalanced quotes", lineno);
            rc = -1;
        } else if (n > 0 && (def = option_find(t, words[0])) == NULL) {
            snprintf(err, errlen, "line %d: '%s': Bad directive or wrong number of arguments",
                     lineno, words[0]);
            rc = -1;
        } else if (n > 0) {
            join_words(words, n, value, plen + 1);
            if (n < 2 && def->type != OPT_STRING && def->type != OPT_SPECIAL) {
                snprintf(err, errlen, "line %d: '%s': wrong number of arguments",
                         lineno, words[0]);
                rc = -1;
            } else if (parse_value(t, def, value, reason, sizeof(reason)) != 0) {
                snprintf(err, errlen, "line %d: '%s': %s", lineno, words[0], reason);
                rc = -1;
            }
        }
        mem_free(value);
        mem_free(scratch);
        mem_free(words);
        if (rc != 0) {
            break;
        }
    }
    free(line);
    fclose(f);
    return rc;
}

int
option_load_args(struct option_table *t, int argc, char **argv, char *err,
                 size_t errlen)
{
    int i = 0;
    while (i < argc) {
        const char *name = argv[i];
        const struct option_def *def;
        char value[4096], reason[512];
        size_t off = 0;

        if (strncmp(name, "--", 2) != 0) {
            snprintf(err, errlen, "unexpected argument '%s' (options are --name value)",
                     name);
            return -1;
        }
        name += 2;
        def = option_find(t, name);
        if (def == NULL) {
            snprintf(err, errlen, "unknown option '--%s'", name);
            return -1;
        }
        i++;
        value[0] = '\0';
        /* The value is every following word up to the next "--option". */
        while (i < argc && strncmp(argv[i], "--", 2) != 0) {
            off += (size_t)snprintf(value + off, sizeof(value) - off, "%s%s",
                                    off ? " " : "", argv[i]);
            i++;
            if (off >= sizeof(value)) {
                break;
            }
        }
        if (off == 0 && def->type == OPT_BOOL) {
            snprintf(value, sizeof(value), "yes");
        }
        if (parse_value(t, def, value, reason, sizeof(reason)) != 0) {
            snprintf(err, errlen, "option '--%s': %s", name, reason);
            return -1;
        }
    }
    return 0;
}

static int
is_default(const struct option_table *t, const struct option_def *def)
{
    char cur[4096], dflt[4096];
    struct option_table tmp = *t;
    unsigned char saved[sizeof(long long)];
    char err[512];
    size_t size = field_size(def);

    option_format(t, def, cur, sizeof(cur));
    switch (def->type) {
    case OPT_STRING: {
        const char *v = *FIELD(t, def, char *);
        return strcmp(v ? v : "", def->defval) == 0;
    }
    case OPT_SPECIAL:
        /* Word lists compare as CONFIG GET prints them: a default written
         * with units ("256mb") never matches and is always written. */
        return strcmp(cur, def->defval) == 0;
    default:
        break;
    }
    /* Format the default through a scratch copy of the field. */
    memcpy(saved, (char *)t->values + def->offset, size);
    tmp.ctx = NULL;
    if (parse_typed(&tmp, def, def->defval, err, sizeof(err)) != 0) {
        memcpy((char *)t->values + def->offset, saved, size);
        return 0;
    }
    option_format(&tmp, def, dflt, sizeof(dflt));
    memcpy((char *)t->values + def->offset, saved, size);
    return strcmp(cur, dflt) == 0;
}

int
option_no_effect_list(const struct option_table *t, char *buf, size_t len)
{
    size_t off = 0;
    int n = 0;

    buf[0] = '\0';
    for (const struct option_def *d = t->defs; d->name != NULL; d++) {
        if ((d->flags & OPT_NO_EFFECT) && !is_default(t, d)) {
            if (off < len) {
                off += (size_t)snprintf(buf + off, len - off, "%s%s", n ? ", " : "",
                                        d->name);
            }
            n++;
        }
    }
    return n;
}

/* Whether s can be written as it is: a non-empty run of printable
 * characters that option_split_line reads back unchanged. */
static int
is_plain_word(const char *s)
{
    if (*s == '\0') {
        return 0;
    }
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (!isgraph(*p) || *p == '"' || *p == '\'' || *p == '\\') {
            return 0;
        }
    }
    return 1;
}

char *
option_quote(const char *s)
{
    size_t len = strlen(s), o = 0;
    char *out;

    if (is_plain_word(s)) {
        return mem_strdup(s);
    }
    /* At worst 4 bytes per input byte (\xHH), two quotes and the NUL. */
    out = mem_alloc(len * 4 + 3);
    out[o++] = '"';
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '\\': out[o++] = '\\'; out[o++] = '\\'; break;
        case '"': out[o++] = '\\'; out[o++] = '"'; break;
        case '\n': out[o++] = '\\'; out[o++] = 'n'; break;
        case '\r': out[o++] = '\\'; out[o++] = 'r'; break;
        case '\t': out[o++] = '\\'; out[o++] = 't'; break;
        case '\a': out[o++] = '\\'; out[o++] = 'a'; break;
        case '\b': out[o++] = '\\'; out[o++] = 'b'; break;
        default:
            if (isprint(*p)) {
                out[o++] = (char)*p;
            } else {
                o += (size_t)snprintf(out + o, 5, "\\x%02x", *p);
            }
            break;
        }
    }
    out[o++] = '"';
    out[o] = '\0';
    return out;
}

static void
write_word(FILE *f, const char *s)
{
    char *q = option_quote(s);
    fputc(' ', f);
    fputs(q, f);
    mem_free(q);
}

/* One "name value" line.  A value never spans lines: it is written as one
 * word, quoted and escaped as needed (a value with a newline once injected
 * config lines).  OPT_SPECIAL values are word lists (save schedules, buffer
 * limits): each word is written that way. */
static void
write_option(FILE *f, const struct option_table *t,
             const struct option_def *def)
{
    fputs(def->name, f);
    if (def->type == OPT_STRING || (def->flags & OPT_OWNS_STRING)) {
        /* A string with a parser of its own is one word too, spaces and
         * all (proc-title-template). */
        const char *v = *FIELD(t, def, char *);
        write_word(f, v ? v : "");
    } else {
        char val[4096];
        option_format(t, def, val, sizeof(val));
        if (def->type == OPT_SPECIAL && val[0] != '\0') {
            char *save = NULL;
            for (char *w = strtok_r(val, " ", &save); w != NULL;
                 w = strtok_r(NULL, " ", &save)) {
                write_word(f, w);
            }
        } else {
            write_word(f, val);
        }
    }
    fputc('\n', f);
}

/* A line kept as it is.  The last line of a file may lack its newline: add
 * it, or the first option appended after it would join that line (a
 * trailing comment then swallowed it; found by tests/fuzz/fuzz_config). */
static void
copy_line(FILE *out, const char *line, size_t len)
{
    fwrite(line, 1, len, out);
    if (len == 0 || line[len - 1] != '\n') {
        fputc('\n', out);
    }
}

int
option_rewrite(struct option_table *t, char *err, size_t errlen)
{
    FILE *in, *out;
    char tmppath[4096];
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    size_t ndefs = 0;
    unsigned char *written;

    if (t->config_file == NULL) {
        snprintf(err, errlen, "The server is running without a config file");
        return -1;
    }
    for (const struct option_def *d = t->defs; d->name; d++) {
        ndefs++;
    }
    written = mem_calloc(ndefs);
    snprintf(tmppath, sizeof(tmppath), "%s.tmp-%d", t->config_file, (int)getpid());
    in = fopen(t->config_file, "r");
    out = fopen(tmppath, "w");
    if (out == NULL) {
        snprintf(err, errlen, "Rewriting config file: %s", strerror(errno));
        if (in) {
            fclose(in);
        }
        mem_free(written);
        return -1;
    }
    /* Keep comments and lines of options we do not know; replace known
     * options in place with their current value (once). */
    while (in != NULL && (got = getline(&line, &cap, in)) >= 0) {
        char *words[2], *scratch;
        const struct option_def *def;
        int n;
        char *p = line;
        while (*p == ' ' || *p == '\t') {
            p++;
        }
        if (*p == '#' || *p == '\n' || *p == '\0') {
            copy_line(out, line, (size_t)got);
            continue;
        }
        scratch = mem_alloc(strlen(p) + 1);
        n = option_split_line(p, scratch, words, 2);
        def = n > 0 ? option_find(t, words[0]) : NULL;
        if (def == NULL || (def->flags & OPT_FILE_ONLY)) {
            copy_line(out, line, (size_t)got);
        } else {
            size_t idx = (size_t)(def - t->defs);
            if (!written[idx]) {
                write_option(out, t, def);
                written[idx] = 1;
            }
        }
        mem_free(scratch);
    }
    free(line);
    if (in) {
        fclose(in);
    }
    for (size_t i = 0; i < ndefs; i++) {
        const struct option_def *def = &t->defs[i];
        if (!written[i] && !(def->flags & OPT_FILE_ONLY) && !is_default(t, def)) {
            write_option(out, t, def);
        }
    }
    mem_free(written);
    if (fflush(out) != 0 || fsync(fileno(out)) != 0) {
        snprintf(err, errlen, "Rewriting config file: %s", strerror(errno));
        fclose(out);
        unlink(tmppath);
        return -1;
    }
    fclose(out);
    if (rename(tmppath, t->config_file) != 0) {
        snprintf(err, errlen, "Rewriting config file: %s", strerror(errno));
        unlink(tmppath);
        return -1;
    }
    return 0;
}

void
option_print_help(const struct option_table *t, const char *progname)
{
    printf("Usage: %s [config-file] [--option value ...]\n"
           "       %s --version | --help\n\nOptions (config-file directive, "
           "or --name value):\n",
           progname, progname);
    for (const struct option_def *d = t->defs; d->name; d++) {
        if (d->flags & OPT_HIDDEN) {
            continue;
        }
        printf("  %-30s %s (default: \"%s\")%s\n", d->name, d->doc, d->defval,
               d->flags & OPT_MUTABLE ? "" : " [restart]");
    }
}

void
option_free_values(struct option_table *t)
{
    for (const struct option_def *d = t->defs; d->name; d++) {
        if (d->type == OPT_STRING || (d->flags & OPT_OWNS_STRING)) {
            char **slot = FIELD(t, d, char *);
            mem_free(*slot);
            *slot = NULL;
        }
    }
    mem_free(t->config_file);
    t->config_file = NULL;
}

/* libFuzzer target for the config file reader and writer (core/option.c)
 * with the node's option table.
 *
 * Each input is used two ways:
 *   1. as a config file: loading it must not crash; when it loads, CONFIG
 *      REWRITE's writer turns the values into a file that loads back to the
 *      same values (every option formats the same), and rewriting that file
 *      again changes nothing;
 *   2. as one string value (up to the first NUL): option_quote writes it as
 *      one word that option_split_line reads back unchanged, and a
 *      masterauth set to it survives rewrite + reload with no other option
 *      changed (a value once injected config lines).
 * Built by "make fuzz" with clang; the corpus (tests/fuzz/corpus/fuzz_config)
 * is replayed under "make check" through replay_main.c. */
#include "core/option.h"
#include "core/alloc.h"
#include "node/options.h"
#include "node/server.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                      \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "fuzz_config: invariant failed: %s (%s:%d)\n",    \
                    #cond, __FILE__, __LINE__);                               \
            abort();                                                          \
        }                                                                     \
    } while (0)

/* Inputs longer than this are only parsed (the rest is about content, not
 * length, and file I/O per run is the cost). */
#define FUZZ_MAX_ROUNDTRIP 64 * 1024

static char conf_path[64];

static void
write_file(const char *path, const void *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    FUZZ_CHECK(f != NULL);
    FUZZ_CHECK(size == 0 || fwrite(data, 1, size, f) == size);
    FUZZ_CHECK(fclose(f) == 0);
}

static char *
read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0, len = 0, got;
    FUZZ_CHECK(f != NULL);
    do {
        if (len + 4096 > cap) {
            cap = cap ? cap * 2 : 8192;
            buf = realloc(buf, cap);
            FUZZ_CHECK(buf != NULL);
        }
        got = fread(buf + len, 1, cap - len, f);
        len += got;
    } while (got > 0);
    fclose(f);
    *size = len;
    return buf;
}

struct loaded {
    struct node_config cfg;
    struct option_table t;
};

static void
loaded_init(struct loaded *l)
{
    memset(l, 0, sizeof(*l));
    l->t.defs = node_options;
    l->t.values = &l->cfg;
    l->t.refusals = node_option_refusals;
    FUZZ_CHECK(option_defaults(&l->t) == 0);
}

static void
loaded_free(struct loaded *l)
{
    option_free_values(&l->t);
}

/* Every option of a and b formats the same. */
static void
check_same_values(const struct loaded *a, const struct loaded *b)
{
    static char va[64 * 1024], vb[64 * 1024];
    for (const struct option_def *d = node_options; d->name; d++) {
        if (d->type == OPT_STRING) {
            const char *sa = *(char *const *)((const char *)&a->cfg + d->offset);
            const char *sb = *(char *const *)((const char *)&b->cfg + d->offset);
            if (strcmp(sa ? sa : "", sb ? sb : "") != 0) {
                fprintf(stderr, "fuzz_config: %s differs after rewrite\n", d->name);
                abort();
            }
            continue;
        }
        option_format(&a->t, d, va, sizeof(va));
        option_format(&b->t, d, vb, sizeof(vb));
        if (strcmp(va, vb) != 0) {
            fprintf(stderr, "fuzz_config: %s: '%s' became '%s'\n", d->name, va, vb);
            abort();
        }
    }
}

/* Rewrite l's values into conf_path (keeping what is there), reload them
 * into a fresh table and compare; then a second rewrite must not change the
 * file. */
static void
check_rewrite_roundtrip(struct loaded *l)
{
    struct loaded back;
    char err[512];
    char *first, *second;
    size_t n1, n2;

    mem_free(l->t.config_file);
    l->t.config_file = mem_strdup(conf_path);
    FUZZ_CHECK(option_rewrite(&l->t, err, sizeof(err)) == 0);
    first = read_file(conf_path, &n1);

    loaded_init(&back);
    if (option_load_file(&back.t, conf_path, err, sizeof(err)) != 0) {
        fprintf(stderr, "fuzz_config: rewritten file does not load: %s\n", err);
        abort();
    }
    check_same_values(l, &back);
    FUZZ_CHECK(option_rewrite(&back.t, err, sizeof(err)) == 0);
    second = read_file(conf_path, &n2);
    FUZZ_CHECK(n1 == n2 && memcmp(first, second, n1) == 0);
    free(first);
    free(second);
    loaded_free(&back);
}

static void
run_file(const uint8_t *data, size_t size)
{
    struct loaded l;
    char err[512];

    write_file(conf_path, data, size);
    loaded_init(&l);
    err[0] = '\0';
    if (option_load_file(&l.t, conf_path, err, sizeof(err)) == 0) {
        if (size <= FUZZ_MAX_ROUNDTRIP) {
            check_rewrite_roundtrip(&l);
        }
    } else {
        FUZZ_CHECK(strncmp(err, "line ", 5) == 0);
    }
    loaded_free(&l);
}

static void
run_value(const uint8_t *data, size_t size)
{
    size_t len = strnlen((const char *)data, size);
    char *value = malloc(len + 1);
    char *quoted, *line, *scratch, *words[4];
    int n;
    struct loaded l;
    char err[512];

    FUZZ_CHECK(value != NULL);
    memcpy(value, data, len);
    value[len] = '\0';

    /* One word, whatever the bytes, and never a line break in it. */
    quoted = option_quote(value);
    FUZZ_CHECK(strchr(quoted, '\n') == NULL && strchr(quoted, '\r') == NULL);
    line = malloc(strlen(quoted) + 16);
    scratch = malloc(strlen(quoted) + 16);
    FUZZ_CHECK(line != NULL && scratch != NULL);
    sprintf(line, "masterauth %s", quoted);
    n = option_split_line(line, scratch, words, 4);
    FUZZ_CHECK(n == 2);
    FUZZ_CHECK(strcmp(words[1], value) == 0);
    mem_free(quoted);
    free(line);
    free(scratch);

    if (len <= FUZZ_MAX_ROUNDTRIP) {
        /* Through the writer and the reader, next to an operator's line. */
        static const char base[] = "# operator\ndbfilename base.cachely\n";
        write_file(conf_path, base, sizeof(base) - 1);
        loaded_init(&l);
        FUZZ_CHECK(option_load_file(&l.t, conf_path, err, sizeof(err)) == 0);
        FUZZ_CHECK(option_set(&l.t, option_find(&l.t, "masterauth"), value, err,
                              sizeof(err)) == 0);
        check_rewrite_roundtrip(&l);
        FUZZ_CHECK(strcmp(l.cfg.dbfilename, "base.cachely") == 0);
        loaded_free(&l);
    }
    free(value);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (conf_path[0] == '\0') {
        /* tmpfs when there is one: the rewrite fsyncs its file. */
        const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        snprintf(conf_path, sizeof(conf_path), "%s/cachely-fuzz-config-%d.conf",
                 dir, (int)getpid());
    }
    run_file(data, size);
    run_value(data, size);
    unlink(conf_path);
    return 0;
}

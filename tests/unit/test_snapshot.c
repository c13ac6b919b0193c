/* The snapshot writer (snapshot.c) and the snapshot file (snapfile.c):
 * every type, with expiries and in several databases, saved to a real file
 * and loaded into a fresh server must give the same DEBUG DIGEST, the same
 * keys and the same types; big collections are written as several bounded
 * commands; a damaged file loads nothing.  The data is made by loading
 * commands as an append-only buffer (the loader's own call path). */
#define _GNU_SOURCE
#include "core/command.h"
#include "core/log.h"
#include "core/util.h"
#include "node/db.h"
#include "node/object.h"
#include "node/options.h"
#include "node/pause.h"
#include "node/persist.h"
#include "node/repl.h"
#include "node/server.h"
#include "node/slowlog.h"
#include "node/snapfile.h"
#include "node/snapshot.h"

#include <criterion/criterion.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static struct server one, two;
static char dir[] = "/tmp/cachely-snapshot-XXXXXX";
static char file[64];
static int have_dir;

static void
server_start(struct server *srv)
{
    memset(srv, 0, sizeof(*srv));
    srv->opts.defs = node_options;
    srv->opts.values = &srv->cfg;
    cr_assert_eq(option_defaults(&srv->opts), 0);
    keyspace_init(&srv->ks, (int)srv->cfg.databases);
    srv->opts.ctx = srv;
    server_apply_config(srv);
    srv->base = event_base_new();
    cr_assert_not_null(srv->base);
    repl_setup(srv);
    pause_setup(srv);
}

static void
server_stop(struct server *srv)
{
    pause_teardown(srv);
    repl_teardown(srv);
    event_base_free(srv->base);
    slowlog_reset(srv);
    keyspace_destroy(&srv->ks);
    option_free_values(&srv->opts);
}

static void
setup(void)
{
    log_setup("/dev/null", LOG_LEVEL_ERROR);
    command_setup();
    object_setup();
    server_start(&one);
    server_start(&two);
    /* The temp file a save writes goes to the working directory. */
    cr_assert_not_null(mkdtemp(dir));
    have_dir = 1;
    cr_assert_eq(chdir(dir), 0);
    /* The default dbfilename. */
    snprintf(file, sizeof(file), "%s", one.cfg.dbfilename);
}

static void
teardown(void)
{
    server_stop(&one);
    server_stop(&two);
    command_teardown();
    if (have_dir) {
        unlink(file);
        if (chdir("/") == 0) {
            rmdir(dir);
        }
    }
}

TestSuite(snapshot, .init = setup, .fini = teardown);

/* ---- commands as an append-only buffer ----------------------------------- */

struct cmds {
    char *p;
    size_t len, cap;
};

static void
put(struct cmds *c, const char *s, size_t n)
{
    if (c->len + n > c->cap) {
        c->cap = (c->len + n) * 2 + 256;
        c->p = realloc(c->p, c->cap);
        cr_assert_not_null(c->p);
    }
    memcpy(c->p + c->len, s, n);
    c->len += n;
}

/* One command of argc binary-safe arguments (pointer, length pairs). */
static void
cmdv(struct cmds *c, int argc, const char **argv, const size_t *lens)
{
    char hdr[32];
    put(c, hdr, (size_t)snprintf(hdr, sizeof(hdr), "*%d\r\n", argc));
    for (int i = 0; i < argc; i++) {
        put(c, hdr, (size_t)snprintf(hdr, sizeof(hdr), "$%zu\r\n", lens[i]));
        put(c, argv[i], lens[i]);
        put(c, "\r\n", 2);
    }
}

/* One command of NUL-terminated words. */
static void
cmd(struct cmds *c, int argc, ...)
{
    const char *argv[16];
    size_t lens[16];
    va_list ap;
    va_start(ap, argc);
    for (int i = 0; i < argc; i++) {
        argv[i] = va_arg(ap, const char *);
        lens[i] = strlen(argv[i]);
    }
    va_end(ap);
    cmdv(c, argc, argv, lens);
}

/* Apply c to srv through the append-only loader. */
static void
apply(struct server *srv, struct cmds *c)
{
    cr_assert_eq(persist_load_buffer(srv, 1, c->p, c->len), 0, "the commands did not load");
    free(c->p);
    memset(c, 0, sizeof(*c));
}

/* A collection of n items: cmd key item... in commands of 50 items. */
static void
big(struct cmds *c, const char *command, const char *key, int n, int pairs, const char *fmt)
{
    const char *argv[2 + 2 * 50];
    size_t lens[2 + 2 * 50];
    static char items[2 * 50][48];
    for (int i = 0; i < n;) {
        int k = 0;
        argv[0] = command;
        argv[1] = key;
        for (; k < 50 && i < n; k++, i++) {
            int a = pairs ? 2 * k : k;
            if (pairs) {
                snprintf(items[a], sizeof(items[a]), "%d.%d", i - n / 2, i % 7);
                snprintf(items[a + 1], sizeof(items[a + 1]), fmt, i);
            } else {
                snprintf(items[a], sizeof(items[a]), fmt, i);
            }
        }
        int argc = 2;
        for (int j = 0; j < k * (pairs ? 2 : 1); j++) {
            argv[argc] = items[j];
            lens[argc] = strlen(items[j]);
            argc++;
        }
        lens[0] = strlen(command);
        lens[1] = strlen(key);
        cmdv(c, argc, argv, lens);
    }
}

/* Every type, small and large encodings, TTLs, two databases. */
static void
fill_every_type(struct server *srv)
{
    struct cmds c = {0};
    const char *when = "4102444800000"; /* 2100-01-01, the same in every fill */
    const char binkey[] = "bin\0key\r\n";
    const char binval[] = "\0\r\n$3\r\n*1\xff";
    const char *set_bin[] = {"SET", binkey, binval};
    const size_t set_bin_len[] = {3, sizeof(binkey) - 1, sizeof(binval) - 1};
    cmdv(&c, 3, set_bin, set_bin_len);
    cmd(&c, 3, "SET", "str", "hello");
    cmd(&c, 3, "SET", "int", "-12345");
    cmd(&c, 3, "SET", "empty", "");
    cmd(&c, 5, "SET", "ttl", "v", "PXAT", when);
    cmd(&c, 4, "SETBIT", "bits", "1000", "1");
    cmd(&c, 5, "PFADD", "hll", "a", "b", "c");
    cmd(&c, 5, "RPUSH", "list", "a", "1", "");
    big(&c, "RPUSH", "biglist", 1000, 0, "item-%d");
    cmd(&c, 5, "SADD", "intset", "1", "-2", "300000");
    cmd(&c, 5, "SADD", "set", "a", "b", "c");
    big(&c, "SADD", "bigset", 1000, 0, "member-%d");
    cmd(&c, 6, "HSET", "hash", "f1", "v1", "f2", "2");
    big(&c, "HSET", "bighash", 600, 1, "value-%d");
    cmd(&c, 8, "ZADD", "zset", "1.5", "a", "-inf", "b", "inf", "c");
    big(&c, "ZADD", "bigzset", 600, 1, "m-%d");
    cmd(&c, 8, "GEOADD", "geo", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669",
        "Catania");
    cmd(&c, 7, "XADD", "stream", "1-1", "f", "v", "g", "w");
    cmd(&c, 5, "XADD", "stream", "2-0", "f", "v2");
    cmd(&c, 5, "XGROUP", "CREATE", "stream", "grp", "0");
    cmd(&c, 3, "PEXPIREAT", "bigset", when);
    cmd(&c, 2, "SELECT", "3");
    cmd(&c, 3, "SET", "str", "in db 3");
    cmd(&c, 5, "RPUSH", "list", "x", "y", "z");
    apply(srv, &c);
}

static void
digest(struct server *srv, char out[41])
{
    srv->ks.now_ms = util_mstime();
    snapshot_digest(srv, out);
}

Test(snapshot, every_type_reads_back_the_same_from_a_file)
{
    fill_every_type(&one);
    size_t keys = keyspace_size(&one.ks);
    cr_assert_geq(keys, 20);
    cr_assert_eq(snapfile_save(&one, getpid()), 0);
    cr_assert_eq(snapfile_load(&two, file), 0);
    char d1[41], d2[41];
    digest(&one, d1);
    digest(&two, d2);
    cr_assert_str_neq(d1, "0000000000000000000000000000000000000000");
    cr_assert_str_eq(d1, d2);
    cr_assert_eq(keyspace_size(&two.ks), keys);
}

Test(snapshot, each_key_keeps_its_type_and_ttl)
{
    fill_every_type(&one);
    cr_assert_eq(snapfile_save(&one, getpid()), 0);
    cr_assert_eq(snapfile_load(&two, file), 0);
    const char *keys[] = {"str", "bits", "hll", "list", "biglist", "intset", "set", "bigset",
                          "hash", "bighash", "zset", "bigzset", "geo", "stream", "ttl"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        struct entry **a = db_lookup_ref(&one.ks.dbs[0], keys[i], strlen(keys[i]), LOOKUP_NOTOUCH);
        struct entry **b = db_lookup_ref(&two.ks.dbs[0], keys[i], strlen(keys[i]), LOOKUP_NOTOUCH);
        cr_assert_not_null(a, "%s", keys[i]);
        cr_assert_not_null(b, "%s lost", keys[i]);
        cr_assert_str_eq(obj_type_name(*b), obj_type_name(*a), "%s", keys[i]);
        cr_assert_eq((*b)->volatile_, (*a)->volatile_, "%s", keys[i]);
        if ((*a)->volatile_) {
            cr_assert_eq(entry_expire(*b), entry_expire(*a), "%s", keys[i]);
        }
    }
    cr_assert((*db_lookup_ref(&two.ks.dbs[0], "bigset", 6, LOOKUP_NOTOUCH))->volatile_,
              "a collection's TTL was lost");
    cr_assert_not_null(db_lookup_ref(&two.ks.dbs[3], "list", 4, LOOKUP_NOTOUCH), "database 3");
}

Test(snapshot, the_digest_sees_one_changed_element)
{
    /* What makes the digest comparison above mean something. */
    fill_every_type(&one);
    fill_every_type(&two);
    char d1[41], d2[41];
    digest(&one, d1);
    digest(&two, d2);
    cr_assert_str_eq(d1, d2);
    struct cmds c = {0};
    cmd(&c, 4, "ZADD", "bigzset", "0.25", "m-17");
    apply(&two, &c);
    digest(&two, d2);
    cr_assert_str_neq(d1, d2);
}

/* The commands the writer produces for srv (no file frame). */
static char *
write_commands(struct server *srv, size_t *len)
{
    int fd = memfd_create("test_snapshot", 0);
    cr_assert_geq(fd, 0);
    cr_assert_eq(snapshot_write_commands(srv, fd, NULL, NULL), 0);
    off_t end = lseek(fd, 0, SEEK_END);
    cr_assert_geq(end, 0);
    *len = (size_t)end;
    char *out = malloc(*len + 1);
    cr_assert_eq(pread(fd, out, *len, 0), (ssize_t)*len);
    out[*len] = '\0';
    close(fd);
    return out;
}

static int
count(const char *hay, size_t len, const char *needle)
{
    int n = 0;
    size_t nl = strlen(needle);
    for (size_t i = 0; i + nl <= len; i++) {
        n += memcmp(hay + i, needle, nl) == 0;
    }
    return n;
}

Test(snapshot, a_big_collection_is_written_as_several_bounded_commands)
{
    struct cmds c = {0};
    big(&c, "RPUSH", "biglist", 1000, 0, "item-%d");
    apply(&one, &c);
    size_t len;
    char *out = write_commands(&one, &len);
    /* At most 128 items per command: 1000 items need 8 or more. */
    int n = count(out, len, "$5\r\nRPUSH\r\n");
    cr_assert_geq(n, 8, "%d RPUSH commands", n);
    cr_assert_leq(n, 20, "%d RPUSH commands", n);
    free(out);
}

Test(snapshot, an_expired_key_is_not_written)
{
    struct cmds c = {0};
    cmd(&c, 3, "SET", "gone", "v");
    cmd(&c, 3, "SET", "kept", "v");
    apply(&one, &c);
    struct entry **ref = db_lookup_ref(&one.ks.dbs[0], "gone", 4, LOOKUP_NOTOUCH);
    cr_assert_not_null(ref);
    db_set_expire(&one.ks.dbs[0], ref, util_mstime() - 1);
    size_t len;
    char *out = write_commands(&one, &len);
    cr_assert_eq(count(out, len, "gone"), 0);
    cr_assert_eq(count(out, len, "kept"), 1);
    free(out);
}

Test(snapshot, a_damaged_file_loads_nothing)
{
    fill_every_type(&one);
    cr_assert_eq(snapfile_save(&one, getpid()), 0);
    struct stat st;
    cr_assert_eq(stat(file, &st), 0);
    /* One byte in the middle of the body. */
    int fd = open(file, O_RDWR);
    cr_assert_geq(fd, 0);
    char b;
    off_t at = st.st_size / 2;
    cr_assert_eq(pread(fd, &b, 1, at), 1);
    b ^= 0x20;
    cr_assert_eq(pwrite(fd, &b, 1, at), 1);
    close(fd);
    cr_assert_eq(snapfile_load(&two, file), -1);
    cr_assert_eq(keyspace_size(&two.ks), 0);
}


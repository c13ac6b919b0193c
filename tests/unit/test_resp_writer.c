/* core/resp_writer.c over a plain memory sink: the bytes of each reply in
 * RESP2 and RESP3, the error line's two forms, and that a sink's own bulk
 * op is used when it has one. */
#include "core/resp_writer.h"

#include <criterion/criterion.h>
#include <string.h>

struct mem {
    char p[4096];
    size_t len;
    int bulks;   /* calls of the optional bulk op */
};

static void
mem_raw(void *sink, const char *p, size_t len)
{
    struct mem *m = sink;
    cr_assert_leq(m->len + len, sizeof(m->p));
    memcpy(m->p + m->len, p, len);
    m->len += len;
}

static void
mem_error(void *sink, const char *msg, size_t len)
{
    cr_assert_eq(strlen(msg), len, "error text is NUL-terminated at len");
    if (msg[0] == '-') {
        mem_raw(sink, msg, len);
    } else {
        mem_raw(sink, "-ERR ", 5);
        mem_raw(sink, msg, len);
    }
    mem_raw(sink, "\r\n", 2);
}

static void
mem_bulk(void *sink, const char *p, size_t len)
{
    struct mem *m = sink;
    m->bulks++;
    mem_raw(sink, "B", 1);
    mem_raw(sink, p, len);
}

static const struct resp_writer_ops plain_ops = {mem_raw, mem_error, NULL};
static const struct resp_writer_ops bulk_ops = {mem_raw, mem_error, mem_bulk};

static struct mem m;
static struct resp_writer w2, w3;

static void
setup(void)
{
    memset(&m, 0, sizeof(m));
    resp_writer_init(&w2, &plain_ops, &m, 2);
    resp_writer_init(&w3, &plain_ops, &m, 3);
}

TestSuite(resp_writer, .init = setup);

/* The sink holds exactly want's n bytes; then it is emptied. */
static void
expect_n(const char *want, size_t n)
{
    cr_assert_eq(m.len, n, "got %.*s want %s", (int)m.len, m.p, want);
    cr_assert(memcmp(m.p, want, n) == 0, "got %.*s want %s", (int)m.len, m.p, want);
    m.len = 0;
}

static void
expect(const char *want)
{
    expect_n(want, strlen(want));
}

Test(resp_writer, map_is_flat_array_of_pairs_in_resp2)
{
    resp_writer_map(&w2, 3);
    expect("*6\r\n");
    resp_writer_map(&w3, 3);
    expect("%3\r\n");
}

Test(resp_writer, set_is_array_in_resp2)
{
    resp_writer_set(&w2, 2);
    expect("*2\r\n");
    resp_writer_set(&w3, 2);
    expect("~2\r\n");
}

Test(resp_writer, array_header_is_the_same_in_both)
{
    resp_writer_array(&w2, 0);
    resp_writer_array(&w3, 12);
    expect("*0\r\n*12\r\n");
}

Test(resp_writer, bulk_carries_binary_bytes)
{
    resp_writer_bulk(&w2, "a\0b", 3);
    expect_n("$3\r\na\0b\r\n", 9);
    resp_writer_bulk(&w3, "", 0);
    expect("$0\r\n\r\n");
}

Test(resp_writer, null_cstr_is_a_null)
{
    resp_writer_bulk_cstr(&w2, NULL);
    expect("$-1\r\n");
    resp_writer_bulk_cstr(&w3, NULL);
    expect("_\r\n");
    resp_writer_null_array(&w2);
    expect("*-1\r\n");
    resp_writer_null_array(&w3);
    expect("_\r\n");
}

Test(resp_writer, double_is_bulk_in_resp2)
{
    resp_writer_double(&w2, 1.5);
    expect("$3\r\n1.5\r\n");
    resp_writer_double(&w3, 1.5);
    expect(",1.5\r\n");
}

Test(resp_writer, integers_and_status)
{
    resp_writer_int(&w2, -42);
    resp_writer_int(&w2, 0);
    resp_writer_ok(&w2);
    resp_writer_status(&w3, "QUEUED");
    expect(":-42\r\n:0\r\n+OK\r\n+QUEUED\r\n");
}

Test(resp_writer, bool_is_integer_in_resp2)
{
    resp_writer_bool(&w2, 1);
    resp_writer_bool(&w2, 0);
    expect(":1\r\n:0\r\n");
    resp_writer_bool(&w3, 1);
    expect("#t\r\n");
}

Test(resp_writer, verbatim_is_bulk_in_resp2)
{
    resp_writer_verbatim(&w2, "hi", 2, "txt");
    expect("$2\r\nhi\r\n");
    resp_writer_verbatim(&w3, "hi", 2, "txt");
    expect("=6\r\ntxt:hi\r\n");
}

Test(resp_writer, errors_reach_the_sink_with_or_without_code)
{
    resp_writer_error(&w2, "no such key");
    expect("-ERR no such key\r\n");
    resp_writer_errorf(&w2, "-NOPERM user %s", "bob");
    expect("-NOPERM user bob\r\n");
}

Test(resp_writer, help_lists_header_lines_and_help)
{
    static const char *const lines[] = {"GET <x>", "    Gets x.", NULL};
    resp_writer_help(&w2, "FOO", lines);
    expect("*5\r\n+FOO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n"
           "+GET <x>\r\n+    Gets x.\r\n+HELP\r\n+    Prints this help.\r\n");
}

Test(resp_writer, sink_bulk_op_is_used_when_present)
{
    struct resp_writer w;
    resp_writer_init(&w, &bulk_ops, &m, 2);
    resp_writer_bulk(&w, "xy", 2);
    resp_writer_double(&w, 2); /* RESP2 double goes through bulk too */
    cr_assert_eq(m.bulks, 2);
    expect("Bxy" "B2");
}

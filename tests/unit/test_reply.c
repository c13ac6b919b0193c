/* The reply encoder of node/client.c without a socket: what each reply_*
 * function appends for RESP2 and RESP3, how output moves from the 16 KiB
 * inline buffer into blocks, and the output-buffer limits.  The client has
 * fd -1 and real (never added) events, so closing it takes the same path as
 * in the server. */
#include <criterion/criterion.h>

#include "core/alloc.h"
#include "core/log.h"
#include "node/client.h"
#include "node/server.h"

#include <event2/event.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static struct server srv;
static struct client *c;

static void
on_nothing(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
}

static void
setup(void)
{
    memset(&srv, 0, sizeof(srv));
    log_current_level = LOG_LEVEL_ERROR; /* the limit tests warn on purpose */
    srv.base = event_base_new();
    cr_assert_not_null(srv.base);
    srv.close_event = event_new(srv.base, -1, 0, on_nothing, NULL);

    c = mem_alloc(sizeof(*c));
    memset(c, 0, offsetof(struct client, buf));
    c->id = 1;
    c->fd = -1;
    c->srv = &srv;
    c->resp = 2;
    resp_parser_init(&c->parser);
    c->ev_read = event_new(srv.base, -1, 0, on_nothing, NULL);
    c->ev_write = event_new(srv.base, -1, 0, on_nothing, NULL);
    srv.clients = c;
    srv.nclients = 1;
}

static void
teardown(void)
{
    /* A client the test closed is on the close list; otherwise free it. */
    client_free_pending(&srv);
    if (srv.clients != NULL) {
        client_destroy(&c);
    }
    event_free(srv.close_event);
    event_base_free(srv.base);
}

TestSuite(reply, .init = setup, .fini = teardown);

/* ---- helpers ----------------------------------------------------------- */

/* Pending output, in the order it would be written: the unsent part of the
 * inline buffer, then every block.  Returns a malloc'd copy. */
static char *
output(size_t *lenp)
{
    size_t len = client_pending_output(c), n = 0;
    size_t skip = c->sentlen;
    char *out = malloc(len + 1);
    if (c->bufpos > 0) {
        memcpy(out, c->buf + skip, c->bufpos - skip);
        n = c->bufpos - skip;
        skip = 0;
    }
    for (struct reply_block *b = c->reply; b != NULL; b = b->next) {
        memcpy(out + n, b->data + skip, b->used - skip);
        n += b->used - skip;
        skip = 0;
    }
    cr_assert_eq(n, len, "client_pending_output says %zu, buffers hold %zu", len, n);
    out[n] = '\0';
    *lenp = n;
    return out;
}

/* Assert what is pending, then drop it as a complete write would. */
static void
expect(const char *want)
{
    size_t len;
    char *got = output(&len);
    cr_assert_eq(len, strlen(want), "got %zu bytes \"%s\", want \"%s\"", len, got, want);
    cr_assert_eq(memcmp(got, want, len), 0, "got \"%s\", want \"%s\"", got, want);
    free(got);
    while (c->reply != NULL) {
        struct reply_block *next = c->reply->next;
        mem_free(c->reply);
        c->reply = next;
    }
    c->reply_tail = NULL;
    c->reply_bytes = 0;
    c->bufpos = 0;
    c->sentlen = 0;
}

/* len bytes of a pattern that never repeats at a block-sized period, so a
 * misplaced or reordered chunk shows. */
static char *
pattern(size_t len, unsigned seed)
{
    char *p = malloc(len);
    for (size_t i = 0; i < len; i++) {
        p[i] = (char)('a' + (i * 7 + i / 251 + seed) % 26);
    }
    return p;
}

static void
expect_bytes(const char *want, size_t wantlen)
{
    size_t len;
    char *got = output(&len);
    cr_assert_eq(len, wantlen);
    cr_assert_eq(memcmp(got, want, len), 0, "output differs");
    free(got);
}

/* ---- RESP2 / RESP3 types ----------------------------------------------- */

Test(reply, null_is_dollar_minus_one_in_resp2_and_underscore_in_resp3)
{
    reply_null(c);
    expect("$-1\r\n");
    c->resp = 3;
    reply_null(c);
    expect("_\r\n");
}

Test(reply, null_array_is_star_minus_one_in_resp2_and_underscore_in_resp3)
{
    reply_null_array(c);
    expect("*-1\r\n");
    c->resp = 3;
    reply_null_array(c);
    expect("_\r\n");
}

Test(reply, map_is_flat_array_of_twice_the_length_in_resp2)
{
    reply_map_len(c, 2);
    expect("*4\r\n");
    c->resp = 3;
    reply_map_len(c, 2);
    expect("%2\r\n");
}

Test(reply, set_is_array_in_resp2_and_tilde_in_resp3)
{
    reply_set_len(c, 3);
    expect("*3\r\n");
    c->resp = 3;
    reply_set_len(c, 3);
    expect("~3\r\n");
}

Test(reply, double_is_bulk_in_resp2_and_comma_in_resp3)
{
    reply_double(c, 1.5);
    reply_double(c, INFINITY);
    reply_double(c, -INFINITY);
    expect("$3\r\n1.5\r\n$3\r\ninf\r\n$4\r\n-inf\r\n");
    c->resp = 3;
    reply_double(c, 1.5);
    reply_double(c, INFINITY);
    reply_double(c, -INFINITY);
    expect(",1.5\r\n,inf\r\n,-inf\r\n");
}

Test(reply, bool_is_integer_in_resp2_and_hash_in_resp3)
{
    reply_bool(c, 1);
    reply_bool(c, 0);
    expect(":1\r\n:0\r\n");
    c->resp = 3;
    reply_bool(c, 7);
    reply_bool(c, 0);
    expect("#t\r\n#f\r\n");
}

Test(reply, verbatim_is_bulk_in_resp2_and_equals_with_format_in_resp3)
{
    reply_verbatim(c, "hello", 5, "txt");
    expect("$5\r\nhello\r\n");
    c->resp = 3;
    reply_verbatim(c, "hello", 5, "txt");
    expect("=9\r\ntxt:hello\r\n");
}

Test(reply, array_len_is_the_same_in_both_protocols)
{
    reply_array_len(c, 0);
    reply_array_len(c, 12);
    c->resp = 3;
    reply_array_len(c, 12);
    expect("*0\r\n*12\r\n*12\r\n");
}

/* ---- integers, bulks, status ------------------------------------------- */

Test(reply, int_formats_zero_one_negative_and_extremes)
{
    reply_int(c, 0);
    reply_int(c, 1);
    reply_int(c, -42);
    reply_int(c, LLONG_MAX);
    reply_int(c, LLONG_MIN);
    expect(":0\r\n:1\r\n:-42\r\n:9223372036854775807\r\n:-9223372036854775808\r\n");
}

Test(reply, bulk_is_binary_safe_and_empty_bulk_is_not_null)
{
    reply_bulk(c, "a\0\r\nb", 5);
    reply_bulk(c, "", 0);
    expect_bytes("$5\r\na\0\r\nb\r\n$0\r\n\r\n", 17);
}

Test(reply, bulk_cstr_of_null_is_a_null_reply)
{
    reply_bulk_cstr(c, "hi");
    reply_bulk_cstr(c, NULL);
    expect("$2\r\nhi\r\n$-1\r\n");
    c->resp = 3;
    reply_bulk_cstr(c, NULL);
    expect("_\r\n");
}

Test(reply, bulk_ll_is_the_number_as_a_bulk_string)
{
    reply_bulk_ll(c, -7);
    reply_bulk_ll(c, 1234567890123LL);
    expect("$2\r\n-7\r\n$13\r\n1234567890123\r\n");
}

Test(reply, status_and_ok)
{
    reply_ok(c);
    reply_status(c, "PONG");
    reply_cstr_raw(c, "+raw\r\n");
    expect("+OK\r\n+PONG\r\n+raw\r\n");
}

/* ---- errors ------------------------------------------------------------ */

Test(reply, error_without_dash_gets_err_prefix_and_is_counted)
{
    reply_error(c, "syntax error");
    expect("-ERR syntax error\r\n");
    cr_assert_eq(srv.stats.total_error_replies, 1);
    cr_assert_eq(srv.stats.nerrors, 1);
    cr_assert_str_eq(srv.stats.errors[0].prefix, "ERR");
    cr_assert_eq(srv.stats.errors[0].count, 1);
    cr_assert_eq(c->cmd_errors, 1);
}

Test(reply, error_starting_with_dash_keeps_its_own_code)
{
    reply_wrongtype(c);
    expect("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
    reply_error(c, "-NOPROTO sorry");
    expect("-NOPROTO sorry\r\n");
    cr_assert_eq(srv.stats.total_error_replies, 2);
    cr_assert_eq(srv.stats.nerrors, 2);
    cr_assert_str_eq(srv.stats.errors[0].prefix, "WRONGTYPE");
    cr_assert_str_eq(srv.stats.errors[1].prefix, "NOPROTO");
}

Test(reply, error_counts_accumulate_per_prefix)
{
    reply_syntax_error(c);
    reply_not_integer(c);
    reply_error(c, "-WRONGTYPE x");
    expect("-ERR syntax error\r\n"
           "-ERR value is not an integer or out of range\r\n"
           "-WRONGTYPE x\r\n");
    cr_assert_eq(srv.stats.total_error_replies, 3);
    cr_assert_eq(srv.stats.nerrors, 2);
    cr_assert_eq(srv.stats.errors[0].count, 2);
    cr_assert_eq(srv.stats.errors[1].count, 1);
    cr_assert_eq(c->cmd_errors, 3);
}

Test(reply, newlines_in_an_error_become_spaces)
{
    reply_error(c, "bad\r\nthing\n");
    expect("-ERR bad  thing \r\n");
}

Test(reply, errorf_formats_the_message)
{
    reply_errorf(c, "unknown command '%s', with args beginning with: %d", "foo", 3);
    expect("-ERR unknown command 'foo', with args beginning with: 3\r\n");
}

/* ---- the inline buffer and the blocks ---------------------------------- */

Test(reply, small_replies_stay_in_the_inline_buffer)
{
    reply_int(c, 5);
    reply_bulk(c, "abc", 3);
    cr_assert_null(c->reply);
    cr_assert_eq(c->bufpos, 13);
    cr_assert_eq(c->reply_bytes, 0);
}

Test(reply, output_past_the_inline_buffer_continues_in_blocks_in_order)
{
    size_t total = 5 * CLIENT_BUF_SIZE + 123, done = 0;
    char *want = pattern(total, 1);
    /* Uneven chunks so that writes straddle the buffer and block ends. */
    for (size_t step = 1; done < total; step = step * 3 % 9973 + 1) {
        size_t n = step < total - done ? step : total - done;
        reply_raw(c, want + done, n);
        done += n;
    }
    cr_assert_eq(c->bufpos, CLIENT_BUF_SIZE);
    cr_assert_not_null(c->reply);
    cr_assert_eq(c->reply_bytes, total - CLIENT_BUF_SIZE);
    cr_assert_eq(client_pending_output(c), total);
    expect_bytes(want, total);
    free(want);
}

Test(reply, one_large_write_fills_the_buffer_then_one_block)
{
    size_t total = 3 * CLIENT_BUF_SIZE;
    char *want = pattern(total, 2);
    reply_raw(c, want, total);
    cr_assert_eq(c->bufpos, CLIENT_BUF_SIZE);
    cr_assert_not_null(c->reply);
    cr_assert_eq(c->reply, c->reply_tail);
    cr_assert_eq(c->reply->used, total - CLIENT_BUF_SIZE);
    expect_bytes(want, total);
    free(want);
}

Test(reply, bulk_that_straddles_the_buffer_end_is_split_in_order)
{
    size_t lead = CLIENT_BUF_SIZE - 10, vlen = 100;
    char *fill = pattern(lead, 3), *val = pattern(vlen, 4);
    size_t wantlen = lead + 6 + vlen + 2 + 7;
    char *want = malloc(wantlen);

    reply_raw(c, fill, lead);
    reply_bulk(c, val, vlen);
    reply_bulk(c, "x", 1);
    memcpy(want, fill, lead);
    memcpy(want + lead, "$100\r\n", 6);
    memcpy(want + lead + 6, val, vlen);
    memcpy(want + lead + 6 + vlen, "\r\n$1\r\nx\r\n", 9);
    cr_assert_eq(c->bufpos, CLIENT_BUF_SIZE);
    cr_assert_eq(c->reply_bytes, wantlen - CLIENT_BUF_SIZE);
    expect_bytes(want, wantlen);
    free(fill);
    free(val);
    free(want);
}

Test(reply, bulk_that_exactly_fills_the_buffer_needs_no_block)
{
    size_t lead = CLIENT_BUF_SIZE - (5 + 10 + 2); /* "$10\r\n", value, CRLF */
    char *fill = pattern(lead, 5);
    reply_raw(c, fill, lead);
    reply_bulk(c, "0123456789", 10);
    cr_assert_eq(c->bufpos, CLIENT_BUF_SIZE);
    cr_assert_null(c->reply);
    free(fill);
}

/* Once blocks exist, output must follow them even if the inline buffer has
 * room again (as after a write that sent the buffer but not the blocks). */
Test(reply, output_goes_after_existing_blocks_when_the_buffer_was_sent)
{
    size_t total = CLIENT_BUF_SIZE + 50;
    char *big = pattern(total, 6);
    reply_raw(c, big, total);
    c->bufpos = 0; /* the inline buffer went out */
    reply_bulk(c, "tail", 4);
    reply_int(c, 9);
    cr_assert_eq(c->bufpos, 0);
    char want[50 + 14];
    memcpy(want, big + CLIENT_BUF_SIZE, 50);
    memcpy(want + 50, "$4\r\ntail\r\n:9\r\n", 14);
    expect_bytes(want, sizeof(want));
    free(big);
}

Test(reply, pending_output_counts_buffer_and_blocks_less_what_was_sent)
{
    size_t total = 2 * CLIENT_BUF_SIZE;
    char *big = pattern(total, 7);
    cr_assert_eq(client_pending_output(c), 0);
    reply_ok(c);
    cr_assert_eq(client_pending_output(c), 5);
    c->sentlen = 2; /* a partial write */
    cr_assert_eq(client_pending_output(c), 3);
    c->sentlen = 0;
    reply_raw(c, big, total);
    cr_assert_eq(client_pending_output(c), total + 5);
    free(big);
}

/* ---- output-buffer limits ---------------------------------------------- */

Test(reply, hard_limit_closes_the_client_and_drops_its_output)
{
    size_t total = 3 * CLIENT_BUF_SIZE;
    char *big = pattern(total, 8);
    /* The limit counts the blocks' memory (a block takes 16 KiB and
     * more however little it holds), as Redis does. */
    srv.cfg.cob[COB_NORMAL].hard = 2 * CLIENT_BUF_SIZE;

    reply_raw(c, big, CLIENT_BUF_SIZE + 100);
    cr_assert_eq(c->flags & CLIENT_CLOSE_ASAP, 0, "closed under the limit");
    reply_raw(c, big, total);
    cr_assert(c->flags & CLIENT_CLOSE_ASAP);
    cr_assert_eq(srv.stats.client_obuf_limit_disconnections, 1);
    cr_assert_null(c->reply);
    cr_assert_eq(c->reply_bytes, 0);
    cr_assert_eq(srv.close_list, c);
    /* A closing client takes no more output. */
    size_t before = c->bufpos;
    reply_ok(c);
    reply_bulk(c, "x", 1);
    cr_assert_eq(c->bufpos, before);
    cr_assert_null(c->reply);

    client_free_pending(&srv);
    cr_assert_null(srv.clients);
    cr_assert_eq(srv.nclients, 0);
    c = NULL;
    free(big);
}

Test(reply, soft_limit_closes_only_after_soft_seconds)
{
    size_t total = 2 * CLIENT_BUF_SIZE;
    char *big = pattern(total, 9);
    srv.cfg.cob[COB_NORMAL].soft = CLIENT_BUF_SIZE / 2;
    srv.cfg.cob[COB_NORMAL].soft_seconds = 10;
    srv.ks.now_ms = 1000000;

    reply_raw(c, big, total);
    cr_assert_eq(c->flags & CLIENT_CLOSE_ASAP, 0);
    cr_assert_eq(c->obuf_soft_since_ms, 1000000);
    srv.ks.now_ms += 9999;
    reply_ok(c);
    cr_assert_eq(c->flags & CLIENT_CLOSE_ASAP, 0);
    srv.ks.now_ms += 1;
    reply_ok(c);
    cr_assert(c->flags & CLIENT_CLOSE_ASAP);
    cr_assert_eq(srv.stats.client_obuf_limit_disconnections, 1);
    free(big);
}

Test(reply, no_limits_means_any_size_is_kept)
{
    size_t total = 64 * CLIENT_BUF_SIZE;
    char *big = pattern(total, 10);
    reply_raw(c, big, total);
    cr_assert_eq(c->flags & CLIENT_CLOSE_ASAP, 0);
    cr_assert_eq(client_pending_output(c), total);
    free(big);
}

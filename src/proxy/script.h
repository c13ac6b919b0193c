/* Scripts and functions through the proxy (script.c, script_fan.c,
 * script_lookup.c): loaded on every node, NOSCRIPT repaired. */
#ifndef CACHELY_PROXY_SCRIPT_H
#define CACHELY_PROXY_SCRIPT_H

#include "core/resp.h"

#include <stddef.h>

struct proxy;
struct session;
struct preq;
struct command;
struct node;
struct backend;

/* Free the sha -> body cache (made on first use). */
void script_teardown(struct proxy *px);
/* SCRIPT LOAD/FLUSH/EXISTS/KILL and FUNCTION LOAD/DELETE/FLUSH/RESTORE/KILL
 * on every node; returns 1 when cmd was one of them (answered later). */
int script_command(struct session *s, const struct command *cmd, size_t argc,
                   const struct resp_arg *argv);
/* r (the request just forwarded for s) is an EVAL, EVALSHA or FCALL: learn
 * the body, or arm the NOSCRIPT / missing-function repair. */
void script_forwarded(struct session *s, const struct command *cmd, size_t argc,
                      const struct resp_arg *argv, struct preq *r, const char *frame,
                      size_t len);
/* EVALSHA/EVALSHA_RO whose body the proxy knows, as the EVAL/EVAL_RO frame
 * that runs the same script (mem_alloc'd, *len set); NULL otherwise.  A
 * transaction's EVALSHA goes this way: a NOSCRIPT inside EXEC cannot be
 * repaired by sending the call again. */
char *script_as_eval(struct proxy *px, const struct command *cmd, size_t argc,
                     const struct resp_arg *argv, size_t *len);
/* EVAL, EVALSHA or FCALL: it may write, so write-ack applies. */
int script_may_write(const struct command *cmd);
/* r's reply: 1 when it was a -NOSCRIPT, or a FCALL's "Function not found",
 * that script.c repaired (r re-sent behind the script or libraries). */
int script_deliver(struct preq *r, const char *reply, size_t len);
/* Does the proxy know any function library (FUNCTION LOAD / RESTORE
 * through it)? */
int script_libs_known(const struct proxy *px);
/* Queue FUNCTION LOAD (without REPLACE: a library the node has stays as it
 * is) of every library the proxy knows on n (on connection b, any when
 * NULL), each an internal request of s whose reply goes to on_reply with
 * ctx in r->ctx.  Returns how many went out. */
int script_load_libs(struct session *s, struct node *n, struct backend *b,
                     void (*on_reply)(struct preq *r, const char *reply, size_t len),
                     void *ctx);
/* A FCALL of function fn is queued in a transaction of s: when no library
 * the proxy knows defines it, look it up on the nodes as for a FCALL
 * answered "Function not found", so that the libraries loaded before EXEC
 * include it.  Returns 1 when a lookup will answer: an internal request of
 * s whose reply ("+OK" when a library was learned, an error otherwise)
 * goes to on_reply with ctx in r->ctx. */
int script_fn_learn(struct session *s, const char *fn, size_t len,
                    void (*on_reply)(struct preq *r, const char *reply, size_t len), void *ctx);
/* Does a library the proxy knows define function fn, or may one (its
 * functions not read back yet)?  0: a "Function not found" for it would
 * start a lookup (script_lookup.c). */
int script_fn_maybe_known(const struct proxy *px, const char *fn, size_t len);

#endif

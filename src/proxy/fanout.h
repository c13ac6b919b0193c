/* Commands split over groups or spread to every group (fanout.c), the
 * parts' replies merged into one. */
#ifndef CACHELY_PROXY_FANOUT_H
#define CACHELY_PROXY_FANOUT_H

#include "core/resp.h"

#include <stddef.h>

struct command;
struct proxy;
struct preq;

/* True when a multi-key command may be split over groups / a keyless one
 * is spread over every group. */
int fanout_can_split(const struct command *cmd);
int fanout_can_spread(const struct command *cmd);
/* Split parent's command (already on the session FIFO) by the group of each
 * key, or send it to every group; the merged reply answers parent. */
void fanout_split(struct proxy *px, struct preq *parent, const struct command *cmd,
                  size_t argc, const struct resp_arg *argv);
void fanout_spread(struct proxy *px, struct preq *parent, const struct command *cmd,
                   const char *frame, size_t len);
/* A part's reply arrived. */
void fanout_part_done(struct preq *r, const char *reply, size_t len);
/* Encode argv as a RESP multibulk frame (mem_alloc'd; *len set). */
char *fanout_encode(size_t argc, const struct resp_arg *argv, size_t *len);

#endif

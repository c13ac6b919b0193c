/* Files of RESP commands: what the snapshot file and the append-only file
 * share.  Reading maps a file, walks it frame by frame, checks that each
 * frame is a command that belongs in such a file, and applies the checked
 * range through dispatch with a fake client (replies dropped, nothing
 * propagated).  Writing shares the path helpers and the ECHO frames (the
 * snapshot's header and trailer, the config epoch record). */
#ifndef CACHELY_NODE_CMDFILE_H
#define CACHELY_NODE_CMDFILE_H

#include <stddef.h>

struct server;
struct resp_parser;

/* A file mapped read-only. */
struct cmdfile_map {
    const char *buf;   /* owned mapping (cmdfile_map), or borrowed; NULL when empty */
    size_t len;
};

/* The absolute path of a file in dir (the working directory), for messages. */
void cmdfile_abs_path(const char *name, char *out, size_t len);
/* Make a rename durable: fsync the directory holding path. */
void cmdfile_fsync_dir(const char *path);
/* An ECHO frame carrying text into out (cap bytes); returns its length. */
size_t cmdfile_fmt_echo(char *out, size_t cap, const char *text);
/* The ECHO frame recording the config epoch (ECHO "CACHELY-EPOCH <n>"),
 * which cmdfile_apply takes back. */
size_t cmdfile_fmt_epoch(char *out, size_t cap, long long epoch);

/* Map path read-only into m.  Returns 0, 1 when it does not exist, -1 on
 * error (errno set).  cmdfile_unmap releases it. */
int cmdfile_map(const char *path, struct cmdfile_map *m);
void cmdfile_unmap(struct cmdfile_map *m);

/* A parser with the node's limits, for reading files (resp_parser_free). */
void cmdfile_parser_setup(struct server *srv, struct resp_parser *p);
/* The next frame at off: STATUS_OK (p->argc/argv/consumed), STATUS_AGAIN
 * when the data ends inside it, STATUS_ERR when it is not a command. */
int cmdfile_next_frame(struct resp_parser *p, const char *buf, size_t len, size_t off);
/* If the frame is ECHO <text> with text starting with prefix, copy the text
 * (NUL-terminated) into out and return 1. */
int cmdfile_echo_text(const struct resp_parser *p, const char *prefix, char *out, size_t cap);
/* A loaded frame must be a command this node runs, with a valid number of
 * arguments, of the kind the write stream holds.  Returns 0, or -1 with the
 * reason in why. */
int cmdfile_check_command(const struct resp_parser *p, char *why, size_t whylen);
/* Apply every frame of buf[start..end) (already checked); path names the
 * file in the log.  Epoch records set the config epoch. */
void cmdfile_apply(struct server *srv, struct resp_parser *p, const char *buf, size_t start,
                   size_t end, const char *path);

#endif

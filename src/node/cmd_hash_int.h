/* What the hash command files share (cmd_hash.c, cmd_hash_expire.c): the
 * key lookups and the store-back every handler goes through.  Static
 * inline so each file keeps them private; the rest of the node sees only
 * handlers.h. */
#ifndef CACHELY_NODE_CMD_HASH_INT_H
#define CACHELY_NODE_CMD_HASH_INT_H

#include "core/resp.h"
#include "node/client.h"
#include "node/db.h"
#include "node/notify.h"
#include "node/object.h"
#include "node/server.h"
#include "node/t_hash.h"

#include <string.h>
#include <strings.h>

/* ---- lookups -------------------------------------------------------------- */

static inline struct hash_limits
cmd_hash_limits(const struct client *c)
{
    struct hash_limits l = {(size_t)c->srv->cfg.hash_max_listpack_entries,
                            (size_t)c->srv->cfg.hash_max_listpack_value};
    return l;
}

static inline int
cmd_hash_arg_is(const struct resp_arg *a, const char *word)
{
    size_t n = strlen(word);
    return a->len == n && strncasecmp(a->ptr, word, n) == 0;
}

/* Find the hash at key (after reclaiming its expired fields).  Returns the
 * ref, or NULL when absent; *wrong is set (and WRONGTYPE replied) when the
 * key holds another type. */
static inline struct entry **
cmd_hash_lookup(struct client *c, const struct resp_arg *key, int flags, int *wrong)
{
    struct entry **ref = db_lookup_ref(c->db, key->ptr, key->len, flags);
    *wrong = 0;
    if (ref != NULL && (*ref)->type != ENTRY_HASH) {
        reply_wrongtype(c);
        *wrong = 1;
        return NULL;
    }
    return hash_reclaim_entry(c->srv, c->db, ref);
}

/* The hash at key for a write, created empty (not yet in the keyspace: see
 * cmd_hash_store) when absent.  Returns the object, NULL after WRONGTYPE. */
static inline void *
cmd_hash_lookup_write(struct client *c, const struct resp_arg *key, struct entry ***refp)
{
    int wrong;
    struct entry **ref = cmd_hash_lookup(c, key, LOOKUP_WRITE, &wrong);
    *refp = ref;
    if (wrong) {
        return NULL;
    }
    return ref != NULL ? entry_obj(*ref) : hash_new();
}

/* Put a changed hash back: into its entry (signalling the change), as a new
 * key, or delete the key when it emptied; event (NULL: none) is published
 * when the key is there to change, before a deletion's del (Redis's
 * order). */
static inline void
cmd_hash_store(struct client *c, const struct resp_arg *key, struct entry **ref, void *h,
               int changed, const char *event)
{
    if (ref == NULL) {
        if (hash_length(h) == 0) {
            hash_free(h);
            return;
        }
        h = entry_obj(hash_add(c->db, key->ptr, key->len, h));
        if (event != NULL) {
            notify_key(c, NOTIFY_HASH, event, key);
        }
    } else {
        h = entry_obj(hash_store(c->db, ref, h));
        if (event != NULL) {
            notify_key(c, NOTIFY_HASH, event, key);
        }
        if (hash_length(h) == 0) {
            db_delete_ref(c->db, ref);
            notify_key(c, NOTIFY_GENERIC, "del", key);
            return;
        }
        if (changed) {
            db_signal_modified(c->db, key->ptr, key->len);
        }
    }
    if (hash_has_expiry(h)) {
        hash_track(c->db, key->ptr, key->len, hash_min_expire(h));
    }
}

static inline long long
cmd_hash_now(const struct client *c)
{
    return hash_now(c->db);
}

/* The hash for a read command, or NULL (replying nothing when absent, so
 * the caller answers its own empty reply; *wrong after WRONGTYPE). */
static inline void *
cmd_hash_lookup_read(struct client *c, int *wrong)
{
    struct entry **ref = cmd_hash_lookup(c, &c->argv[1], 0, wrong);
    return ref != NULL ? entry_obj(*ref) : NULL;
}

#endif

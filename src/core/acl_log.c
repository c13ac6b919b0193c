/* ACL LOG's storage: denials, newest first, grouped when the same one
 * repeats within a minute, trimmed to acllog-max-len. */
#include "core/acl.h"
#include "core/acl_int.h"
#include "core/alloc.h"
#include "core/util.h"

#include <string.h>


/* ---- ACL LOG ------------------------------------------------------------- */

#define ACL_LOG_GROUPING_MS 60000

void
acl_log_entry_free(struct acl_log_entry *e)
{
    mem_free(e->object);
    mem_free(e->username);
    mem_free(e->client_info);
}

static void
log_trim(struct acl_state *st, long long max)
{
    while ((long long)st->nlog > (max < 0 ? 0 : max)) {
        acl_log_entry_free(&st->log[--st->nlog]);
    }
}

void
acl_log_push(struct acl_state *st, int reason, enum acl_context ctx, const char *object,
             size_t objlen, const char *username, const char *info, long long maxlen)
{
    long long now = util_mstime();
    struct acl_log_entry e;

    if (st == NULL) {
        return;
    }
    for (size_t i = 0; i < st->nlog; i++) {
        struct acl_log_entry *x = &st->log[i];
        if (x->reason == reason && x->context == (int)ctx && x->objlen == objlen
            && memcmp(x->object, object, objlen) == 0 && !strcmp(x->username, username)
            && now - x->ctime_ms < ACL_LOG_GROUPING_MS) {
            e = *x;
            e.count++;
            e.ctime_ms = now;
            mem_free(e.client_info);
            e.client_info = mem_strdup(info);
            memmove(&st->log[1], &st->log[0], i * sizeof(*st->log));
            st->log[0] = e;
            return;
        }
    }
    if (maxlen <= 0) {
        return;
    }
    e.count = 1;
    e.reason = reason;
    e.context = (int)ctx;
    e.object = mem_strndup(object, objlen);
    e.objlen = objlen;
    e.username = mem_strdup(username);
    e.ctime_ms = now;
    e.client_info = mem_strdup(info);
    st->log = mem_realloc(st->log, (st->nlog + 1) * sizeof(*st->log));
    memmove(&st->log[1], &st->log[0], st->nlog * sizeof(*st->log));
    st->log[0] = e;
    st->nlog++;
    log_trim(st, maxlen);
}

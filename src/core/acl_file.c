/* The aclfile: "user" lines read into a fresh state (all or nothing, every
 * error named by file and line), and ACL SAVE's write through a temporary
 * file and a rename. */
#include "core/acl.h"
#include "core/acl_int.h"
#include "core/alloc.h"
#include "core/log.h"
#include "core/option.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>


/* One "user <name> <rules...>" line of an aclfile or the config file, into
 * st.  Returns 0 or -1 with Redis's text for the error (naming where:
 * path:lineno) in err. */
int
acl_file_load_line(struct acl_state *st, const char *line, const char *where, int lineno,
              char *err, size_t errlen, int *seen_default)
{
    size_t len = strlen(line);
    char *scratch = mem_alloc(len + 1);
    char **words = mem_alloc((len / 2 + 2) * sizeof(*words));
    int n = option_split_line(line, scratch, words, (int)(len / 2 + 2));
    int rc = 0;

    if (n < 0) {
        snprintf(err, errlen, "%s:%d: unbalanced quotes in acl line. ", where, lineno);
        rc = -1;
    } else if (n < 2 || strcmp(words[0], "user") != 0) {
        snprintf(err, errlen, "%s:%d should start with user keyword followed by the "
                              "username. ", where, lineno);
        rc = -1;
    } else if (acl_has_space(words[1], strlen(words[1]))) {
        snprintf(err, errlen, "%s:%d: username '%s' contains invalid characters. ", where,
                 lineno, words[1]);
        rc = -1;
    } else if (acl_state_find(st, words[1], strlen(words[1]), NULL) != NULL
               && !(strcmp(words[1], "default") == 0 && !*seen_default)) {
        snprintf(err, errlen, "WARNING: Duplicate user '%s' found on line %d. ", words[1],
                 lineno);
        rc = -1;
    } else {
        struct resp_arg *args = mem_alloc((size_t)n * sizeof(*args));
        char msg[512];
        for (int i = 2; i < n; i++) {
            args[i - 2].ptr = words[i];
            args[i - 2].len = strlen(words[i]);
        }
        if (strcmp(words[1], "default") == 0) {
            *seen_default = 1;
            /* A declared default user starts from nothing, like any other. */
            struct acl_user *d = acl_state_find(st, "default", 7, NULL);
            acl_user_renew(d);
        }
        if (acl_setuser(st, words[1], strlen(words[1]), args, (size_t)n - 2, msg,
                        sizeof(msg)) != 0) {
            /* "Error in ACL SETUSER modifier 'x': reason" */
            const char *r = strstr(msg, "': ");
            const char *q = strchr(msg, '\'');
            if (r == NULL || q == NULL || strcmp(r + 3, "Syntax error") == 0) {
                snprintf(err, errlen, "%s:%d: %.400s. ", where, lineno, r ? r + 3 : msg);
            } else {
                snprintf(err, errlen, "%s:%d: Error in applying operation %.400s. ", where,
                         lineno, q);
            }
            /* The name counts as declared: a second line for it is a
             * duplicate, as in Redis (the state is thrown away anyway). */
            acl_state_add(st, words[1], strlen(words[1]));
            rc = -1;
        }
        mem_free(args);
    }
    mem_free(words);
    mem_free(scratch);
    return rc;
}

/* Read the aclfile into a fresh state (the default user on nopass +@all
 * unless the file declares it).  Returns it, or NULL with every error
 * ("file:line: reason. ") in err. */
struct acl_state *
acl_read_file(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    struct acl_state *st;
    char *line = NULL;
    size_t cap = 0, off = 0;
    ssize_t got;
    int lineno = 0, seen_default = 0;

    err[0] = '\0';
    if (f == NULL) {
        snprintf(err, errlen, "Error loading ACLs, opening file '%s': %s", path,
                 strerror(errno));
        return NULL;
    }
    st = acl_state_create();
    while ((got = getline(&line, &cap, f)) >= 0) {
        char why[512];
        lineno++;
        while (got > 0 && (line[got - 1] == '\n' || line[got - 1] == '\r')) {
            line[--got] = '\0';
        }
        const char *p = line;
        while (*p == ' ' || *p == '\t') {
            p++;
        }
        if (*p == '\0') {
            continue;
        }
        if (acl_file_load_line(st, p, path, lineno, why, sizeof(why), &seen_default) != 0
            && off < errlen) {
            int w = snprintf(err + off, errlen - off, "%s", why);
            off += w > 0 ? (size_t)w : 0;
        }
    }
    free(line);
    fclose(f);
    if (err[0] != '\0') {
        snprintf(err + off, off < errlen ? errlen - off : 0, "%s",
                 "WARNING: ACL errors detected, no change to the previously active ACL rules "
                 "was performed");
        acl_state_destroy(&st);
        return NULL;
    }
    return st;
}

int
acl_state_save_file(struct acl_state *st, const char *path, char *err, size_t errlen)
{
    struct rbuf b = {NULL, 0, 0};
    char tmp[4096];
    FILE *f;

    for (size_t i = 0; i < st->nusers; i++) {
        acl_sb_cat(&b, "user ");
        acl_describe_user(st->users[i], &b);
        acl_sb_cat(&b, "\n");
    }
    snprintf(tmp, sizeof(tmp), "%s.tmp-%d", path, (int)getpid());
    f = fopen(tmp, "w");
    if (f == NULL || (b.len > 0 && fwrite(b.p, 1, b.len, f) != b.len) || fflush(f) != 0
        || fsync(fileno(f)) != 0) {
        snprintf(err, errlen, "There was an error trying to save the ACLs. Please check the "
                              "server logs for more information");
        log_warn("Opening temp ACL file for ACL SAVE: %s", strerror(errno));
        if (f != NULL) {
            fclose(f);
        }
        unlink(tmp);
        mem_free(b.p);
        return -1;
    }
    fclose(f);
    mem_free(b.p);
    if (rename(tmp, path) != 0) {
        log_warn("Renaming ACL file for ACL SAVE: %s", strerror(errno));
        unlink(tmp);
        snprintf(err, errlen, "There was an error trying to save the ACLs. Please check the "
                              "server logs for more information");
        return -1;
    }
    return 0;
}

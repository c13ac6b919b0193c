/* Log sink: one FILE, line-buffered, with a timestamp, pid and level. */
#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

int log_current_level = LOG_LEVEL_INFO;
static FILE *log_file;

int
log_setup(const char *path, int level)
{
    log_current_level = level;
    if (log_file != NULL && log_file != stderr) {
        fclose(log_file);
    }
    log_file = NULL;
    if (path != NULL && path[0] != '\0') {
        log_file = fopen(path, "a");
        if (log_file == NULL) {
            log_file = stderr;
            return -1;
        }
        setvbuf(log_file, NULL, _IOLBF, 0);
    }
    return 0;
}

void
log_teardown(void)
{
    if (log_file != NULL && log_file != stderr) {
        fclose(log_file);
    }
    log_file = NULL;
}

int
log_level_parse(const char *name)
{
    if (!strcasecmp(name, "debug") || !strcasecmp(name, "verbose")) {
        return LOG_LEVEL_DEBUG;
    }
    if (!strcasecmp(name, "notice") || !strcasecmp(name, "info")) {
        return LOG_LEVEL_INFO;
    }
    if (!strcasecmp(name, "warning") || !strcasecmp(name, "warn")) {
        return LOG_LEVEL_WARN;
    }
    if (!strcasecmp(name, "error")) {
        return LOG_LEVEL_ERROR;
    }
    return -1;
}

const char *
log_level_name(int level)
{
    static const char *names[] = {"warning", "warning", "notice", "debug"};
    if (level < 0 || level > LOG_LEVEL_DEBUG) {
        return "notice";
    }
    return level == LOG_LEVEL_ERROR ? "warning" : names[level];
}

const char *const log_option_names[] = {"debug", "verbose", "notice", "warning", NULL};

int
log_level_from_option(int index)
{
    static const int levels[] = {LOG_LEVEL_DEBUG, LOG_LEVEL_DEBUG, LOG_LEVEL_INFO,
                                 LOG_LEVEL_WARN};
    return index >= 0 && index < 4 ? levels[index] : LOG_LEVEL_INFO;
}

void
log_write(int level, const char *file, int line, const char *fmt, ...)
{
    static const char marks[] = {'E', 'W', '*', '.'};
    FILE *out = log_file ? log_file : stderr;
    struct timeval tv;
    struct tm tm;
    char ts[64];
    va_list ap;
    const char *base = strrchr(file, '/');

    gettimeofday(&tv, NULL);
    localtime_r(&tv.tv_sec, &tm);
    strftime(ts, sizeof(ts), "%d %b %Y %H:%M:%S", &tm);
    fprintf(out, "%d:%s.%03d %c %s:%d ", (int)getpid(), ts,
            (int)(tv.tv_usec / 1000), marks[level & 3], base ? base + 1 : file,
            line);
    va_start(ap, fmt);
    vfprintf(out, fmt, ap);
    va_end(ap);
    fputc('\n', out);
}

void
log_raw(const char *text)
{
    FILE *out = log_file ? log_file : stderr;
    fputs(text, out);
    fflush(out);
}

void
log_from_handler(const char *msg)
{
    /* Only write(2): async-signal-safe, unlike stdio.  Line-buffered stdio
     * holds no partial line between log calls, so this line lands whole. */
    int fd = log_file ? fileno(log_file) : STDERR_FILENO;
    char line[256];
    size_t n = 0;
    const char *prefix = "signal-handler: ";
    for (const char *p = prefix; *p && n < sizeof(line) - 2; p++) {
        line[n++] = *p;
    }
    for (const char *p = msg; *p && n < sizeof(line) - 2; p++) {
        line[n++] = *p;
    }
    line[n++] = '\n';
    ssize_t w = write(fd, line, n);
    (void)w;
}

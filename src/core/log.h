/* Leveled logging to a file or stderr.  The level is checked before any
 * formatting happens, so a disabled log_debug costs one comparison. */
#ifndef CACHELY_CORE_LOG_H
#define CACHELY_CORE_LOG_H

enum log_level {
    LOG_LEVEL_ERROR = 0,
    LOG_LEVEL_WARN,
    LOG_LEVEL_INFO,   /* Redis's "notice" maps here */
    LOG_LEVEL_DEBUG,
};

extern int log_current_level;

/* Open the log destination; NULL or "" means stderr.  Returns 0 or -1. */
int log_setup(const char *path, int level);
void log_teardown(void);
/* Parse a level name (debug, verbose, notice, info, warning, warn, error);
 * returns -1 for an unknown name. */
int log_level_parse(const char *name);
const char *log_level_name(int level);

/* The loglevel option's values, in option order (Redis's names), and the
 * level each one selects. */
extern const char *const log_option_names[];
int log_level_from_option(int index);

void log_write(int level, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Write text to the log as it is, with no timestamp or level (a startup
 * banner).  Printed whatever the level. */
void log_raw(const char *text);
/* One line from a signal handler: write(2) only, no timestamp. */
void log_from_handler(const char *msg);

#define log_at(lvl, ...)                                                    \
    do {                                                                    \
        if ((lvl) <= log_current_level) {                                   \
            log_write((lvl), __FILE__, __LINE__, __VA_ARGS__);              \
        }                                                                   \
    } while (0)
#define log_error(...) log_at(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(...) log_at(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...) log_at(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) log_at(LOG_LEVEL_DEBUG, __VA_ARGS__)

#endif

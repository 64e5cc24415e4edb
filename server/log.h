/*
 * log.h — one line per event on stderr: "2026-01-01T00:00:00Z LEVEL message".
 * Thread-safe (each line is written with one write call).
 */
#ifndef OPENFOTA_SERVER_LOG_H
#define OPENFOTA_SERVER_LOG_H

enum log_level { LOG_ERROR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

void log_set_level(int level);
int log_get_level(void);
/* "error" "warn" "info" "debug" -> level, -1 if unknown */
int log_level_parse(const char *s);
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif

/*
 * log.c — minimal leveled logging to stderr (log.h).
 */
#include "log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static atomic_int g_level = LOG_INFO;

void log_set_level(int level) { atomic_store(&g_level, level); }
int log_get_level(void) { return atomic_load(&g_level); }

int log_level_parse(const char *s)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    for (int i = 0; i < 4; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

/* 1 when stderr is connected to journald (systemd sets JOURNAL_STREAM to
 * the stream's device:inode): lines then start with a syslog priority
 * ("<3>" ...) that journald files them under, and carry no time of their
 * own (the journal has it). */
static int to_journal(void)
{
    static atomic_int cached = -1;
    int v = atomic_load(&cached);
    if (v >= 0)
        return v;
    v = 0;
    const char *js = getenv("JOURNAL_STREAM");
    struct stat sb;
    unsigned long long dev, ino;
    if (js && sscanf(js, "%llu:%llu", &dev, &ino) == 2 && fstat(STDERR_FILENO, &sb) == 0 &&
        (unsigned long long)sb.st_dev == dev && (unsigned long long)sb.st_ino == ino)
        v = 1;
    atomic_store(&cached, v);
    return v;
}

void log_msg(int level, const char *fmt, ...)
{
    if (level > atomic_load(&g_level))
        return;
    static const char *const tags[] = {"ERROR", "WARN", "INFO", "DEBUG"};
    static const char *const prio[] = {"<3>", "<4>", "<6>", "<7>"};
    char line[1024];
    int n;
    if (to_journal()) {
        n = snprintf(line, sizeof line, "%s", prio[level & 3]);
    } else {
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        n = (int)strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%SZ ", &tm);
    }
    n += snprintf(line + n, sizeof line - (size_t)n, "%s ", tags[level & 3]);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (m < 0)
        m = 0;
    n += m;
    if (n > (int)sizeof line - 2)
        n = (int)sizeof line - 2;
    /* one event per line: no embedded newlines from outside input */
    for (int i = 0; i < n; i++)
        if (line[i] == '\n' || line[i] == '\r')
            line[i] = ' ';
    line[n++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, (size_t)n);
    (void)w;
}

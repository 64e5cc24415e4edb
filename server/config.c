/*
 * config.c — settings from defaults, file and flags (config.h).
 */
#include "config.h"

#include "log.h"
#include "proxy.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

void config_defaults(of_config *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->listen, sizeof c->listen, "0.0.0.0:8080");
    snprintf(c->data, sizeof c->data, "./var");
    c->log_level = LOG_INFO;
    c->threads = 2;
    c->max_connections = 20000;
    c->conn_timeout = 30;
    c->conn_memory = 4096;
    c->upload_max = 64ull << 20;
    c->max_daily_deliveries = 6;
    c->retention_events = 100;
    c->retention_days = 90;
    c->audit_retention_days = 365;
    c->delta_margin = 0.8;
    c->delta_workers = 1;
    c->delta_retry_after = 30;
    c->webhook_tries = 5;
    c->limit_device_burst = 10;
    c->limit_device_interval = 10;
    c->limit_address_rate = 100;
    c->limit_address_burst = 1000;
    c->limit_new_devices_rate = 600;
    c->limit_new_devices_burst = 1000;
    c->downloads_max = 2000;
    c->downloads_per_address = 200;
    c->device_expire_days = 60;
    c->db_pool = 4;
}

/* Unsigned decimal with optional K/M/G suffix (binary), bounded. */
static int parse_u64(const char *s, uint64_t min, uint64_t max, int allow_suffix, uint64_t *out)
{
    if (*s < '0' || *s > '9')
        return -1;
    uint64_t v = 0;
    while (*s >= '0' && *s <= '9') {
        if (v > (UINT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (uint64_t)(*s - '0');
        s++;
    }
    if (allow_suffix && *s) {
        int shift = 0;
        switch (*s) {
        case 'k': case 'K': shift = 10; break;
        case 'm': case 'M': shift = 20; break;
        case 'g': case 'G': shift = 30; break;
        default: return -1;
        }
        s++;
        if (*s == 'i' || *s == 'B')
            s++;
        if (*s == 'B')
            s++;
        if (v > (UINT64_MAX >> shift))
            return -1;
        v <<= shift;
    }
    if (*s != 0 || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int config_split_listen(const char *spec, char *host, size_t hostlen, unsigned *port)
{
    const char *p;
    size_t hl;
    if (spec[0] == '[') {
        const char *close = strchr(spec, ']');
        if (close == NULL || close[1] != ':')
            return -1;
        hl = (size_t)(close - spec - 1);
        if (hl == 0 || hl >= hostlen)
            return -1;
        memcpy(host, spec + 1, hl);
        p = close + 2;
    } else {
        const char *colon = strrchr(spec, ':');
        if (colon == NULL) { /* only a port */
            hl = 0;
            p = spec;
        } else {
            if (strchr(spec, ':') != colon)
                return -1; /* bare IPv6 without brackets */
            hl = (size_t)(colon - spec);
            if (hl >= hostlen)
                return -1;
            memcpy(host, spec, hl);
            p = colon + 1;
        }
    }
    host[hl] = 0;
    if (hl == 0)
        snprintf(host, hostlen, "0.0.0.0");
    uint64_t v;
    if (parse_u64(p, 0, 65535, 0, &v) < 0)
        return -1;
    *port = (unsigned)v;
    for (size_t i = 0; host[i]; i++) {
        char ch = host[i];
        if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '.' ||
              ch == '-' || ch == ':' || ch == '%'))
            return -1;
    }
    return 0;
}

struct uint_key {
    const char *key;
    size_t off;
    uint64_t min, max;
    int suffix;
};

#define UOFF(f) offsetof(of_config, f)
static const struct uint_key uint_keys[] = {
    {"threads", UOFF(threads), 1, 64, 0},
    {"max_connections", UOFF(max_connections), 1, 1000000, 0},
    {"connection_timeout", UOFF(conn_timeout), 1, 3600, 0},
    {"connection_memory", UOFF(conn_memory), 4096, 1 << 20, 1},
    {"max_daily_deliveries", UOFF(max_daily_deliveries), 1, 1000, 0},
    {"retention_events", UOFF(retention_events), 1, 1000000, 0},
    {"retention_days", UOFF(retention_days), 1, 36500, 0},
    {"audit_retention_days", UOFF(audit_retention_days), 1, 36500, 0},
    {"delta_workers", UOFF(delta_workers), 1, 16, 0},
    {"delta_retry_after", UOFF(delta_retry_after), 1, 3600, 0},
    {"limit_device_burst", UOFF(limit_device_burst), 0, 1000000, 0},
    {"limit_device_interval", UOFF(limit_device_interval), 1, 86400, 0},
    {"limit_address_rate", UOFF(limit_address_rate), 0, 10000000, 0},
    {"limit_address_burst", UOFF(limit_address_burst), 0, 100000000, 0},
    {"limit_new_devices_rate", UOFF(limit_new_devices_rate), 0, 100000000, 0},
    {"limit_new_devices_burst", UOFF(limit_new_devices_burst), 0, 100000000, 0},
    {"downloads_max", UOFF(downloads_max), 0, 1000000, 0},
    {"downloads_per_address", UOFF(downloads_per_address), 0, 1000000, 0},
    {"device_expire_days", UOFF(device_expire_days), 0, 36500, 0},
    {"db_pool", UOFF(db_pool), 1, 64, 0},
};

static int set_str(char *dst, const char *value, const char *key, char *err, size_t errlen)
{
    size_t l = strlen(value);
    if (l == 0 || l >= CONFIG_STR_MAX) {
        snprintf(err, errlen, "%s: value must be 1 to %d characters", key, CONFIG_STR_MAX - 1);
        return -1;
    }
    memcpy(dst, value, l + 1);
    return 0;
}

int config_set(of_config *c, const char *key, const char *value, char *err, size_t errlen)
{
    if (strcmp(key, "listen") == 0 && strcmp(value, "none") == 0) {
        c->listen[0] = 0; /* HTTPS alone */
        return 0;
    }
    if (strcmp(key, "listen") == 0) {
        char host[256];
        unsigned port;
        if (config_split_listen(value, host, sizeof host, &port) < 0) {
            snprintf(err, errlen, "listen: '%.100s' is not HOST:PORT, [IPV6]:PORT or PORT (port 0-65535)", value);
            return -1;
        }
        return set_str(c->listen, value, key, err, errlen);
    }
    if (strcmp(key, "push") == 0 || strcmp(key, "mqtt") == 0) {
        char host[256];
        unsigned port;
        if (config_split_listen(value, host, sizeof host, &port) < 0) {
            snprintf(err, errlen, "%s: '%.100s' is not HOST:PORT", key, value);
            return -1;
        }
        return set_str(key[0] == 'p' ? c->push : c->mqtt, value, key, err, errlen);
    }
    if (strcmp(key, "push_rate") == 0) {
        char *end;
        errno = 0;
        double v = strtod(value, &end);
        if (errno || end == value || *end || !(v > 0 && v <= 100000)) {
            snprintf(err, errlen, "push_rate: a number of messages per second, above 0 and at most 100000");
            return -1;
        }
        c->push_rate = v;
        return 0;
    }
    if (strcmp(key, "tls_listen") == 0) {
        char host[256];
        unsigned port;
        if (config_split_listen(value, host, sizeof host, &port) < 0) {
            snprintf(err, errlen, "tls_listen: '%.100s' is not HOST:PORT, [IPV6]:PORT or PORT", value);
            return -1;
        }
        return set_str(c->tls_listen, value, key, err, errlen);
    }
    if (strcmp(key, "trusted_proxies") == 0) {
        proxy_list pl;
        if (proxy_list_parse(value, &pl, err, errlen) < 0)
            return -1;
        return set_str(c->trusted_proxies, value, key, err, errlen);
    }
    if (strcmp(key, "tls_cert") == 0)
        return set_str(c->tls_cert, value, key, err, errlen);
    if (strcmp(key, "tls_key") == 0)
        return set_str(c->tls_key, value, key, err, errlen);
    if (strcmp(key, "tls_client_ca") == 0)
        return set_str(c->tls_client_ca, value, key, err, errlen);
    if (strcmp(key, "tls_ciphers") == 0)
        return set_str(c->tls_ciphers, value, key, err, errlen);
    if (strcmp(key, "admin_tls_only") == 0) {
        if (!strcmp(value, "yes") || !strcmp(value, "true") || !strcmp(value, "1")) {
            c->admin_tls_only = 1;
            return 0;
        }
        if (!strcmp(value, "no") || !strcmp(value, "false") || !strcmp(value, "0")) {
            c->admin_tls_only = 0;
            return 0;
        }
        snprintf(err, errlen, "admin_tls_only: yes or no");
        return -1;
    }
    if (strcmp(key, "push_key_file") == 0)
        return set_str(c->push_key_file, value, key, err, errlen);
    if (strcmp(key, "webhook_url") == 0) {
        if (value[0] && strncasecmp(value, "http://", 7) != 0) {
            snprintf(err, errlen, "webhook_url: '%.100s' is not an http:// URL (only http:// is supported)", value);
            return -1;
        }
        return set_str(c->webhook_url, value, key, err, errlen);
    }
    if (strcmp(key, "webhook_secret_file") == 0)
        return set_str(c->webhook_secret_file, value, key, err, errlen);
    if (strcmp(key, "webhook_tries") == 0) {
        char *end;
        errno = 0;
        unsigned long v = strtoul(value, &end, 10);
        if (errno || end == value || *end || value[0] == '-' || v < 1 || v > 100) {
            snprintf(err, errlen, "webhook_tries: a whole number of tries from 1 to 100");
            return -1;
        }
        c->webhook_tries = (unsigned)v;
        return 0;
    }
    if (strcmp(key, "data") == 0)
        return set_str(c->data, value, key, err, errlen);
    if (strcmp(key, "db") == 0) {
        if (strncmp(value, "postgresql://", 13) != 0 && strncmp(value, "postgres://", 11) != 0) {
            snprintf(err, errlen, "db: a PostgreSQL URI, postgresql://USER@HOST:PORT/DATABASE (without it the "
                                  "database is SQLite in the data folder)");
            return -1;
        }
        return set_str(c->db, value, key, err, errlen);
    }
    if (strcmp(key, "signing_key") == 0)
        return set_str(c->signing_key, value, key, err, errlen);
    if (strcmp(key, "signing_pubkey") == 0)
        return set_str(c->signing_pubkey, value, key, err, errlen);
    if (strcmp(key, "delta_margin") == 0) {
        char *end;
        errno = 0;
        double v = strtod(value, &end);
        if (errno || end == value || *end || !(v > 0 && v <= 1)) {
            snprintf(err, errlen, "delta_margin: a fraction above 0 and at most 1 (0.8: a delta is served when it "
                                  "is at most 80%% of the full package)");
            return -1;
        }
        c->delta_margin = v;
        return 0;
    }
    if (strcmp(key, "delta_while_generating") == 0) {
        if (strcmp(value, "wait") == 0 || strcmp(value, "full") == 0) {
            c->delta_full_while_generating = value[0] == 'f';
            return 0;
        }
        snprintf(err, errlen, "delta_while_generating: 'wait' (answer code 43, retry later) or 'full' (send the "
                              "full package to libfota2 devices meanwhile)");
        return -1;
    }
    if (strcmp(key, "public_url") == 0) {
        if (strncmp(value, "http://", 7) != 0 && strncmp(value, "https://", 8) != 0) {
            snprintf(err, errlen, "public_url: must start with http:// or https://");
            return -1;
        }
        if (set_str(c->public_url, value, key, err, errlen) < 0)
            return -1;
        size_t l = strlen(c->public_url);
        while (l > 0 && c->public_url[l - 1] == '/')
            c->public_url[--l] = 0;
        return 0;
    }
    if (strcmp(key, "log_level") == 0) {
        int lv = log_level_parse(value);
        if (lv < 0) {
            snprintf(err, errlen, "log_level: use error, warn, info or debug");
            return -1;
        }
        c->log_level = lv;
        return 0;
    }
    if (strcmp(key, "upload_max") == 0) {
        uint64_t v;
        if (parse_u64(value, 1, 1ull << 40, 1, &v) < 0) {
            snprintf(err, errlen, "upload_max: a size in bytes (K/M/G suffix allowed), 1 byte to 1T");
            return -1;
        }
        c->upload_max = v;
        return 0;
    }
    for (size_t i = 0; i < sizeof uint_keys / sizeof uint_keys[0]; i++) {
        const struct uint_key *k = &uint_keys[i];
        if (strcmp(key, k->key) != 0)
            continue;
        uint64_t v;
        if (parse_u64(value, k->min, k->max, k->suffix, &v) < 0) {
            snprintf(err, errlen, "%s: a whole number from %llu to %llu", key, (unsigned long long)k->min,
                     (unsigned long long)k->max);
            return -1;
        }
        *(unsigned *)((char *)c + k->off) = (unsigned)v;
        return 0;
    }
    snprintf(err, errlen, "unknown setting '%.60s' (see openfota serve --help)", key);
    return -1;
}

int config_parse_text(of_config *c, const char *text, size_t len, char *err, size_t errlen)
{
    if (len > CONFIG_FILE_MAX) {
        snprintf(err, errlen, "config file larger than %d bytes", CONFIG_FILE_MAX);
        return -1;
    }
    size_t i = 0;
    unsigned lineno = 0;
    char line[1024];
    while (i < len) {
        lineno++;
        size_t s = i;
        while (i < len && text[i] != '\n')
            i++;
        size_t l = i - s;
        if (i < len)
            i++;
        if (l >= sizeof line) {
            snprintf(err, errlen, "line %u: longer than %zu characters", lineno, sizeof line - 1);
            return -1;
        }
        memcpy(line, text + s, l);
        line[l] = 0;
        if (memchr(text + s, 0, l) != NULL) {
            snprintf(err, errlen, "line %u: contains a NUL byte", lineno);
            return -1;
        }
        /* strip comment, CR and surrounding blanks */
        char *hash = strchr(line, '#');
        if (hash)
            *hash = 0;
        char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        char *end = p + strlen(p);
        while (end > p && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
            *--end = 0;
        if (*p == 0)
            continue;
        char *eq = strchr(p, '=');
        if (eq == NULL) {
            snprintf(err, errlen, "line %u: expected 'key = value'", lineno);
            return -1;
        }
        char *kend = eq;
        while (kend > p && (kend[-1] == ' ' || kend[-1] == '\t'))
            kend--;
        *kend = 0;
        char *v = eq + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        /* optional double quotes around the value */
        size_t vl = strlen(v);
        if (vl >= 2 && v[0] == '"' && v[vl - 1] == '"') {
            v[vl - 1] = 0;
            v++;
        }
        if (*p == 0) {
            snprintf(err, errlen, "line %u: missing key before '='", lineno);
            return -1;
        }
        char sub[400];
        if (config_set(c, p, v, sub, sizeof sub) < 0) {
            snprintf(err, errlen, "line %u: %s", lineno, sub);
            return -1;
        }
    }
    return 0;
}

int config_load_file(of_config *c, const char *path, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    char *buf = malloc(CONFIG_FILE_MAX + 1);
    if (buf == NULL) {
        close(fd);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    size_t n = 0;
    for (;;) {
        ssize_t r = read(fd, buf + n, CONFIG_FILE_MAX + 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
            free(buf);
            close(fd);
            return -1;
        }
        if (r == 0)
            break;
        n += (size_t)r;
        if (n > CONFIG_FILE_MAX)
            break;
    }
    close(fd);
    char sub[450];
    int rc = config_parse_text(c, buf, n, sub, sizeof sub);
    if (rc < 0)
        snprintf(err, errlen, "%s: %s", path, sub);
    free(buf);
    return rc;
}

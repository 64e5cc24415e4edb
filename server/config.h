/*
 * config.h — `openfota serve` settings: defaults, a `key = value` config file
 * (--config FILE) and command-line flags (flags win over the file).
 */
#ifndef OPENFOTA_SERVER_CONFIG_H
#define OPENFOTA_SERVER_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define CONFIG_FILE_MAX (64 * 1024) /* bigger config files are refused */
#define CONFIG_STR_MAX 512

typedef struct of_config {
    char listen[CONFIG_STR_MAX];     /* HOST:PORT, [V6]:PORT, or PORT; default 0.0.0.0:8080 */
    char data[CONFIG_STR_MAX];       /* data folder, default ./var */
    char public_url[CONFIG_STR_MAX]; /* base URL printed for devices, "" = derived */
    int log_level;                   /* LOG_* */
    unsigned threads;                /* HTTP worker threads, default 2 */
    unsigned max_connections;        /* default 20000 */
    unsigned conn_timeout;           /* idle/slow connection deadline, seconds, default 30 */
    unsigned conn_memory;            /* bytes per connection (headers + buffers), default 4096 */
    uint64_t upload_max;             /* admin upload cap in bytes, default 64 MiB */
    unsigned max_daily_deliveries;   /* default for new projects, default 6 */
    unsigned retention_events;       /* events kept per device, default 100 */
    unsigned retention_days;         /* events older than this are dropped, default 90 */
    unsigned audit_retention_days;   /* audit entries older than this are dropped, default 365 */
    char push[CONFIG_STR_MAX];       /* TCP push listener HOST:PORT, "" = none */
    char mqtt[CONFIG_STR_MAX];       /* MQTT broker HOST:PORT, "" = none */
    double push_rate;                /* pushes + rollout offers per second, 0 = fleet default */
    char push_key_file[CONFIG_STR_MAX]; /* file holding the push master key (hex); "" = devices on the
                                          * push port are not authenticated */
    /* signed packages and deltas (docs/server.md, "Deltas") */
    char signing_key[CONFIG_STR_MAX];    /* private key PEM that signs generated deltas, "" = none */
    char signing_pubkey[CONFIG_STR_MAX]; /* public key PEM file(s), comma-separated, that uploads must be
                                          * signed with; "" = the signing key's own public key, if any */
    double delta_margin;             /* serve a delta only when its size <= margin x full, default 0.8 */
    unsigned delta_workers;          /* delta generator threads, default 1 */
    unsigned delta_retry_after;      /* Retry-After seconds of the code 43 answer, default 30 */
    int delta_full_while_generating; /* 1: libfota2-style devices get the full package meanwhile */
    /* HTTPS (docs/server.md, "HTTPS") */
    char tls_listen[CONFIG_STR_MAX];    /* HTTPS listener HOST:PORT, "" = none */
    char tls_cert[CONFIG_STR_MAX];      /* certificate chain PEM */
    char tls_key[CONFIG_STR_MAX];       /* private key PEM */
    char tls_client_ca[CONFIG_STR_MAX]; /* CA PEM for client certificates, "" = none asked */
    char tls_ciphers[CONFIG_STR_MAX];   /* TLS 1.2 cipher list, "" = the default */
    int admin_tls_only;                 /* 1: /admin/ answers only over HTTPS */
    char trusted_proxies[CONFIG_STR_MAX]; /* reverse proxies whose X-Forwarded-For is believed, "" = none */
    /* webhooks (docs/server.md, "Webhooks") */
    char webhook_url[CONFIG_STR_MAX];         /* http:// URL events are POSTed to, "" = none */
    char webhook_secret_file[CONFIG_STR_MAX]; /* file with the HMAC-SHA256 secret, "" = unsigned */
    unsigned webhook_tries;                   /* tries per event before it is dropped, default 5 */
    /* flood limits of the device check (docs/server.md, "Limits"); 0 turns one off */
    unsigned limit_device_burst;     /* checks a device may make in a row, default 10 */
    unsigned limit_device_interval;  /* then one check per this many seconds, default 10 */
    unsigned limit_address_rate;     /* checks per second per client address (IPv6: per /64), default 100 */
    unsigned limit_address_burst;    /* default 1000 */
    unsigned limit_new_devices_rate; /* devices first seen per minute per address, default 600 */
    unsigned limit_new_devices_burst; /* default 1000 */
    unsigned downloads_max;          /* package downloads at once, server-wide, default 2000 */
    unsigned downloads_per_address;  /* package downloads at once per client address, default 200 */
    unsigned device_expire_days;     /* devices never sent a whole package and unseen this long are
                                      * forgotten, default 60; 0 = never */
    char db[CONFIG_STR_MAX];         /* postgresql:// URI of the database, "" = SQLite in the data folder */
    unsigned db_pool;                /* PostgreSQL connections at most, default 4 */
} of_config;

void config_defaults(of_config *c);

/* Apply one setting; returns 0, or -1 with a message in err. */
int config_set(of_config *c, const char *key, const char *value, char *err, size_t errlen);

/* Parse a config file's text (len bytes, may contain anything). Lines are
 * "key = value", '#' starts a comment, blank lines are skipped. Returns 0,
 * or -1 with "line N: ..." in err. */
int config_parse_text(of_config *c, const char *text, size_t len, char *err, size_t errlen);

/* Read and parse a file (at most CONFIG_FILE_MAX bytes). */
int config_load_file(of_config *c, const char *path, char *err, size_t errlen);

/* Split a listen spec into host (no brackets) and port. 0 ok, -1 bad. */
int config_split_listen(const char *spec, char *host, size_t hostlen, unsigned *port);

#endif

/*
 * serve.c — `openfota serve`: settings, data folder, start-up, the request
 * router, the first screen, and clean shutdown on SIGINT/SIGTERM.
 */
#include "server.h"
#include "proxy.h"
#include "tls.h"

#include "blobs.h"
#include "console.h"
#include "datalock.h"
#include "diskguard.h"
#include "fdlimit.h"
#include "health.h"
#include "guard.h"
#include "report_auth.h"
#include "log.h"
#include "offleet.h"
#include "webhook.h"
#include "ofserver.h"
#include "rules.h"
#include "sdnotify.h"
#include "store_pg.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef OPENFOTA_VERSION
#define OPENFOTA_VERSION "0.0.0"
#endif

static void usage(FILE *out)
{
    fprintf(out,
            "usage: openfota serve [options]\n"
            "\n"
            "Run the update server: device checks (libfota2 protocol), downloads, and the\n"
            "admin API, all on one port. Everything it keeps lives in the data folder.\n"
            "\n"
            "options (each also works as 'key = value' in a --config file; flags win):\n"
            "  --config FILE               read settings from FILE first\n"
            "  --listen HOST:PORT          address to listen on (default 0.0.0.0:8080;\n"
            "                              [::1]:PORT for IPv6; port 0 picks a free port;\n"
            "                              none: HTTPS alone)                                listen\n"
            "  --tls-listen HOST:PORT      HTTPS listener beside (or instead of) --listen    tls_listen\n"
            "  --tls-cert FILE             certificate chain PEM for HTTPS (re-read on\n"
            "                              SIGHUP, as is the key)                            tls_cert\n"
            "  --tls-key FILE              private key PEM for HTTPS                         tls_key\n"
            "  --tls-client-ca FILE        CA PEM: client certificates it signed are\n"
            "                              verified (mutual TLS)                             tls_client_ca\n"
            "  --tls-ciphers LIST          TLS 1.2 cipher list (default: ECDHE with AES-GCM\n"
            "                              or ChaCha20; TLS 1.0/1.1 are always refused)      tls_ciphers\n"
            "  --admin-tls-only            the admin API answers only over HTTPS            admin_tls_only\n"
            "  --trusted-proxies LIST      reverse proxies (ADDR[/BITS], comma-separated)\n"
            "                              whose X-Forwarded-For names the client            trusted_proxies\n"
            "  --data DIR                  data folder (default ./var): database, packages,\n"
            "                              admin.token, serve.json                              data\n"
            "  --db URI                    keep the database in PostgreSQL instead of SQLite\n"
            "                              (postgresql://USER@HOST:PORT/DB); packages and\n"
            "                              the token stay in the data folder                db\n"
            "  --db-pool N                 PostgreSQL connections at most (default 4)        db_pool\n"
            "  --public-url URL            base URL printed for devices and in file URLs     public_url\n"
            "  --log-level LEVEL           error, warn, info (default) or debug               log_level\n"
            "  --threads N                 HTTP worker threads (default 2)                    threads\n"
            "  --max-connections N         open connections at most (default 20000)          max_connections\n"
            "  --timeout SECONDS           close a connection idle or slower than this\n"
            "                              (default 30)                                      connection_timeout\n"
            "  --conn-memory BYTES         read buffer of a connection receiving a request;\n"
            "                              bounds request line + headers (default 4096)      connection_memory\n"
            "  --upload-max SIZE           admin upload cap, K/M/G allowed (default 64M)      upload_max\n"
            "  --max-daily-deliveries N    loop guard default for new projects (default 6)   max_daily_deliveries\n"
            "  --retention-events N        history events kept per device (default 100)     retention_events\n"
            "  --retention-days N          history older than N days is dropped (default 90) retention_days\n"
            "  --audit-retention-days N    audit entries older than N days are dropped (default 365)\n"
            "                              audit_retention_days\n"
            "  --push HOST:PORT            TCP push listener for devices (default: none)     push\n"
            "  --mqtt HOST:PORT            MQTT broker for push commands (default: none)     mqtt\n"
            "  --push-rate N               pushes and rollout offers per second (default 50) push_rate\n"
            "  --push-key-file FILE        push port devices must authenticate with keys\n"
            "                              derived from this master key (hex, 16-64 bytes;\n"
            "                              default: no authentication)                       push_key_file\n"
            "  --signing-key FILE          private key PEM that signs generated deltas;\n"
            "                              without it no deltas are made                     signing_key\n"
            "  --signing-pubkey FILE[,..]  public key(s) uploaded signed packages must be\n"
            "                              signed with (default: the signing key's own)      signing_pubkey\n"
            "  --delta-margin F            serve a delta only when <= F x full (default 0.8) delta_margin\n"
            "  --delta-workers N           delta generator threads (default 1)               delta_workers\n"
            "  --delta-retry-after S       Retry-After of the code 43 answer (default 30)    delta_retry_after\n"
            "  --delta-while-generating M  wait (code 43, default) or full                   delta_while_generating\n"
            "  --webhook-url URL           POST rollout and ban events (JSON) to this\n"
            "                              http:// URL (default: none)                       webhook_url\n"
            "  --webhook-secret-file FILE  sign them with HMAC-SHA256 of this secret         webhook_secret_file\n"
            "  --webhook-tries N           tries per event before it is dropped (default 5)  webhook_tries\n"
            "  --limit-device-burst N      checks a device may make in a row (default 10;\n"
            "                              0: no per-device limit)                           limit_device_burst\n"
            "  --limit-device-interval S   then one check per S seconds (default 10)         limit_device_interval\n"
            "  --limit-address-rate N      checks per second per client address (default\n"
            "                              100; 0: no per-address limit)                     limit_address_rate\n"
            "  --limit-address-burst N     burst of the per-address limit (default 1000)     limit_address_burst\n"
            "  --limit-new-devices-rate N  devices first seen per minute per address\n"
            "                              (default 600; 0: no limit)                        limit_new_devices_rate\n"
            "  --limit-new-devices-burst N burst of that limit (default 1000)                limit_new_devices_burst\n"
            "  --downloads-max N           package downloads at once, server-wide (default\n"
            "                              2000; 0: no cap)                                  downloads_max\n"
            "  --downloads-per-address N   package downloads at once per address (default\n"
            "                              200; 0: no cap)                                   downloads_per_address\n"
            "  --device-expire-days N      forget devices never sent a whole package and\n"
            "                              unseen for N days (default 60; 0: never)          device_expire_days\n"
            "  -h, --help                  this help\n"
            "\n"
            "On start it prints the device check URL (ending in '?', ready for a device\n"
            "script), the admin API URL and, on the first start only, the admin token,\n"
            "and writes DIR/serve.json with the local URL and pid. Stop with Ctrl-C\n"
            "(SIGINT) or SIGTERM. GET /healthz and GET /readyz answer without a token.\n"
            "Under systemd (Type=notify) it sends READY=1 and, with WatchdogSec=,\n"
            "WATCHDOG=1 while it answers /healthz.\n"
            "See docs/server.md, docs/api.md and docs/operations.md.\n");
}

static const struct {
    const char *flag;
    const char *key;
} flag_keys[] = {
    {"--listen", "listen"},
    {"--data", "data"},
    {"--db", "db"},
    {"--db-pool", "db_pool"},
    {"--public-url", "public_url"},
    {"--log-level", "log_level"},
    {"--threads", "threads"},
    {"--max-connections", "max_connections"},
    {"--timeout", "connection_timeout"},
    {"--conn-memory", "connection_memory"},
    {"--upload-max", "upload_max"},
    {"--max-daily-deliveries", "max_daily_deliveries"},
    {"--retention-events", "retention_events"},
    {"--retention-days", "retention_days"},
    {"--audit-retention-days", "audit_retention_days"},
    {"--push", "push"},
    {"--mqtt", "mqtt"},
    {"--push-rate", "push_rate"},
    {"--push-key-file", "push_key_file"},
    {"--signing-key", "signing_key"},
    {"--signing-pubkey", "signing_pubkey"},
    {"--delta-margin", "delta_margin"},
    {"--delta-workers", "delta_workers"},
    {"--delta-retry-after", "delta_retry_after"},
    {"--delta-while-generating", "delta_while_generating"},
    {"--tls-listen", "tls_listen"},
    {"--tls-cert", "tls_cert"},
    {"--tls-key", "tls_key"},
    {"--tls-client-ca", "tls_client_ca"},
    {"--tls-ciphers", "tls_ciphers"},
    {"--trusted-proxies", "trusted_proxies"},
    {"--webhook-url", "webhook_url"},
    {"--webhook-secret-file", "webhook_secret_file"},
    {"--webhook-tries", "webhook_tries"},
    {"--limit-device-burst", "limit_device_burst"},
    {"--limit-device-interval", "limit_device_interval"},
    {"--limit-address-rate", "limit_address_rate"},
    {"--limit-address-burst", "limit_address_burst"},
    {"--limit-new-devices-rate", "limit_new_devices_rate"},
    {"--limit-new-devices-burst", "limit_new_devices_burst"},
    {"--downloads-max", "downloads_max"},
    {"--downloads-per-address", "downloads_per_address"},
    {"--device-expire-days", "device_expire_days"},
};

/* 0 ok, 1 help shown, 2 usage error */
static int parse_args(of_config *c, int argc, char **argv)
{
    char err[512];
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return 1;
        }
    }
    config_defaults(c);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *eq = strchr(a, '=');
        size_t fl = eq ? (size_t)(eq - a) : strlen(a);
        if (fl == 8 && !strncmp(a, "--config", 8)) {
            const char *v = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
            if (v == NULL) {
                fprintf(stderr, "openfota serve: --config needs a file\n");
                return 2;
            }
            if (config_load_file(c, v, err, sizeof err) < 0) {
                fprintf(stderr, "openfota serve: %s\n", err);
                return 2;
            }
        }
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *eq = strchr(a, '=');
        size_t fl = eq ? (size_t)(eq - a) : strlen(a);
        if (fl == 8 && !strncmp(a, "--config", 8)) {
            if (!eq)
                i++;
            continue;
        }
        if (!strcmp(a, "--admin-tls-only")) { /* a switch: no value */
            c->admin_tls_only = 1;
            continue;
        }
        const char *key = NULL;
        for (size_t k = 0; k < sizeof flag_keys / sizeof flag_keys[0]; k++)
            if (strlen(flag_keys[k].flag) == fl && !strncmp(a, flag_keys[k].flag, fl))
                key = flag_keys[k].key;
        if (key == NULL) {
            fprintf(stderr, "openfota serve: unknown option '%s' (see openfota serve --help)\n", a);
            return 2;
        }
        const char *v = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (v == NULL) {
            fprintf(stderr, "openfota serve: %.*s needs a value\n", (int)fl, a);
            return 2;
        }
        if (config_set(c, key, v, err, sizeof err) < 0) {
            fprintf(stderr, "openfota serve: %.*s: %s\n", (int)fl, a, err);
            return 2;
        }
    }
    return 0;
}

static int write_file_atomic(const char *dir, const char *name, const char *text, mode_t mode)
{
    char tmp[CONFIG_STR_MAX + 64], path[CONFIG_STR_MAX + 64];
    if (snprintf(tmp, sizeof tmp, "%s/.%s.tmp", dir, name) >= (int)sizeof tmp ||
        snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        return -1;
    size_t l = strlen(text);
    if (write(fd, text, l) != (ssize_t)l || fsync(fd) < 0) {
        close(fd);
        unlink(tmp);
        return -1;
    }
    close(fd);
    if (rename(tmp, path) < 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* Read or create <data>/admin.token, and make its token the admin token
 * "initial" (admin/auth.h). The file is made only when it is missing and no
 * admin token exists (first start, or every admin token lost): deleting it
 * and restarting is how an operator who lost them all gets one back.
 * 1 created, 0 read or not needed (s->token "" then), -1 error. */
static int load_token(of_server *s)
{
    char path[CONFIG_STR_MAX + 64];
    snprintf(path, sizeof path, "%s/admin.token", s->data);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        char buf[256];
        ssize_t n = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (n < 0)
            n = 0;
        buf[n] = 0;
        size_t l = 0;
        while (l < (size_t)n && buf[l] > ' ')
            l++;
        if (l < 16 || l > ADMIN_TOKEN_HEX) {
            log_error("%s must hold one token of 16 to 64 characters; delete it to get a new one", path);
            return -1;
        }
        memcpy(s->token, buf, l);
        s->token[l] = 0;
        return auth_tokens_sync_initial(s->auth, s->token) < 0 ? -1 : 0;
    }
    int need = auth_tokens_sync_initial(s->auth, NULL);
    if (need <= 0) {
        s->token[0] = 0; /* admin tokens exist: none is written to a file */
        return need;
    }
    unsigned char rnd[32];
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) {
        log_error("cannot get random bytes for the admin token: %s", strerror(errno));
        return -1;
    }
    for (int i = 0; i < 32; i++)
        snprintf(s->token + 2 * i, 3, "%02x", rnd[i]);
    char text[80];
    snprintf(text, sizeof text, "%s\n", s->token);
    if (write_file_atomic(s->data, "admin.token", text, 0600) < 0) {
        log_error("cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    chmod(path, 0600);
    return auth_tokens_sync_initial(s->auth, s->token) < 0 ? -1 : 1;
}

static int load_device_cb(void *arg, const dev_state *st) { return devtab_load(arg, st); }

/* A delta row into the in-memory index; a ready delta whose blob is gone is
 * left out (it is made again on need). */
static int load_delta_cb(void *arg, const store_delta *d)
{
    of_server *s = arg;
    if (d->state != DELTA_READY && d->state != DELTA_NOT_SMALLER)
        return 0;
    if (d->state == DELTA_READY) {
        int fd = blob_open(s->data, d->sha256);
        if (fd < 0) {
            log_warn("deltas: the blob of delta %lld -> %lld is missing; it is made again on need",
                     (long long)d->base_id, (long long)d->target_id);
            return 0;
        }
        close(fd);
    }
    dc_entry e;
    memset(&e, 0, sizeof e);
    e.base_id = d->base_id;
    e.target_id = d->target_id;
    e.state = d->state;
    e.size = d->size;
    e.full_size = d->full_size;
    memcpy(e.sha256, d->sha256, sizeof e.sha256);
    e.created = d->created;
    return dcache_put(s->deltas, &e) == 0 ? 0 : -1;
}

int server_reload(of_server *s)
{
    catalog c;
    store_err e = s->st->ops->load_catalog(s->st, &c);
    if (e != STORE_OK) {
        log_error("cannot reload the catalog (%s): device checks keep the previous view until the next change",
                  store_strerror(e));
        return -1;
    }
    snapshot *snap = snapshot_build(&c);
    if (snap == NULL) {
        log_error("out of memory rebuilding the catalog view: device checks keep the previous view");
        return -1;
    }
    snap_swap(&s->snaps, snap);
    return 0;
}

static void not_found(http_req *r)
{
    static const char body[] =
        "{\"error\":\"not found\",\"hint\":\"devices use /api/site/firmware_upgrade? or /upgrade?, "
        "files /download/NAME, tools /admin/v1/...\"}";
    http_reply(r, 404, "application/json", body, sizeof body - 1, NULL, 0);
}

static void route(void *ctx, http_req *r, http_phase phase, const char *data, size_t len)
{
    of_server *s = ctx;
    const char *p = r->path;
    size_t pl = r->path_len;
    if (check_is_path(p, pl) || !strncmp(p, "/upgrade", 8) || !strncmp(p, "/api/site/firmware_upgrade", 26)) {
        if (check_is_path(p, pl) || query_path_mistake(p, pl, &(size_t){0})) {
            check_handle(s, r, phase, data, len);
            return;
        }
    }
    if (pl == 21 && !strncmp(p, "/api/v1/device/status", 21)) {
        report_handle(s, r, phase, data, len);
        return;
    }
    if (health_is_path(p, pl)) {
        health_handle(s, r, phase);
        return;
    }
    if (pl > 10 && !strncmp(p, "/download/", 10)) {
        static_handle(s, r, phase);
        return;
    }
    if (pl == 8 && !strncmp(p, "/metrics", 8)) {
        metrics_handle(s, r, phase);
        return;
    }
    if ((pl == 9 && !strncmp(p, "/admin/v1", 9)) || !strncmp(p, "/admin/v1/", 10)) {
        if (s->cfg.admin_tls_only && !http_is_tls(r)) {
            if (phase == HTTP_PHASE_HEADERS) {
                static const char body[] = "{\"error\":\"the admin API answers only over HTTPS on this server\","
                                           "\"hint\":\"use the https:// admin URL (admin_tls_only is set)\"}";
                http_reply(r, 403, "application/json", body, sizeof body - 1, NULL, 0);
            }
            return;
        }
        admin_handle(s, r, phase, data, len);
        return;
    }
    if (console_is_path(p, pl)) {
        console_handle(s, r, phase, data, len);
        return;
    }
    if (phase == HTTP_PHASE_END)
        not_found(r);
}

/* scheme://host:port as a client on this machine reaches a listener on
 * host ("0.0.0.0" and "::" are reached on loopback). */
static void url_for(const char *scheme, const char *host, unsigned port, char *out, size_t cap)
{
    if (!strcmp(host, "0.0.0.0"))
        snprintf(out, cap, "%s://127.0.0.1:%u", scheme, port);
    else if (!strcmp(host, "::"))
        snprintf(out, cap, "%s://[::1]:%u", scheme, port);
    else if (strchr(host, ':'))
        snprintf(out, cap, "%s://[%s]:%u", scheme, host, port);
    else
        snprintf(out, cap, "%s://%s:%u", scheme, host, port);
}

/* A non-loopback IPv4 address of this host for the printed device URL. */
static void guess_host(char *out, size_t cap)
{
    struct ifaddrs *ifs = NULL;
    snprintf(out, cap, "127.0.0.1");
    if (getifaddrs(&ifs) < 0)
        return;
    for (struct ifaddrs *i = ifs; i; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || (i->ifa_flags & IFF_LOOPBACK))
            continue;
        inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, out, (socklen_t)cap);
        break;
    }
    freeifaddrs(ifs);
}

static void first_screen(of_server *s, int created)
{
    printf("openfota %s: update server running (data folder %s)%s\n\n", OPENFOTA_VERSION, s->data,
           created ? ", first start: database and admin token created" : "");
    printf("  Device check URL   %s/api/site/firmware_upgrade?\n", s->base_url);
    if (s->tls_base_url[0] && strcmp(s->tls_base_url, s->base_url))
        printf("  ... over HTTPS     %s/api/site/firmware_upgrade?\n", s->tls_base_url);
    printf("  Static downloads   %s/download/<name>\n", s->base_url);
    printf("  Admin API          %s/admin/v1\n", s->base_url);
    printf("  Web console        %s/   (log in with an admin token)\n", s->base_url);
    /* The token is shown once, on the start that made it; later starts
     * (whose output may go to a journal kept for months) name its file only. */
    if (created)
        printf("  Admin token        %s   (admin token 'initial', in %s/admin.token; shown on this first start "
               "only)\n\n",
               s->token, s->data);
    else if (s->token[0])
        printf("  Admin token        in %s/admin.token (admin token 'initial'; the admin commands read it from "
               "there)\n\n",
               s->data);
    else
        printf("  Admin tokens       %zu named token(s); list them with: openfota token list --token TOKEN\n\n",
               auth_tokens_count(s->auth, ROLE_VIEWER));
    /* Name the program the way the operator started it (build/openfota from
     * a clone, openfota when installed), so the commands can be pasted. */
    const char *prog = program_invocation_name && program_invocation_name[0] ? program_invocation_name : "openfota";
    printf("Next steps (in another terminal, in this folder):\n");
    printf("  1. %s project add demo          # prints the project key\n", prog);
    printf("  2. %s package add --project demo --firmware FOTA2_DEMO_LuatOS-SoC_Air780EHV \\\n"
           "       --version 2012.001.002 update.bin   # a Luat upgrade .bin (any other file: --raw)\n", prog);
    printf("  3. in the device script (the URL must end with '?'):\n");
    printf("       libfota2.request(fota_cb, {url = \"%s/api/site/firmware_upgrade?\", project_key = \"KEY\"})\n",
           s->base_url);
    if (s->tls_base_url[0] && strcmp(s->tls_base_url, s->base_url))
        printf("     over HTTPS (modules speak TLS 1.2; add server_cert = \"<CA PEM>\" to verify this server):\n"
               "       libfota2.request(fota_cb, {url = \"%s/api/site/firmware_upgrade?\", project_key = \"KEY\"})\n",
               s->tls_base_url);
    printf("  Static '###' links: %s file put FILE   (prints the URL to paste after ###)\n", prog);
    printf("  Rehearse with simulated devices: %s sim --url %s/api/site/firmware_upgrade? \\\n"
           "       --project-key KEY --firmware FOTA2_DEMO_LuatOS-SoC_Air780EHV --version 2012.001.001 --devices 100\n\n",
           prog, s->base_url);
    fflush(stdout);
}

/* The log line of a listener naming the socket's real address: a wildcard
 * listen says it is on every address, with the URL to use from here. */
static void log_listening(const of_server *s, const char *host, unsigned port, const char *url, const char *what,
                          const char *tail)
{
    if (!strcmp(host, "0.0.0.0") || !strcmp(host, "::"))
        log_info("listening on %s%s%s:%u, every address of this machine (from here: %s) (%s%u threads, %u connections "
                 "max)%s",
                 host[0] == ':' ? "[" : "", host, host[0] == ':' ? "]" : "", port, url, what, s->cfg.threads,
                 s->cfg.max_connections, tail);
    else
        log_info("listening on %s (%s%u threads, %u connections max)%s", url, what, s->cfg.threads,
                 s->cfg.max_connections, tail);
}

int server_cli_serve(int argc, char **argv)
{
    static of_server srv;
    of_server *s = &srv;
    memset(s, 0, sizeof *s);
    int pa = parse_args(&s->cfg, argc, argv);
    if (pa == 1)
        return 0;
    if (pa == 2)
        return 2;
    log_set_level(s->cfg.log_level);
    int rc = 1;
    char err[1024];

    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (signed_keys_load(s, err, sizeof err) < 0) {
        fprintf(stderr, "openfota serve: %s\n", err);
        signed_keys_free(s);
        return 1;
    }
    memcpy(s->data, s->cfg.data, sizeof s->data);
    if (mkdir(s->data, 0700) < 0 && errno != EEXIST) {
        fprintf(stderr, "openfota serve: cannot create the data folder %s: %s\n", s->data, strerror(errno));
        return 1;
    }
    if (datalock_acquire(s->data, err, sizeof err) < 0) { /* held until exit */
        fprintf(stderr, "openfota serve: %s\n", err);
        return 1;
    }
    if (blobs_init(s->data, err, sizeof err) < 0) {
        fprintf(stderr, "openfota serve: %s\n", err);
        return 1;
    }
    if (!s->cfg.db[0])
        diskguard_before_open(s->data);
    s->st = s->cfg.db[0] ? store_pg_open(s->cfg.db, s->cfg.db_pool, err, sizeof err)
                         : store_sqlite_open(s->data, err, sizeof err);
    if (s->st == NULL) {
        fprintf(stderr, "openfota serve: %s\n", err);
        return 1;
    }
    s->auth = auth_tokens_open(s->st, err, sizeof err);
    if (s->auth == NULL) {
        fprintf(stderr, "openfota serve: %s\n", err);
        s->st->ops->close(s->st);
        return 1;
    }
    int created = load_token(s);
    if (created < 0) {
        auth_tokens_free(s->auth);
        s->st->ops->close(s->st);
        return 1;
    }
    audit_prune(s);
    diskguard_private_files(s->data);
    diskguard_collect_orphans(s->st, s->data);
    diskguard_reserve_make(s->data);
    char dbwhere[CONFIG_STR_MAX + 32];
    snprintf(dbwhere, sizeof dbwhere, "%s%s", s->cfg.db[0] ? "the PostgreSQL database" : s->data,
             s->cfg.db[0] ? "" : "/openfota.db");
    pthread_mutex_init(&s->admin_mu, NULL);
    if (console_start(s) < 0) {
        fprintf(stderr, "openfota serve: out of memory for the console's sessions\n");
        goto out_store;
    }
    s->started = (int64_t)time(NULL);
    catalog c;
    snapshot *snap = NULL;
    if (s->st->ops->load_catalog(s->st, &c) != STORE_OK || (snap = snapshot_build(&c)) == NULL) {
        fprintf(stderr, "openfota serve: cannot load the catalog from %s\n", dbwhere);
        goto out_store;
    }
    snap_holder_init(&s->snaps, snap);
    s->devices = devtab_new();
    if (s->devices == NULL || s->st->ops->load_devices(s->st, load_device_cb, s->devices) != STORE_OK) {
        fprintf(stderr, "openfota serve: cannot load devices from %s\n", dbwhere);
        goto out_snap;
    }
    s->deltas = dcache_new();
    if (s->deltas == NULL || s->st->ops->deltas_load(s->st, load_delta_cb, s) != STORE_OK) {
        fprintf(stderr, "openfota serve: cannot load the delta index from %s\n", dbwhere);
        goto out_dev;
    }
    if (report_auth_load(s) < 0)
        goto out_dev;
    s->guard = guard_new(s);
    if (s->guard == NULL)
        log_warn("limits: out of memory for the flood limit tables: checks are not rate limited");
    guard_count_devices(s);
    s->wr = writer_start(s->st, s->devices, s->cfg.retention_events, s->cfg.retention_days);
    if (s->wr == NULL) {
        fprintf(stderr, "openfota serve: cannot start the writer thread\n");
        goto out_dev;
    }
    writer_set_expiry(s->wr, s->cfg.device_expire_days);
    if (s->keys.signer) {
        s->dgen = delta_gen_start(s, s->cfg.delta_workers);
        if (s->dgen == NULL) {
            fprintf(stderr, "openfota serve: cannot start the delta generator threads\n");
            goto out_writer;
        }
        log_info("deltas: %u generator thread(s); a delta is served when at most %.2f x the full package; while "
                 "one is made libfota2 devices get %s",
                 s->cfg.delta_workers, s->cfg.delta_margin,
                 s->cfg.delta_full_while_generating ? "the full package" : "code 43 (retry)");
    }
    char latest[256];
    int ln = snprintf(latest, sizeof latest, "{\"code\":27,\"msg\":\"%s\"}", rules_msg_latest);
    s->pre[PRE_LATEST] = http_prebuilt_new(404, "application/json", latest, (size_t)ln, NULL, 0);

    {
        of_config defaults;
        config_defaults(&defaults);
        char msg[512];
        /* the HTTP and the HTTPS listener each take up to max_connections */
        unsigned listeners = (s->cfg.listen[0] ? 1u : 0u) + (s->cfg.tls_listen[0] ? 1u : 0u);
        int fit = fdlimit_fit(&s->cfg.max_connections, listeners ? listeners : 1u,
                              s->cfg.max_connections == defaults.max_connections, msg, sizeof msg);
        if (fit < 0) {
            fprintf(stderr, "openfota serve: %s\n", msg);
            log_error("%s", msg);
            goto out_writer;
        }
        if (fit > 0)
            log_warn("%s", msg);
    }
    char host[256] = "", thost[256] = "";
    unsigned port = 0, tport = 0;
    proxy_list proxies;
    proxy_list_parse(s->cfg.trusted_proxies, &proxies, err, sizeof err); /* checked when the setting was read */
    http_options ho = {
        .proxies = &proxies,
        .threads = s->cfg.threads,
        .max_connections = s->cfg.max_connections,
        .timeout_s = s->cfg.conn_timeout,
        .conn_memory = s->cfg.conn_memory,
        .isolate_prefix = "/admin/",
        .isolate_path = "/metrics", /* a scrape sums and scans on the admin worker */
    };
    if (!s->cfg.listen[0] && !s->cfg.tls_listen[0]) {
        fprintf(stderr, "openfota serve: --listen none needs --tls-listen: the server must listen somewhere\n");
        goto out_writer;
    }
    if (s->cfg.listen[0]) {
        config_split_listen(s->cfg.listen, host, sizeof host, &port);
        ho.host = host;
        ho.port = port;
        s->http = http_start(&ho, route, s, err, sizeof err);
        if (s->http == NULL) {
            fprintf(stderr, "openfota serve: %s\n", err);
            goto out_writer;
        }
        port = http_port(s->http);
    }
    if (s->cfg.tls_listen[0]) {
        tls_options to = {s->cfg.tls_cert, s->cfg.tls_key, s->cfg.tls_client_ca[0] ? s->cfg.tls_client_ca : NULL,
                          s->cfg.tls_ciphers[0] ? s->cfg.tls_ciphers : NULL};
        s->tls = tls_open(&to, err, sizeof err);
        if (s->tls == NULL) {
            fprintf(stderr, "openfota serve: %s\n", err);
            http_stop(s->http);
            goto out_writer;
        }
        config_split_listen(s->cfg.tls_listen, thost, sizeof thost, &tport);
        ho.host = thost;
        ho.port = tport;
        ho.tls = s->tls;
        s->https = http_start(&ho, route, s, err, sizeof err);
        if (s->https == NULL) {
            fprintf(stderr, "openfota serve: HTTPS: %s\n", err);
            http_stop(s->http);
            tls_free(s->tls);
            goto out_writer;
        }
        tport = http_port(s->https);
        char what[400];
        tls_describe(s->tls, what, sizeof what);
        log_info("https: certificate %s", what);
    }
    char local[300] = "", tlocal[300] = "";
    if (s->http)
        url_for("http", host, port, local, sizeof local);
    if (s->https)
        url_for("https", thost, tport, tlocal, sizeof tlocal);
    if (s->cfg.public_url[0]) {
        memcpy(s->base_url, s->cfg.public_url, sizeof s->cfg.public_url);
    } else {
        const char *h = s->http ? host : thost;
        unsigned pt = s->http ? port : tport;
        if (!strcmp(h, "0.0.0.0") || !strcmp(h, "::")) {
            char g[64];
            guess_host(g, sizeof g);
            snprintf(s->base_url, sizeof s->base_url, "%s://%s:%u", s->http ? "http" : "https", g, pt);
        } else {
            snprintf(s->base_url, sizeof s->base_url, "%s", s->http ? local : tlocal);
        }
    }
    if (s->https) {
        /* the device URL over HTTPS: the public URL's host when it is https,
         * else this listener's */
        if (!strncmp(s->base_url, "https://", 8)) {
            snprintf(s->tls_base_url, sizeof s->tls_base_url, "%s", s->base_url);
        } else if (!strcmp(thost, "0.0.0.0") || !strcmp(thost, "::")) {
            char g[64];
            guess_host(g, sizeof g);
            snprintf(s->tls_base_url, sizeof s->tls_base_url, "https://%s:%u", g, tport);
        } else {
            snprintf(s->tls_base_url, sizeof s->tls_base_url, "%s", tlocal);
        }
    }
    if (fleet_glue_start(s) < 0) {
        fprintf(stderr, "openfota serve: the push/rollout component did not start (see the log)\n");
        http_stop(s->http);
        http_stop(s->https);
        tls_free(s->tls);
        fleet_destroy(s->fleet);
        goto out_writer;
    }
    char json[1800];
    snprintf(json, sizeof json,
             "{\"url\":\"%s\",\"tls_url\":\"%s\",\"pid\":%ld,\"public_url\":\"%s\",\"push_port\":%d}\n",
             local[0] ? local : tlocal, tlocal, (long)getpid(), s->base_url, fleet_push_port(s->fleet));
    if (write_file_atomic(s->data, "serve.json", json, 0644) < 0)
        log_warn("cannot write %s/serve.json: %s", s->data, strerror(errno));
    first_screen(s, created == 1);
    if (s->http)
        log_listening(s, host, port, local, "", "");
    if (s->https)
        log_listening(s, thost, tport, tlocal, "HTTPS, ", s->cfg.admin_tls_only ? "; the admin API only here" : "");
    sdnotify_send("READY=1"); /* under systemd (Type=notify): started, serving */
    sdnotify_watchdog *wd = s->http ? sdnotify_watchdog_start(host, port, 0, sdnotify_watchdog_usec())
                                    : sdnotify_watchdog_start(thost, tport, 1, sdnotify_watchdog_usec());

    int sig = 0;
    for (;;) {
        sigwait(&sigs, &sig);
        if (sig != SIGHUP)
            break;
        if (s->tls == NULL) {
            log_info("SIGHUP received: no HTTPS listener, nothing to re-read");
            continue;
        }
        char what[400];
        if (tls_reload(s->tls, err, sizeof err) < 0) {
            log_error("SIGHUP: %s; HTTPS keeps the certificate it had", err);
            continue;
        }
        tls_describe(s->tls, what, sizeof what);
        log_info("SIGHUP: certificate and key re-read; new HTTPS connections get %s", what);
    }
    log_info("%s received: stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
    sdnotify_send("STOPPING=1");
    sdnotify_watchdog_stop(wd);
    http_stop(s->http);
    http_stop(s->https);
    tls_free(s->tls);
    s->tls = NULL;
    fleet_destroy(s->fleet); /* after HTTP: no check or admin call can reach it now */
    webhook_destroy(s->webhook, 3000); /* after the fleet, its last producer */
    delta_gen_stop(s->dgen); /* a delta being made is finished and kept */
    s->dgen = NULL;
    rc = 0;
    char sj[CONFIG_STR_MAX + 64];
    snprintf(sj, sizeof sj, "%s/serve.json", s->data);
    unlink(sj);
out_writer:
    delta_gen_stop(s->dgen);
    writer_stop(s->wr);
    for (int i = 0; i < PRE_COUNT; i++)
        http_prebuilt_free(s->pre[i]);
out_dev:
    dcache_free(s->deltas);
    guard_free(s->guard);
    s->guard = NULL;
    devtab_free(s->devices);
out_snap:
    snap_holder_destroy(&s->snaps);
out_store:
    auth_tokens_free(s->auth);
    s->st->ops->close(s->st);
    console_stop(s);
    pthread_mutex_destroy(&s->admin_mu);
    signed_keys_free(s);
    if (rc == 0)
        log_info("stopped cleanly");
    return rc;
}

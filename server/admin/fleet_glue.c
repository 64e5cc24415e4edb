/*
 * fleet_glue.c — the server's side of the fleet component (fleet/,
 * offleet.h): the hooks through which push channels and staged rollouts see
 * the server's devices and packages, and its start. The fleet keeps its own
 * state in <data>/fleet/. Hooks answer from memory (device table, snapshot).
 */
#include "server.h"

#include "log.h"
#include "offleet.h"
#include "webhook.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void copy(char *dst, size_t cap, const char *src)
{
    size_t l = strlen(src);
    if (l >= cap)
        l = cap - 1;
    memcpy(dst, src, l);
    dst[l] = 0;
}

static int h_check_url(void *ctx, const char *project, const char *firmware, const char *device, char *buf,
                       size_t size)
{
    of_server *s = ctx;
    (void)project;
    (void)firmware;
    (void)device;
    int n = snprintf(buf, size, "%s/api/site/firmware_upgrade?", s->base_url);
    return n > 0 && (size_t)n < size ? 0 : -1;
}

static int h_device_info(void *ctx, const char *id, fleet_device_info *out)
{
    of_server *s = ctx;
    dev_entry *e = devtab_lock(s->devices, id, 0);
    if (e == NULL)
        return -1;
    dev_state st = *devtab_state(e);
    devtab_unlock(s->devices, e);
    memset(out, 0, sizeof *out);
    snapshot *snap = snap_acquire(&s->snaps);
    const snap_project *sp = st.project_id ? snap_project_by_id(snap, st.project_id) : NULL;
    if (sp)
        copy(out->project, sizeof out->project, sp->p->key);
    snapshot_unref(snap);
    copy(out->firmware, sizeof out->firmware, st.firmware);
    if (st.has_version)
        version_format(&st.version, out->version, sizeof out->version);
    return 0;
}

static int h_device_foreach(void *ctx, const char *project, const char *firmware,
                            int (*fn)(void *arg, const char *id), void *arg)
{
    of_server *s = ctx;
    snapshot *snap = snap_acquire(&s->snaps);
    const snap_project *sp = snap_project_by_key(snap, project, strlen(project));
    int64_t pid = sp ? sp->p->id : -1;
    snapshot_unref(snap);
    if (pid < 0)
        return 0;
    dev_state *all = NULL;
    size_t n = 0;
    if (devtab_snapshot_all(s->devices, &all, &n) < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (all[i].project_id != pid || (firmware && *firmware && strcmp(all[i].firmware, firmware) != 0))
            continue;
        if (fn(arg, all[i].id))
            break;
    }
    free(all);
    return 0;
}

static int h_package_info(void *ctx, const char *id, fleet_package_info *out)
{
    of_server *s = ctx;
    char *end;
    long long v = strtoll(id, &end, 10);
    if (*end || end == id || v <= 0)
        return -1;
    int rc = -1;
    snapshot *snap = snap_acquire(&s->snaps);
    const cat_package *pk = snap_package_by_id(snap, v);
    if (pk) {
        const snap_project *sp = snap_project_by_id(snap, pk->project_id);
        const char *fw = NULL;
        for (size_t i = 0; sp && i < sp->nfw; i++)
            if (sp->fws[i].fw->id == pk->firmware_id)
                fw = sp->fws[i].fw->name;
        if (sp && fw) {
            memset(out, 0, sizeof *out);
            copy(out->project, sizeof out->project, sp->p->key);
            copy(out->firmware, sizeof out->firmware, fw);
            version_format(&pk->ver, out->version, sizeof out->version);
            out->size = pk->size;
            rc = 0;
        }
    }
    snapshot_unref(snap);
    return rc;
}

static void h_log(void *ctx, int level, const char *msg)
{
    (void)ctx;
    log_msg(level < LOG_ERROR ? LOG_ERROR : level > LOG_DEBUG ? LOG_DEBUG : level, "%s", msg);
}

static void h_notify(void *ctx, const char *event, const char *json)
{
    of_server *s = ctx;
    json_error_t err;
    json_t *data = json_loads(json, 0, &err);
    webhook_post(s->webhook, event, data);
}

/* The webhook secret: the file's bytes without a trailing newline. */
static int load_webhook_secret(const char *path, unsigned char *out, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL) {
        log_error("webhook_secret_file %s: %s", path, strerror(errno));
        return -1;
    }
    size_t n = fread(out, 1, WEBHOOK_SECRET_MAX, fp);
    int big = n == WEBHOOK_SECRET_MAX && fgetc(fp) != EOF;
    fclose(fp);
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r'))
        n--;
    if (big || n == 0) {
        log_error("webhook_secret_file %s: %s", path,
                  big ? "larger than 256 bytes" : "empty; put a secret in it, e.g. openssl rand -hex 32");
        return -1;
    }
    struct stat st;
    if (stat(path, &st) == 0 && (st.st_mode & 077))
        log_warn("webhook_secret_file %s can be read by other users (chmod 600 it)", path);
    *len = n;
    return 0;
}

/* Starts the webhook sender when webhook_url is set. 0 ok (or none), -1 failed (logged). */
static int webhook_glue_start(of_server *s)
{
    if (!s->cfg.webhook_url[0])
        return 0;
    unsigned char secret[WEBHOOK_SECRET_MAX];
    size_t slen = 0;
    if (s->cfg.webhook_secret_file[0] && load_webhook_secret(s->cfg.webhook_secret_file, secret, &slen) < 0)
        return -1;
    webhook_config wc = {.url = s->cfg.webhook_url, .secret = secret, .secret_len = slen,
                         .tries = s->cfg.webhook_tries};
    char err[256];
    s->webhook = webhook_create(&wc, err, sizeof err);
    memset(secret, 0, sizeof secret);
    if (s->webhook == NULL) {
        log_error("%s", err);
        return -1;
    }
    log_info("webhook: events go to %s%s", s->cfg.webhook_url, slen ? " (signed)" : "");
    return 0;
}

/* Reads the push master key (hex) from path into fc. */
static int load_push_key(fleet_config *fc, const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL) {
        log_msg(LOG_ERROR, "push_key_file %s: %s", path, strerror(errno));
        return -1;
    }
    char text[512];
    size_t n = fread(text, 1, sizeof text, fp);
    int big = n == sizeof text;
    fclose(fp);
    const char *why = "the file is larger than a push key";
    int rc = big ? -1 : fleet_config_push_key(fc, text, n, &why);
    memset(text, 0, sizeof text);
    if (rc < 0) {
        log_msg(LOG_ERROR, "push_key_file %s: %s", path, why);
        return -1;
    }
    struct stat st;
    if (stat(path, &st) == 0 && (st.st_mode & 077))
        log_msg(LOG_WARN, "push_key_file %s can be read by other users (chmod 600 it)", path);
    return 0;
}

static int fleet_start_with_hooks(of_server *s);

int fleet_glue_start(of_server *s)
{
    if (webhook_glue_start(s) < 0)
        return -1;
    if (fleet_start_with_hooks(s) < 0) {
        webhook_destroy(s->webhook, 0); /* the server does not start: nothing to deliver */
        s->webhook = NULL;
        return -1;
    }
    return 0;
}

static int fleet_start_with_hooks(of_server *s)
{
    fleet_config fc;
    fleet_config_default(&fc);
    fc.push_listen = s->cfg.push[0] ? s->cfg.push : NULL;
    fc.mqtt_broker = s->cfg.mqtt[0] ? s->cfg.mqtt : NULL;
    if (s->cfg.push_rate > 0)
        fc.rate_per_s = s->cfg.push_rate;
    if (s->cfg.push_key_file[0] && load_push_key(&fc, s->cfg.push_key_file) < 0)
        return -1;
    char dir[CONFIG_STR_MAX + 16];
    if (snprintf(dir, sizeof dir, "%s/fleet", s->data) >= (int)sizeof dir)
        return -1;
    fc.state_dir = dir;
    fleet_hooks h = {.ctx = s,
                     .check_url = h_check_url,
                     .device_info = h_device_info,
                     .device_foreach = h_device_foreach,
                     .package_info = h_package_info,
                     .log = h_log,
                     .notify = s->webhook ? h_notify : NULL};
    s->fleet = fleet_create(&fc, &h);
    if (s->fleet == NULL || fleet_start(s->fleet) != 0)
        return -1;
    return 0;
}

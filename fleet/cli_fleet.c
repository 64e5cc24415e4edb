/*
 * cli_fleet.c — `openfota push …` and `openfota rollout …`: thin clients of
 * the fleet admin routes (docs/fleet-api.md), over the shared admin client
 * (admin_client.h: server lookup, HTTP, error messages).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin_client.h"
#include "offleet.h"
#include "push_parse.h"

static const char common_help[] =
    "\ncommon options:\n"
    "  --url URL      server URL (else OPENFOTA_URL, else DIR/serve.json)\n"
    "  --token T      admin token (else OPENFOTA_TOKEN, else DIR/admin.token)\n"
    "  --data DIR     the server's data folder (default ./var)\n"
    "  --json         print the server's JSON answer\n";

/* Takes "--name V" or "--name=V" out of argv; NULL when absent. *bad set
 * when the value is missing. */
static const char *take(int *argc, char **argv, const char *name, int *bad)
{
    size_t nl = strlen(name);
    const char *val = NULL;
    int o = 0;
    for (int i = 0; i < *argc; i++) {
        if (!strcmp(argv[i], name)) {
            if (i + 1 >= *argc) {
                fprintf(stderr, "openfota: %s needs a value\n", name);
                *bad = 1;
                continue;
            }
            val = argv[++i];
        } else if (!strncmp(argv[i], name, nl) && argv[i][nl] == '=') {
            val = argv[i] + nl + 1;
        } else {
            argv[o++] = argv[i];
        }
    }
    *argc = o;
    return val;
}

static int take_flag(int *argc, char **argv, const char *name)
{
    int o = 0, found = 0;
    for (int i = 0; i < *argc; i++) {
        if (!strcmp(argv[i], name))
            found = 1;
        else
            argv[o++] = argv[i];
    }
    *argc = o;
    return found;
}

/* Takes the common options (--url V, --token V, --data V, --json; also the
 * --name=V form) out of argv into c, which is zeroed first and borrows the
 * values from argv. Returns 0, or -1 (message printed) when one lacks its
 * value. */
static int take_common(int *argc, char **argv, struct admin_ctx *c)
{
    int bad = 0;
    memset(c, 0, sizeof *c);
    c->opt_url = take(argc, argv, "--url", &bad);
    c->opt_token = take(argc, argv, "--token", &bad);
    c->opt_data = take(argc, argv, "--data", &bad);
    c->json = take_flag(argc, argv, "--json");
    return bad ? -1 : 0;
}

static int leftover_options(int argc, char **argv, const char *cmd)
{
    for (int i = 0; i < argc; i++) {
        if (argv[i][0] == '-' && argv[i][1] == '-') {
            fprintf(stderr, "openfota %s: unknown option %s (see --help)\n", cmd, argv[i]);
            return 1;
        }
    }
    return 0;
}

/* "90", "90s", "15m", "2h", "1d" → seconds; -1 when malformed */
static long long parse_duration(const char *s)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || v < 0)
        return -1;
    long long mul = 1;
    if (*end == 's')
        end++;
    else if (*end == 'm')
        mul = 60, end++;
    else if (*end == 'h')
        mul = 3600, end++;
    else if (*end == 'd')
        mul = 86400, end++;
    if (*end || v > 365LL * 86400 / mul)
        return -1;
    return v * mul;
}

static void print_json(json_t *j)
{
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (s)
        puts(s);
    free(s);
}

static long long jint(json_t *o, const char *k)
{
    return (long long)json_integer_value(json_object_get(o, k));
}

/* ---- push ------------------------------------------------------------------- */

static void push_help(FILE *out)
{
    fprintf(out,
            "usage: openfota push DEVICE_ID... [--ttl DURATION]\n"
            "       openfota push --project KEY [--firmware NAME] [--ttl DURATION]\n"
            "       openfota push status [PUSH_ID] [--devices]\n"
            "       openfota push rate PER_SECOND [--burst N]\n"
            "       openfota push key DEVICE_ID... [--key-file FILE]\n\n"
            "Sends the update command {\"fota\":\"true\",\"url\":\"<check URL>?\"} to devices\n"
            "connected to the push port (and publishes it on MQTT when the server has a\n"
            "broker). A device that is asleep gets it when it connects or checks next,\n"
            "until the push expires (--ttl, e.g. 3600, 90m, 2h, 1d; default: the server's).\n"
            "Pushes go out at the server's capped rate ('push rate' shows or changes it),\n"
            "so a fleet-wide push does not turn into a download stampede.\n"
            "'push key' prints each device's push key (64 hex digits, to program into the\n"
            "device) derived from the master key the server reads with --push-key-file\n"
            "(default file: DATA/push.key); it needs no running server.\n"
            "DEVICE_ID is the id a device sends in its checks: an IMEI (15 digits), a MAC\n"
            "(aa:bb:cc:dd:ee:ff or 12 hex digits) or an MCU unique id (12 to 32 hex digits);\n"
            "anything else is refused. 'push status PUSH_ID --devices' lists each device's\n"
            "state as a table (--json prints the server's JSON instead).\n");
    fputs(common_help, out);
}

static void print_push(json_t *p)
{
    json_t *st = json_object_get(p, "states");
    printf("push %s: %lld device(s)\n", json_string_value(json_object_get(p, "id")), jint(p, "targets"));
    printf("  queued %lld  sent %lld  published %lld  waiting %lld  checked %lld  expired %lld  superseded %lld  "
           "failed %lld\n",
           jint(st, "queued"), jint(st, "sent"), jint(st, "published"), jint(st, "waiting"), jint(st, "checked"),
           jint(st, "expired"), jint(st, "superseded"), jint(st, "failed"));
}

static void print_push_devices(json_t *devs)
{
    size_t i;
    json_t *d;
    printf("%-32s  %-10s  %s\n", "DEVICE", "STATE", "SINCE (UTC)");
    json_array_foreach(devs, i, d) {
        time_t at = (time_t)jint(d, "at");
        char when[32] = "-";
        struct tm tm;
        if (at > 0 && gmtime_r(&at, &tm))
            strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
        const char *id = json_string_value(json_object_get(d, "id"));
        const char *st = json_string_value(json_object_get(d, "state"));
        printf("%-32s  %-10s  %s\n", id ? id : "?", st ? st : "?", when);
    }
    if (json_array_size(devs) == 0)
        printf("(no devices)\n");
}

/* openfota push key: device keys from the master key file, offline. */
static int push_key_cmd(int n, char **ids, const char *key_file, const char *data)
{
    char path[1024];
    if (!key_file) {
        snprintf(path, sizeof path, "%s/push.key", data ? data : "./var");
        key_file = path;
    }
    FILE *fp = fopen(key_file, "rb");
    if (!fp) {
        fprintf(stderr, "openfota push key: %s: %s (the master key file the server reads with "
                        "--push-key-file; create one with: openssl rand -hex 32 > FILE)\n",
                key_file, strerror(errno));
        return 1;
    }
    char text[512];
    size_t len = fread(text, 1, sizeof text, fp);
    fclose(fp);
    fleet_config cfg;
    fleet_config_default(&cfg);
    const char *why = "the file is larger than a push key";
    int rc = len < sizeof text ? fleet_config_push_key(&cfg, text, len, &why) : FLEET_ERR_INVAL;
    memset(text, 0, sizeof text);
    if (rc) {
        fprintf(stderr, "openfota push key: %s: %s\n", key_file, why);
        return 1;
    }
    int bad = 0;
    for (int i = 0; i < n; i++) {
        char hex[65];
        if (fleet_push_device_key(cfg.push_key, cfg.push_key_len, ids[i], hex)) {
            fprintf(stderr, "openfota push key: '%s' is not a device id the push port accepts\n", ids[i]);
            bad = 1;
            continue;
        }
        if (n > 1)
            printf("%s %s\n", ids[i], hex); /* one line per device: id, key */
        else
            printf("%s\n", hex);
    }
    memset(&cfg, 0, sizeof cfg);
    return bad;
}

int fleet_cli_push(int argc, char **argv)
{
    argc--;
    argv++;
    for (int i = 0; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            push_help(stdout);
            return 0;
        }
    struct admin_ctx c;
    int bad = 0;
    if (take_common(&argc, argv, &c) < 0)
        return 2;
    if (argc >= 1 && !strcmp(argv[0], "key")) {
        const char *kf = take(&argc, argv, "--key-file", &bad);
        if (bad || leftover_options(argc, argv, "push key"))
            return 2;
        if (argc < 2) {
            fprintf(stderr, "openfota push key: name the device(s): openfota push key DEVICE_ID...\n");
            return 2;
        }
        return push_key_cmd(argc - 1, argv + 1, kf, c.opt_data);
    }
    json_t *out = NULL, *body = NULL;
    int rc = 1;
    if (argc >= 1 && !strcmp(argv[0], "status")) {
        argc--;
        argv++;
        int devices = take_flag(&argc, argv, "--devices");
        if (leftover_options(argc, argv, "push status") || argc > 1)
            return 2;
        if (admin_ctx_connect(&c))
            return 1;
        char path[256];
        if (argc == 1) {
            char *e = admin_escape(argv[0]);
            snprintf(path, sizeof path, "/admin/v1/push/%s%s", e ? e : "", devices ? "?devices=1" : "");
            free(e);
        } else {
            snprintf(path, sizeof path, "/admin/v1/push");
        }
        if (admin_request(&c, "GET", path, NULL, &out, NULL))
            goto out;
        if (c.json) {
            print_json(out);
        } else if (argc == 1) {
            print_push(out);
            if (devices) /* one row per device: id, state, when it changed */
                print_push_devices(json_object_get(out, "devices"));
        } else {
            json_t *r = json_object_get(out, "rate"), *t = json_object_get(out, "tcp"),
                   *m = json_object_get(out, "mqtt");
            printf("rate: %.3g/s (burst %.3g), %lld granted\n", json_number_value(json_object_get(r, "per_s")),
                   json_number_value(json_object_get(r, "burst")), jint(r, "granted"));
            if (json_is_object(t)) {
                printf("tcp push port %lld: %lld connected (%lld identified), %lld commands sent, refused: "
                       "%lld over cap, %lld bad first line, %lld long line, %lld handshake timeout",
                       jint(t, "port"), jint(t, "connected"), jint(t, "identified"), jint(t, "commands_sent"),
                       jint(t, "refused_cap"), jint(t, "bad_first_line"), jint(t, "long_lines"),
                       jint(t, "handshake_timeouts"));
                if (json_is_true(json_object_get(t, "auth")))
                    printf(", %lld failed authentication", jint(t, "auth_refused"));
                printf("\n");
            }
            else
                printf("tcp push port: off (start the server with --push HOST:PORT)\n");
            if (json_is_object(m))
                printf("mqtt %s: %s, topic %s, %lld published, %lld acknowledged\n",
                       json_string_value(json_object_get(m, "broker")),
                       json_is_true(json_object_get(m, "connected")) ? "connected" : "NOT connected",
                       json_string_value(json_object_get(m, "topic")), jint(m, "published"), jint(m, "acked"));
            else
                printf("mqtt: off (start the server with --mqtt HOST:PORT)\n");
            printf("open push targets: %lld\n", jint(out, "open_targets"));
            size_t i;
            json_t *p;
            json_array_foreach(json_object_get(out, "pushes"), i, p) print_push(p);
        }
        rc = 0;
        goto out;
    }
    if (argc >= 1 && !strcmp(argv[0], "rate")) {
        argc--;
        argv++;
        const char *burst = take(&argc, argv, "--burst", &bad);
        if (bad || leftover_options(argc, argv, "push rate") || argc > 1)
            return 2;
        if (admin_ctx_connect(&c))
            return 1;
        if (argc == 0) {
            if (admin_request(&c, "GET", "/admin/v1/push/rate", NULL, &out, NULL))
                goto out;
        } else {
            char *e;
            double per = strtod(argv[0], &e);
            if (*e || !(per > 0) || !isfinite(per)) {
                fprintf(stderr, "openfota push rate: give pushes per second as a number above 0, not '%s'\n",
                        argv[0]);
                rc = 2;
                goto out;
            }
            body = json_pack("{s:f}", "per_s", per);
            if (burst) {
                double b = strtod(burst, &e);
                if (*e || b < 1) {
                    fprintf(stderr, "openfota push rate: --burst takes a number of at least 1\n");
                    rc = 2;
                    goto out;
                }
                json_object_set_new(body, "burst", json_real(b));
            }
            if (admin_request(&c, "PUT", "/admin/v1/push/rate", body, &out, NULL))
                goto out;
        }
        if (c.json)
            print_json(out);
        else
            printf("push rate: %.3g/s (burst %.3g)\n", json_number_value(json_object_get(out, "per_s")),
                   json_number_value(json_object_get(out, "burst")));
        rc = 0;
        goto out;
    }
    const char *project = take(&argc, argv, "--project", &bad);
    const char *firmware = take(&argc, argv, "--firmware", &bad);
    const char *ttl = take(&argc, argv, "--ttl", &bad);
    if (bad || leftover_options(argc, argv, "push"))
        return 2;
    if ((argc == 0) == (project == NULL)) {
        fprintf(stderr, "openfota push: give device ids, or --project KEY [--firmware NAME] (not both)\n"
                        "  e.g. openfota push 860000000000009\n");
        return 2;
    }
    for (int i = 0; i < argc; i++) {
        const char *why = NULL;
        if (!push_device_id_valid(argv[i], strlen(argv[i]), &why)) {
            fprintf(stderr, "openfota push: '%s' is %s\n  give the id the device sends in its checks "
                            "(openfota device list)\n", argv[i], why);
            return 2;
        }
    }
    if (firmware && !project) {
        fprintf(stderr, "openfota push: --firmware needs --project\n");
        return 2;
    }
    long long ttl_s = 0;
    if (ttl && ((ttl_s = parse_duration(ttl)) < 1)) {
        fprintf(stderr, "openfota push: --ttl takes a duration like 3600, 90m, 2h or 1d, not '%s'\n", ttl);
        return 2;
    }
    body = json_object();
    if (argc) {
        json_t *a = json_array();
        for (int i = 0; i < argc; i++)
            json_array_append_new(a, json_string(argv[i]));
        json_object_set_new(body, "devices", a);
    } else {
        json_object_set_new(body, "project", json_string(project));
        if (firmware)
            json_object_set_new(body, "firmware", json_string(firmware));
    }
    if (ttl_s)
        json_object_set_new(body, "ttl_s", json_integer(ttl_s));
    if (admin_ctx_connect(&c)) {
        json_decref(body);
        return 1;
    }
    if (admin_request(&c, "POST", "/admin/v1/push", body, &out, NULL))
        goto out;
    if (c.json) {
        print_json(out);
    } else {
        print_push(out);
        printf("  going out at %.3g/s; follow it with: openfota push status %s\n",
               json_number_value(json_object_get(out, "rate_per_s")), json_string_value(json_object_get(out, "id")));
    }
    rc = 0;
out:
    json_decref(body);
    json_decref(out);
    admin_ctx_free(&c);
    return rc;
}

/* ---- rollout ------------------------------------------------------------------ */

static void rollout_help(FILE *out)
{
    fprintf(out,
            "usage: openfota rollout start --package ID [--project KEY --firmware NAME]\n"
            "                [--stages 1,10,50,100] [--stage-interval DURATION]\n"
            "                [--test-devices ID,ID,...] [--abort-ratio 0.2] [--abort-min 5]\n"
            "                [--promote-percent 95] [--promote-min N]\n"
            "       openfota rollout list [--project KEY] [--firmware NAME]\n"
            "       openfota rollout status ID\n"
            "       openfota rollout promote|resume|cancel ID\n"
            "       openfota rollout pause ID [--reason TEXT]\n"
            "       openfota rollout devices ID [--status STATUS] [--limit N]\n\n"
            "A rollout offers one package to a firmware's devices in stages. Test devices\n"
            "get it first (stage 'test'); then each stage lets a larger share of the devices\n"
            "have it, chosen by a stable hash of the device id. Stages advance after\n"
            "--stage-interval (e.g. 30m, 6h, 1d) once the stage has succeeded: at least one\n"
            "device offered in it, --promote-percent (default 95) of its offered devices\n"
            "on the new version and at least --promote-min (default 0) of them; or by\n"
            "hand with 'promote' at any time. The same test in the last stage marks the\n"
            "rollout finished.\n"
            "Device status is inferred from checks: offered, downloading, downloaded,\n"
            "succeeded, failed, silent, looping, banned. When failures among finished devices\n"
            "reach --abort-ratio (after --abort-min of them), the rollout pauses itself;\n"
            "'status' shows why. Fix the package, then 'resume' or 'cancel'.\n");
    fputs(common_help, out);
}

static void print_rollout(json_t *r)
{
    printf("rollout %s: package %s (version %s) to %s / %s\n", json_string_value(json_object_get(r, "id")),
           json_string_value(json_object_get(r, "package")), json_string_value(json_object_get(r, "target_version")),
           json_string_value(json_object_get(r, "project")), json_string_value(json_object_get(r, "firmware")));
    if (jint(r, "stage") == 0)
        printf("  state: %s, stage 0 (test devices only)\n", json_string_value(json_object_get(r, "state")));
    else
        printf("  state: %s, stage %lld (%g%% of the devices)%s\n", json_string_value(json_object_get(r, "state")),
               jint(r, "stage"), json_number_value(json_object_get(r, "percent")),
               json_is_true(json_object_get(r, "last_stage")) ? ", the last stage" : "");
    const char *why = json_string_value(json_object_get(r, "pause_reason"));
    if (why)
        printf("  paused: %s\n", why);
    json_t *next = json_object_get(r, "next_stage_at");
    if (json_is_integer(next)) {
        time_t at = (time_t)json_integer_value(next);
        struct tm tm;
        char when[32];
        gmtime_r(&at, &tm);
        strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
        long long in = (long long)(at - time(NULL));
        printf("  next stage: %s UTC (in %lld min %lld s)\n", when, in > 0 ? in / 60 : 0, in > 0 ? in % 60 : 0);
    } else if (!strcmp(json_string_value(json_object_get(r, "state")), "running") &&
               !json_is_true(json_object_get(r, "last_stage"))) {
        printf("  next stage: by hand (openfota rollout promote ID)\n");
    }
    printf("  promotion needs: %g%% of a stage's offered devices succeeded, at least %lld\n",
           json_number_value(json_object_get(r, "promote_percent")), jint(r, "promote_min"));
    const char *wait = json_string_value(json_object_get(r, "stage_waiting_for"));
    if (wait)
        printf("  this stage is waiting: %s\n", wait);
    if (json_is_integer(json_object_get(r, "finished_at")))
        printf("  finished: the last stage reached its threshold\n");
    printf("  abort rule: pause when failures >= %.0f%% of finished devices (after %lld)\n",
           100 * json_number_value(json_object_get(r, "abort_ratio")), jint(r, "abort_min"));
    printf("  %-8s %-8s %8s %8s %8s %8s %8s %8s %8s %8s\n", "STAGE", "", "OFFERED", "DOWNLDNG", "DOWNLDED",
           "OK", "FAILED", "SILENT", "LOOPING", "BANNED");
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(r, "stages"), i, s) {
        json_t *d = json_object_get(s, "devices");
        printf("  %-8s %-8s %8lld %8lld %8lld %8lld %8lld %8lld %8lld %8lld\n",
               json_string_value(json_object_get(s, "name")), json_string_value(json_object_get(s, "status")),
               jint(d, "offered"), jint(d, "downloading"), jint(d, "downloaded"), jint(d, "succeeded"),
               jint(d, "failed"), jint(d, "silent"), jint(d, "looping"), jint(d, "banned"));
    }
}

static char *csv_to_json(const char *csv, int numbers, json_t **arr)
{
    *arr = json_array();
    char *copy = strdup(csv);
    if (!copy)
        return "out of memory";
    char *save = NULL;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (numbers) {
            char *e;
            double v = strtod(t, &e);
            if (*e == '%')
                e++;
            if (*e || !isfinite(v)) {
                free(copy);
                return "--stages takes percentages separated by commas, e.g. 1,10,50,100";
            }
            json_array_append_new(*arr, json_real(v));
        } else {
            json_array_append_new(*arr, json_string(t));
        }
    }
    free(copy);
    return NULL;
}

int fleet_cli_rollout(int argc, char **argv)
{
    argc--;
    argv++;
    for (int i = 0; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            rollout_help(stdout);
            return 0;
        }
    struct admin_ctx c;
    int bad = 0;
    if (take_common(&argc, argv, &c) < 0)
        return 2;
    if (argc < 1) {
        rollout_help(stderr);
        return 2;
    }
    const char *sub = argv[0];
    argc--;
    argv++;
    json_t *out = NULL, *body = NULL;
    int rc = 1;
    char path[512];
    if (!strcmp(sub, "start") || !strcmp(sub, "create")) {
        const char *pkg = take(&argc, argv, "--package", &bad);
        const char *project = take(&argc, argv, "--project", &bad);
        const char *firmware = take(&argc, argv, "--firmware", &bad);
        const char *version = take(&argc, argv, "--target-version", &bad);
        const char *stages = take(&argc, argv, "--stages", &bad);
        const char *interval = take(&argc, argv, "--stage-interval", &bad);
        const char *tests = take(&argc, argv, "--test-devices", &bad);
        const char *ratio = take(&argc, argv, "--abort-ratio", &bad);
        const char *amin = take(&argc, argv, "--abort-min", &bad);
        const char *ppct = take(&argc, argv, "--promote-percent", &bad);
        const char *pmin = take(&argc, argv, "--promote-min", &bad);
        if (bad || leftover_options(argc, argv, "rollout start"))
            return 2;
        if (!pkg || argc) {
            fprintf(stderr, "openfota rollout start: --package ID is required (see 'openfota package list')\n");
            return 2;
        }
        body = json_pack("{s:s}", "package", pkg);
        if (project)
            json_object_set_new(body, "project", json_string(project));
        if (firmware)
            json_object_set_new(body, "firmware", json_string(firmware));
        if (version)
            json_object_set_new(body, "target_version", json_string(version));
        json_t *arr;
        const char *err;
        if (stages) {
            if ((err = csv_to_json(stages, 1, &arr))) {
                json_decref(arr);
                fprintf(stderr, "openfota rollout start: %s\n", err);
                rc = 2;
                goto out;
            }
            json_object_set_new(body, "stages", arr);
        }
        if (tests) {
            csv_to_json(tests, 0, &arr);
            json_object_set_new(body, "test_devices", arr);
        }
        if (interval) {
            long long s = parse_duration(interval);
            if (s < 0) {
                fprintf(stderr, "openfota rollout start: --stage-interval takes a duration like 600, 30m, 6h, 1d\n");
                rc = 2;
                goto out;
            }
            json_object_set_new(body, "stage_interval_s", json_integer(s));
        }
        if (ratio) {
            char *e;
            double v = strtod(ratio, &e);
            if (*e || !(v > 0 && v <= 1)) {
                fprintf(stderr, "openfota rollout start: --abort-ratio takes a number above 0 and at most 1\n");
                rc = 2;
                goto out;
            }
            json_object_set_new(body, "abort_ratio", json_real(v));
        }
        if (ppct) {
            char *e;
            double v = strtod(ppct, &e);
            if (e == ppct || *e || !(v >= 0 && v <= 100)) {
                fprintf(stderr, "openfota rollout start: --promote-percent takes a number from 0 to 100\n");
                rc = 2;
                goto out;
            }
            json_object_set_new(body, "promote_percent", json_real(v));
        }
        if (pmin) {
            char *e;
            long v = strtol(pmin, &e, 10);
            if (e == pmin || *e || v < 0 || v > 100000000) {
                fprintf(stderr, "openfota rollout start: --promote-min takes a whole number from 0\n");
                rc = 2;
                goto out;
            }
            json_object_set_new(body, "promote_min", json_integer(v));
        }
        if (amin) {
            char *e;
            long v = strtol(amin, &e, 10);
            if (*e || v < 1 || v > 1000000) {
                fprintf(stderr, "openfota rollout start: --abort-min takes a whole number from 1\n");
                rc = 2;
                goto out;
            }
            json_object_set_new(body, "abort_min", json_integer(v));
        }
        if (admin_ctx_connect(&c))
            goto out;
        if (admin_request(&c, "POST", "/admin/v1/rollouts", body, &out, NULL))
            goto out;
        if (c.json)
            print_json(out);
        else
            print_rollout(out);
        rc = 0;
        goto out;
    }
    if (!strcmp(sub, "list") || (!strcmp(sub, "status") && argc == 0)) {
        const char *project = take(&argc, argv, "--project", &bad);
        const char *firmware = take(&argc, argv, "--firmware", &bad);
        if (bad || leftover_options(argc, argv, "rollout list") || argc)
            return 2;
        char *pe = project ? admin_escape(project) : NULL, *fe = firmware ? admin_escape(firmware) : NULL;
        snprintf(path, sizeof path, "/admin/v1/rollouts?%s%s%s%s", pe ? "project=" : "", pe ? pe : "",
                 fe ? "&firmware=" : "", fe ? fe : "");
        free(pe);
        free(fe);
        if (admin_ctx_connect(&c))
            goto out;
        if (admin_request(&c, "GET", path, NULL, &out, NULL))
            goto out;
        if (c.json) {
            print_json(out);
        } else {
            size_t i;
            json_t *r;
            if (!json_array_size(json_object_get(out, "rollouts")))
                printf("no rollouts (start one: openfota rollout start --package ID)\n");
            json_array_foreach(json_object_get(out, "rollouts"), i, r) print_rollout(r);
        }
        rc = 0;
        goto out;
    }
    int is_action = !strcmp(sub, "promote") || !strcmp(sub, "pause") || !strcmp(sub, "resume") ||
                    !strcmp(sub, "cancel");
    if (is_action || !strcmp(sub, "status") || !strcmp(sub, "devices")) {
        const char *reason = !strcmp(sub, "pause") ? take(&argc, argv, "--reason", &bad) : NULL;
        const char *status = !strcmp(sub, "devices") ? take(&argc, argv, "--status", &bad) : NULL;
        const char *limit = !strcmp(sub, "devices") ? take(&argc, argv, "--limit", &bad) : NULL;
        if (bad || leftover_options(argc, argv, "rollout") )
            return 2;
        if (argc != 1) {
            fprintf(stderr, "openfota rollout %s: give one rollout id (see 'openfota rollout list')\n", sub);
            return 2;
        }
        char *ide = admin_escape(argv[0]);
        if (!ide)
            return 1;
        if (is_action) {
            snprintf(path, sizeof path, "/admin/v1/rollouts/%s/%s", ide, sub);
            body = reason ? json_pack("{s:s}", "reason", reason) : json_object();
        } else if (!strcmp(sub, "devices")) {
            char *se = status ? admin_escape(status) : NULL;
            snprintf(path, sizeof path, "/admin/v1/rollouts/%s/devices?limit=%s%s%s", ide, limit ? limit : "1000",
                     se ? "&status=" : "", se ? se : "");
            free(se);
        } else {
            snprintf(path, sizeof path, "/admin/v1/rollouts/%s", ide);
        }
        free(ide);
        if (admin_ctx_connect(&c))
            goto out;
        if (admin_request(&c, is_action ? "POST" : "GET", path, body, &out, NULL))
            goto out;
        if (c.json) {
            print_json(out);
        } else if (!strcmp(sub, "devices")) {
            size_t i;
            json_t *d;
            printf("%-20s %-12s %5s %-16s %9s\n", "DEVICE", "STATUS", "STAGE", "FROM", "DOWNLOADS");
            json_array_foreach(json_object_get(out, "devices"), i, d)
                printf("%-20s %-12s %5lld %-16s %9lld\n", json_string_value(json_object_get(d, "id")),
                       json_string_value(json_object_get(d, "status")), jint(d, "stage"),
                       json_string_value(json_object_get(d, "from_version")), jint(d, "downloads"));
        } else {
            print_rollout(out);
        }
        rc = 0;
        goto out;
    }
    fprintf(stderr, "openfota rollout: unknown subcommand '%s' (see 'openfota rollout --help')\n", sub);
    rc = 2;
out:
    json_decref(body);
    json_decref(out);
    admin_ctx_free(&c);
    return rc;
}

/*
 * sim_cli.c — `openfota sim`: options, the human summary, the JSON line and
 * the exit status (0 expectations met, 1 not met or the run failed, 2 usage).
 */
#include "sim_internal.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char USAGE[] =
    "usage: openfota sim --url CHECK_URL --project-key KEY --firmware NAME --version CORE.X.Z\n"
    "                    --devices N [--profile libfota2|agent] [--json] [options]\n"
    "\n"
    "Simulates a fleet of devices checking a server for upgrades (event-driven, one\n"
    "process). CHECK_URL is the server's check URL ending in '?' (the libfota2\n"
    "parameters are appended) or a '###' URL (used as-is). Only servers on this\n"
    "machine (loopback or one of its own addresses) are loaded unless --allow-remote\n"
    "is given.\n"
    "\n"
    "Fleet:\n"
    "  --devices N            devices (1..1000000)                       [1]\n"
    "  --profile P            libfota2 (exact wire behaviour) | agent (resume, SHA-256)\n"
    "  --seed N               identities and faults derive from it        [1]\n"
    "  --target-version V     version a package carries when neither the Luat header\n"
    "                         nor an X-Openfota-Version header says      [Z+1]\n"
    "Schedule (simulated durations: 250ms 30s 5m 4h 1d):\n"
    "  --schedule S           once | periodic | psm   [once; periodic with --period]\n"
    "  --period D             time between checks                         [4h]\n"
    "  --time-scale X         simulated seconds per real second           [1]\n"
    "  --jitter F             +- fraction of the period                   [0.1]\n"
    "Real time:\n"
    "  --ramp D               spread first checks over D                  [0]\n"
    "  --duration D           stop the whole run after D                  [600s]\n"
    "  --timeout D            one request at most (PSM: also <= 15 s simulated) [30s]\n"
    "  --retry D              wait before retrying a failed check         [0.5s]\n"
    "  --reboot D             time a reboot takes                         [50ms]\n"
    "  --max-retries N        failed checks in a row before giving up     [8]\n"
    "  --max-checks N         checks per device at most (once)            [64]\n"
    "Bounds:\n"
    "  --concurrency N        open connections at most                    [256]\n"
    "  --threads N            event loops (threads)                       [1]\n"
    "  --max-header N         response head bytes                         [8192]\n"
    "  --max-body N           package bytes (K, M, G suffixes)            [64M]\n"
    "Faults:\n"
    "  --reset-rate P         P(connection reset in the middle of a download)\n"
    "  --slow-rate P          fraction of devices on a slow link\n"
    "  --slow-bps N           their bytes per second                      [2048]\n"
    "  --power-cut-rate P     P(power cut while applying a package)\n"
    "  --no-boot-rate P       P(a package does not boot: the old version comes back)\n"
    "  --no-boot              no package boots (same as --no-boot-rate 1)\n"
    "Outcome:\n"
    "  --expect E             all-upgraded | all-banned | all-latest | none-failed | any |\n"
    "                         NAME=N | NAME=all | NAME>=N | NAME<=N (repeatable; NAME is a\n"
    "                         count of the JSON summary)                  [none-failed]\n"
    "  --expect-sha256 HEX    every complete package must have this SHA-256\n"
    "  --json                 print the summary as one JSON object, the last line of stdout\n"
    "  --report FILE          write one JSON line per device (imei, state, versions, counts)\n"
    "  --quiet                no human summary\n"
    "  --no-progress          no progress bar (drawn on stderr when it is a terminal)\n"
    "  --verbose              log every device event on stderr\n"
    "  --allow-remote         allow a server on another machine (only one you operate)\n";

enum {
    O_URL = 256, O_KEY, O_FW, O_VER, O_DEV, O_PROFILE, O_JSON, O_SEED, O_CONC, O_THREADS,
    O_SCHED, O_PERIOD, O_SCALE, O_JITTER, O_RAMP, O_DURATION, O_TIMEOUT, O_RETRY, O_REBOOT,
    O_MAXRETRY, O_MAXCHECK, O_MAXHEAD, O_MAXBODY, O_RESET, O_SLOW, O_SLOWBPS, O_POWER,
    O_NOBOOTR, O_NOBOOT, O_TARGET, O_EXPSHA, O_EXPECT, O_REMOTE, O_QUIET, O_NOPROG, O_VERB,
    O_REPORT, O_HELP
};

static const struct option OPTS[] = {
    { "url", required_argument, 0, O_URL },
    { "project-key", required_argument, 0, O_KEY },
    { "firmware", required_argument, 0, O_FW },
    { "version", required_argument, 0, O_VER },
    { "devices", required_argument, 0, O_DEV },
    { "profile", required_argument, 0, O_PROFILE },
    { "json", no_argument, 0, O_JSON },
    { "seed", required_argument, 0, O_SEED },
    { "concurrency", required_argument, 0, O_CONC },
    { "threads", required_argument, 0, O_THREADS },
    { "schedule", required_argument, 0, O_SCHED },
    { "period", required_argument, 0, O_PERIOD },
    { "time-scale", required_argument, 0, O_SCALE },
    { "jitter", required_argument, 0, O_JITTER },
    { "ramp", required_argument, 0, O_RAMP },
    { "duration", required_argument, 0, O_DURATION },
    { "timeout", required_argument, 0, O_TIMEOUT },
    { "retry", required_argument, 0, O_RETRY },
    { "reboot", required_argument, 0, O_REBOOT },
    { "max-retries", required_argument, 0, O_MAXRETRY },
    { "max-checks", required_argument, 0, O_MAXCHECK },
    { "max-header", required_argument, 0, O_MAXHEAD },
    { "max-body", required_argument, 0, O_MAXBODY },
    { "reset-rate", required_argument, 0, O_RESET },
    { "slow-rate", required_argument, 0, O_SLOW },
    { "slow-bps", required_argument, 0, O_SLOWBPS },
    { "power-cut-rate", required_argument, 0, O_POWER },
    { "no-boot-rate", required_argument, 0, O_NOBOOTR },
    { "no-boot", no_argument, 0, O_NOBOOT },
    { "target-version", required_argument, 0, O_TARGET },
    { "expect-sha256", required_argument, 0, O_EXPSHA },
    { "expect", required_argument, 0, O_EXPECT },
    { "allow-remote", no_argument, 0, O_REMOTE },
    { "quiet", no_argument, 0, O_QUIET },
    { "no-progress", no_argument, 0, O_NOPROG },
    { "verbose", no_argument, 0, O_VERB },
    { "report", required_argument, 0, O_REPORT },
    { "help", no_argument, 0, O_HELP },
    { 0, 0, 0, 0 },
};

static int bad(const char *opt, const char *val, const char *want)
{
    fprintf(stderr, "openfota sim: --%s '%s': %s\n", opt, val, want);
    return 2;
}

static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    if (!s || *s < '0' || *s > '9')
        return -1;
    char *end = NULL;
    unsigned long long v = strtoull(s, &end, 10);
    uint64_t mul = 1;
    if (*end == 'K' || *end == 'k')
        mul = 1024, end++;
    else if (*end == 'M')
        mul = 1024 * 1024, end++;
    else if (*end == 'G')
        mul = 1024ull * 1024 * 1024, end++;
    if (*end || v > max / mul)
        return -1;
    *out = v * mul;
    return 0;
}

static int parse_rate(const char *s, double *out)
{
    char *end = NULL;
    double v = strtod(s, &end);
    if (end == s || *end || !(v >= 0 && v <= 1))
        return -1;
    *out = v;
    return 0;
}

static void print_human(const sim_config *cfg, const sim_summary *s)
{
    printf("openfota sim: %u %s devices in %.1f s\n", s->devices,
           cfg->profile == SIM_PROFILE_AGENT ? "agent" : "libfota2", s->elapsed_s);
    printf("  upgraded %u  latest %u  held %u  banned %u  forbidden %u  failed %u (unfinished %u)  looping %u\n",
           s->upgraded, s->latest, s->held, s->banned, s->forbidden, s->failed, s->unfinished, s->looping);
    printf("  checks %llu (%.1f/s)  packages %llu  bytes %llu  max packages/device %u\n",
           (unsigned long long)s->checks, s->checks_per_s, (unsigned long long)s->packages,
           (unsigned long long)s->bytes, s->max_packages_per_device);
    printf("  resets %llu  resumes %llu  restarts %llu  power cuts %llu  boot failures %llu\n",
           (unsigned long long)s->resets, (unsigned long long)s->resumes,
           (unsigned long long)s->restarts, (unsigned long long)s->power_cuts,
           (unsigned long long)s->boot_failures);
    printf("  timeouts %llu  refused %llu  closed %llu  sha256 ok %llu bad %llu  luat .bin refused %llu\n",
           (unsigned long long)s->timeouts, (unsigned long long)s->refused,
           (unsigned long long)s->closed, (unsigned long long)s->sha_ok,
           (unsigned long long)s->sha_bad, (unsigned long long)s->luat_bad);
    printf("  latency p50 %.2f ms  p99 %.2f ms  max %.2f ms  peak connections %u  peak RSS %ld KiB\n",
           s->latency_p50_ms, s->latency_p99_ms, s->latency_max_ms, s->peak_connections,
           s->peak_rss_kb);
    printf("  codes:");
    int any = 0;
    for (int i = 0; i < SIM_CODE_SLOTS; i++)
        if (s->codes[i]) {
            printf(" %d x%llu", i, (unsigned long long)s->codes[i]);
            any = 1;
        }
    if (s->codes_other) {
        printf(" other x%llu", (unsigned long long)s->codes_other);
        any = 1;
    }
    printf("%s\n", any ? "" : " none");
}

int sim_cli_main(int argc, char **argv)
{
    sim_config cfg;
    sim_config_defaults(&cfg);
    int json = 0, quiet = 0, noprog = 0, sched_set = 0, period_set = 0;
    const char *expects[16];
    int nexp = 0;
    uint64_t u;
    double d;
    int ver_set = 0;

    optind = 0; /* full re-initialisation (glibc) */
    opterr = 1;
    int o;
    while ((o = getopt_long(argc, argv, "hv", OPTS, NULL)) != -1) {
        const char *name = NULL;
        for (const struct option *p = OPTS; p->name; p++)
            if (p->val == o)
                name = p->name;
        switch (o) {
        case O_URL: cfg.url = optarg; break;
        case O_KEY: cfg.project_key = optarg; break;
        case O_FW: cfg.firmware = optarg; break;
        case O_VER:
            if (sim_version_parse(optarg, &cfg.version) < 0)
                return bad(name, optarg, "write CORE.X.Z, e.g. 2012.001.000");
            ver_set = 1;
            break;
        case O_TARGET:
            if (sim_version_parse(optarg, &cfg.target_version) < 0)
                return bad(name, optarg, "write CORE.X.Z, e.g. 2012.001.001");
            cfg.have_target = 1;
            break;
        case O_DEV:
            if (parse_u64(optarg, SIM_MAX_DEVICES, &u) < 0 || u == 0)
                return bad(name, optarg, "must be 1..1000000");
            cfg.devices = (uint32_t)u;
            break;
        case O_PROFILE:
            if (strcmp(optarg, "libfota2") == 0)
                cfg.profile = SIM_PROFILE_LIBFOTA2;
            else if (strcmp(optarg, "agent") == 0)
                cfg.profile = SIM_PROFILE_AGENT;
            else
                return bad(name, optarg, "must be libfota2 or agent");
            break;
        case O_JSON: json = 1; break;
        case O_SEED:
            if (parse_u64(optarg, UINT64_MAX, &u) < 0)
                return bad(name, optarg, "must be a number");
            cfg.seed = u;
            break;
        case O_CONC:
            if (parse_u64(optarg, 1000000, &u) < 0 || u == 0)
                return bad(name, optarg, "must be 1..1000000");
            cfg.concurrency = (uint32_t)u;
            break;
        case O_THREADS:
            if (parse_u64(optarg, 64, &u) < 0 || u == 0)
                return bad(name, optarg, "must be 1..64");
            cfg.threads = (uint32_t)u;
            break;
        case O_SCHED:
            if (strcmp(optarg, "once") == 0)
                cfg.schedule = SIM_SCHED_ONCE;
            else if (strcmp(optarg, "periodic") == 0)
                cfg.schedule = SIM_SCHED_PERIODIC;
            else if (strcmp(optarg, "psm") == 0)
                cfg.schedule = SIM_SCHED_PSM;
            else
                return bad(name, optarg, "must be once, periodic or psm");
            sched_set = 1;
            break;
        case O_PERIOD:
        case O_RAMP:
        case O_DURATION:
        case O_TIMEOUT:
        case O_RETRY:
        case O_REBOOT:
            if (sim_parse_duration(optarg, &d) < 0)
                return bad(name, optarg, "write a duration such as 250ms, 30s, 5m, 4h, 1d");
            if (o == O_PERIOD) {
                if (d <= 0)
                    return bad(name, optarg, "must be more than zero");
                cfg.period_s = d;
                period_set = 1;
            } else if (o == O_RAMP)
                cfg.ramp_s = d;
            else if (o == O_DURATION)
                cfg.duration_s = d;
            else if (o == O_TIMEOUT) {
                if (d <= 0)
                    return bad(name, optarg, "must be more than zero");
                cfg.timeout_s = d;
            } else if (o == O_RETRY)
                cfg.retry_s = d;
            else
                cfg.reboot_s = d;
            break;
        case O_SCALE: {
            char *end = NULL;
            d = strtod(optarg, &end);
            if (end == optarg || *end || !(d >= 1e-6 && d <= 1e9))
                return bad(name, optarg, "must be a number between 0.000001 and 1e9");
            cfg.time_scale = d;
            break;
        }
        case O_JITTER:
            if (parse_rate(optarg, &cfg.jitter) < 0)
                return bad(name, optarg, "must be a fraction 0..1");
            break;
        case O_MAXRETRY:
            if (parse_u64(optarg, 65535, &u) < 0)
                return bad(name, optarg, "must be 0..65535");
            cfg.max_retries = (uint32_t)u;
            break;
        case O_MAXCHECK:
            if (parse_u64(optarg, 65535, &u) < 0 || u == 0)
                return bad(name, optarg, "must be 1..65535");
            cfg.max_checks = (uint32_t)u;
            break;
        case O_MAXHEAD:
            if (parse_u64(optarg, 1u << 20, &u) < 0 || u < 64)
                return bad(name, optarg, "must be 64..1048576 (bytes)");
            cfg.max_header = (size_t)u;
            break;
        case O_MAXBODY:
            if (parse_u64(optarg, 1ull << 40, &u) < 0 || u == 0)
                return bad(name, optarg, "must be a size such as 512K, 64M, 1G");
            cfg.max_body = u;
            break;
        case O_RESET:
        case O_SLOW:
        case O_POWER:
        case O_NOBOOTR: {
            double *dst = o == O_RESET ? &cfg.reset_rate : o == O_SLOW ? &cfg.slow_rate
                        : o == O_POWER ? &cfg.power_cut_rate : &cfg.no_boot_rate;
            if (parse_rate(optarg, dst) < 0)
                return bad(name, optarg, "must be a probability 0..1");
            break;
        }
        case O_NOBOOT: cfg.no_boot_rate = 1.0; break;
        case O_SLOWBPS:
            if (parse_u64(optarg, 1u << 30, &u) < 0 || u == 0)
                return bad(name, optarg, "must be 1..1073741824 (bytes per second)");
            cfg.slow_bps = (uint32_t)u;
            break;
        case O_EXPSHA:
            if (strlen(optarg) != 64 || strspn(optarg, "0123456789abcdefABCDEF") != 64)
                return bad(name, optarg, "must be 64 hex digits");
            cfg.expect_sha256 = optarg;
            break;
        case O_EXPECT:
            if (nexp >= 16) {
                fprintf(stderr, "openfota sim: at most 16 --expect\n");
                return 2;
            }
            expects[nexp++] = optarg;
            break;
        case O_REPORT: cfg.report_path = optarg; break;
        case O_REMOTE: cfg.allow_remote = 1; break;
        case O_QUIET: quiet = 1; break;
        case O_NOPROG: noprog = 1; break;
        case 'v':
        case O_VERB: cfg.verbose = 1; break;
        case 'h':
        case O_HELP: fputs(USAGE, stdout); return 0;
        default:
            fprintf(stderr, "see `openfota sim --help`\n");
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "openfota sim: unexpected argument '%s'; see `openfota sim --help`\n",
                argv[optind]);
        return 2;
    }
    if (!cfg.url) {
        fprintf(stderr, "openfota sim: --url is required (the server's check URL ending in '?', "
                        "e.g. http://127.0.0.1:8080/api/site/firmware_upgrade?)\n");
        return 2;
    }
    int raw = strncmp(cfg.url, "###", 3) == 0;
    if (!raw && (!cfg.project_key || !cfg.firmware || !ver_set)) {
        fprintf(stderr, "openfota sim: --project-key, --firmware and --version are required "
                        "unless the URL starts with ###\n");
        return 2;
    }
    size_t ulen = strlen(cfg.url);
    if (!raw && ulen && cfg.url[ulen - 1] != '?' && cfg.url[ulen - 1] != '&')
        fprintf(stderr, "openfota sim: warning: --url does not end in '?' or '&': like libfota2, "
                        "the devices will append 'imei=...' straight to the path (%simei=...); "
                        "end the URL with '?' unless that mistake is what you want to rehearse\n",
                cfg.url);
    if (period_set && !sched_set)
        cfg.schedule = SIM_SCHED_PERIODIC;
    if (nexp == 0)
        expects[nexp++] = "none-failed";
    /* expressions are checked before the run so a typo costs nothing */
    sim_summary probe;
    memset(&probe, 0, sizeof(probe));
    for (int i = 0; i < nexp; i++) {
        char e[256];
        if (sim_expect_eval(expects[i], &probe, e, sizeof(e)) < 0) {
            fprintf(stderr, "openfota sim: %s\n", e);
            return 2;
        }
    }
    cfg.progress = !noprog && isatty(STDERR_FILENO) && !cfg.verbose;

    sim_summary s;
    char err[512] = "";
    sim_err rc = sim_run(&cfg, &s, err, sizeof(err));
    if (rc != SIM_OK) {
        fprintf(stderr, "openfota sim: %s\n", err);
        return rc == SIM_ERR_USAGE ? 2 : 1;
    }
    if (err[0])
        fprintf(stderr, "openfota sim: %s\n", err);
    int met = 1;
    for (int i = 0; i < nexp; i++) {
        char e[256];
        if (sim_expect_eval(expects[i], &s, e, sizeof(e)) != 1) {
            fprintf(stderr, "openfota sim: expectation not met: %s\n", expects[i]);
            met = 0;
        }
    }
    if (!quiet)
        print_human(&cfg, &s);
    if (json) {
        char *txt = sim_summary_json(&cfg, &s, met);
        if (!txt) {
            fprintf(stderr, "openfota sim: out of memory\n");
            return 1;
        }
        printf("%s\n", txt);
        free(txt);
    }
    fflush(stdout);
    return met ? 0 : 1;
}

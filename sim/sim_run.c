/*
 * sim_run.c — a whole simulator run: checks the configuration, resolves the
 * target (loopback only unless allow_remote), raises the open-file limit,
 * starts one thread per event loop, draws the progress bar, and tallies the
 * summary.
 */
#include "sim_loop.h"

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static volatile int g_stop;

static void on_sigint(int sig)
{
    (void)sig;
    g_stop = 1;
}

void sim_config_defaults(sim_config *c)
{
    memset(c, 0, sizeof(*c));
    c->profile = SIM_PROFILE_LIBFOTA2;
    c->devices = 1;
    c->seed = 1;
    c->concurrency = 256;
    c->threads = 1;
    c->schedule = SIM_SCHED_ONCE;
    c->period_s = 4 * 3600;
    c->time_scale = 1;
    c->jitter = 0.1;
    c->ramp_s = 0;
    c->duration_s = 600;
    c->timeout_s = 30;
    c->retry_s = 0.5;
    c->reboot_s = 0.05;
    c->max_retries = 8;
    c->max_checks = 64;
    c->max_header = 8192;
    c->max_body = 64ull << 20;
    c->slow_bps = 2048;
    c->version = (sim_version){ 1, 0, 0, 3, 3 };
}

typedef struct worker {
    sim_loop loop;
    pthread_t th;
    int finished;
} worker;

static void *worker_main(void *arg)
{
    worker *w = arg;
    sim_loop_run(&w->loop);
    __atomic_store_n(&w->finished, 1, __ATOMIC_RELEASE);
    return NULL;
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long peak_rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return -1;
    char line[256];
    long kb = -1;
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, "VmHWM:", 6) == 0) {
            kb = strtol(line + 6, NULL, 10);
            break;
        }
    fclose(f);
    return kb;
}

static void draw_progress(const sim_config *cfg, worker *w, double t0, int final)
{
    uint64_t checks = 0, done = 0, pk = 0, up = 0;
    for (uint32_t i = 0; i < cfg->threads; i++) {
        checks += __atomic_load_n(&w[i].loop.pub_checks, __ATOMIC_RELAXED);
        done += __atomic_load_n(&w[i].loop.pub_done, __ATOMIC_RELAXED);
        pk += __atomic_load_n(&w[i].loop.pub_packages, __ATOMIC_RELAXED);
        up += __atomic_load_n(&w[i].loop.pub_upgraded, __ATOMIC_RELAXED);
    }
    double el = mono_s() - t0;
    double frac = cfg->schedule == SIM_SCHED_ONCE ? (double)done / cfg->devices
                                                  : el / (cfg->duration_s > 0 ? cfg->duration_s : 1);
    if (frac > 1)
        frac = 1;
    char bar[31];
    int filled = (int)(frac * 30);
    for (int i = 0; i < 30; i++)
        bar[i] = i < filled ? '#' : '-';
    bar[30] = '\0';
    fprintf(stderr, "\r[%s] %3d%%  %.0fs  checks %llu (%.0f/s)  packages %llu  upgraded %llu  done %llu/%u ",
            bar, (int)(frac * 100), el, (unsigned long long)checks, el > 0 ? checks / el : 0.0,
            (unsigned long long)pk, (unsigned long long)up, (unsigned long long)done, cfg->devices);
    if (final)
        fputc('\n', stderr);
    fflush(stderr);
}

sim_err sim_run(const sim_config *cfg, sim_summary *out, char *err, size_t cap)
{
    memset(out, 0, sizeof(*out));
    if (!cfg->url || !cfg->url[0]) {
        snprintf(err, cap, "no check URL: give --url http://HOST:PORT/api/site/firmware_upgrade?");
        return SIM_ERR_USAGE;
    }
    if (cfg->devices == 0 || cfg->devices > SIM_MAX_DEVICES) {
        snprintf(err, cap, "--devices must be 1..%d", SIM_MAX_DEVICES);
        return SIM_ERR_USAGE;
    }
    if (cfg->threads == 0 || cfg->threads > 64) {
        snprintf(err, cap, "--threads must be 1..64");
        return SIM_ERR_USAGE;
    }
    if (cfg->concurrency == 0) {
        snprintf(err, cap, "--concurrency must be at least 1");
        return SIM_ERR_USAGE;
    }
    if (cfg->max_header < 64 || cfg->max_header > (1u << 20)) {
        snprintf(err, cap, "--max-header must be 64..1048576 bytes");
        return SIM_ERR_USAGE;
    }
    if (cfg->expect_sha256 && strlen(cfg->expect_sha256) != 64) {
        snprintf(err, cap, "--expect-sha256 must be 64 hex digits");
        return SIM_ERR_USAGE;
    }

    /* One request built up front: refuses a bad URL/field before any device
     * starts, and tells where checks go. */
    char imei[SIM_IMEI_LEN + 1];
    sim_imei_make(cfg->seed, 0, imei);
    char req[4096], why[200];
    sim_target tg;
    sim_req_params rp = { .url = cfg->url, .imei = imei, .project_key = cfg->project_key,
                          .firmware = cfg->firmware, .version = &cfg->version };
    if (sim_request_build(&rp, req, sizeof(req), &tg, why, sizeof(why)) < 0) {
        snprintf(err, cap, "cannot build a check request from --url: %s", why);
        return SIM_ERR_URL;
    }
    if (tg.tls) {
        snprintf(err, cap, "https:// is not supported by the simulator: point --url at the "
                           "server's plain http:// listener");
        return SIM_ERR_URL;
    }
    char port[8];
    snprintf(port, sizeof(port), "%u", (unsigned)tg.port);
    struct addrinfo hints, *ai = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    int gr = getaddrinfo(tg.host, port, &hints, &ai);
    if (gr != 0 || !ai) {
        snprintf(err, cap, "cannot resolve '%s': %s", tg.host, gai_strerror(gr));
        return SIM_ERR_RESOLVE;
    }
    struct sockaddr_storage addr;
    memset(&addr, 0, sizeof(addr));
    memcpy(&addr, ai->ai_addr, ai->ai_addrlen);
    socklen_t alen = ai->ai_addrlen;
    freeaddrinfo(ai);
    if (!cfg->allow_remote && !sim_addr_is_local(&addr)) {
        snprintf(err, cap, "'%s' is neither loopback nor an address of this machine: the simulator only "
                           "loads servers on this machine unless --allow-remote is given (use it only "
                           "against a server you operate)", tg.host);
        return SIM_ERR_URL;
    }

    /* file descriptors: one per open connection */
    sim_config c2 = *cfg;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        if (rl.rlim_cur < rl.rlim_max) {
            rl.rlim_cur = rl.rlim_max;
            setrlimit(RLIMIT_NOFILE, &rl);
            getrlimit(RLIMIT_NOFILE, &rl);
        }
        if (rl.rlim_cur != RLIM_INFINITY && (uint64_t)c2.concurrency + 64 > rl.rlim_cur) {
            c2.concurrency = rl.rlim_cur > 128 ? (uint32_t)(rl.rlim_cur - 64) : 64;
            fprintf(stderr, "openfota sim: --concurrency lowered to %u (open-file limit %llu)\n",
                    c2.concurrency, (unsigned long long)rl.rlim_cur);
        }
    }
    if (c2.threads > c2.devices)
        c2.threads = c2.devices;

    worker *w = calloc(c2.threads, sizeof(*w));
    if (!w) {
        snprintf(err, cap, "out of memory");
        return SIM_ERR_NOMEM;
    }
    g_stop = 0;
    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_sigint;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);

    sim_err rc = SIM_OK;
    uint32_t per = (c2.concurrency + c2.threads - 1) / c2.threads;
    uint32_t started = 0;
    double t0 = mono_s();
    for (uint32_t i = 0; i < c2.threads; i++) {
        if (sim_loop_init(&w[i].loop, &c2, i, c2.threads, &addr, alen, per, &g_stop) < 0) {
            snprintf(err, cap, "cannot set up event loop %u: %s", i, strerror(errno));
            rc = SIM_ERR_SYS;
            break;
        }
        if (pthread_create(&w[i].th, NULL, worker_main, &w[i]) != 0) {
            snprintf(err, cap, "cannot start thread %u", i);
            rc = SIM_ERR_SYS;
            break;
        }
        started++;
    }
    if (rc != SIM_OK)
        g_stop = 1;
    double last_draw = 0;
    for (;;) {
        uint32_t fin = 0;
        for (uint32_t i = 0; i < started; i++)
            fin += (uint32_t)__atomic_load_n(&w[i].finished, __ATOMIC_ACQUIRE);
        if (fin == started)
            break;
        usleep(20000);
        if (cfg->progress && mono_s() - last_draw >= 0.2) {
            draw_progress(&c2, w, t0, 0);
            last_draw = mono_s();
        }
    }
    for (uint32_t i = 0; i < started; i++)
        pthread_join(w[i].th, NULL);
    if (cfg->progress && started)
        draw_progress(&c2, w, t0, 1);
    double elapsed = mono_s() - t0;

    sim_latency *lat = calloc(1, sizeof(*lat));
    if (rc == SIM_OK && cfg->report_path) {
        FILE *f = fopen(cfg->report_path, "w");
        int bad = !f;
        for (uint32_t i = 0; f && i < c2.threads; i++)
            bad |= sim_loop_report(&w[i].loop, f) < 0;
        if (f && fclose(f) != 0)
            bad = 1;
        if (bad) {
            snprintf(err, cap, "cannot write the device report '%s': %s", cfg->report_path,
                     strerror(errno));
            rc = SIM_ERR_SYS;
        }
    }
    for (uint32_t i = 0; i < c2.threads; i++) {
        if (rc == SIM_OK && lat)
            sim_loop_tally(&w[i].loop, out, lat);
        sim_loop_free(&w[i].loop);
    }
    free(w);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    if (!lat && rc == SIM_OK) {
        snprintf(err, cap, "out of memory");
        rc = SIM_ERR_NOMEM;
    }
    if (rc == SIM_OK) {
        out->elapsed_s = elapsed;
        out->checks_per_s = elapsed > 0 ? (double)out->checks / elapsed : 0;
        out->latency_p50_ms = sim_latency_quantile(lat, 0.50);
        out->latency_p99_ms = sim_latency_quantile(lat, 0.99);
        out->latency_max_ms = lat->max_ms;
        out->peak_rss_kb = peak_rss_kb();
        if (g_stop) {
            snprintf(err, cap, "interrupted");
        }
    }
    free(lat);
    return rc;
}

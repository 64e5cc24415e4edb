/*
 * sim_loop.c — the event loop and the simulated device's state machine.
 *
 * A loop owns a share of the fleet (device g belongs to loop g % threads),
 * one epoll instance, one timer heap (one entry per device at most) and a
 * FIFO of devices waiting for a connection slot (--concurrency). Nothing in a
 * loop is shared with another loop except a few progress counters that the
 * main thread reads with relaxed atomics.
 *
 * A device is small (about 64 bytes) while it waits; a connection (struct
 * sim_conn, request bytes, a head buffer that grows to --max-header) exists
 * only while a check is under way, and an agent's partial download
 * (struct sim_dl: offset, ETag, SHA-256 state) survives between checks so it
 * can resume.
 *
 *   WAIT --timer--> check: connect, send, read head, read body --> decide:
 *     package complete  -> apply (power cut / no boot / new version), reboot, check again
 *     "no upgrade" code -> once: done; periodic/PSM: sleep one period
 *     failure           -> retry after --retry (agent resumes), give up after --max-retries
 *
 * Faults are drawn from each device's own RNG (seeded from --seed and the
 * device index), so a run is reproducible up to the server's timing.
 */
#include "sim_loop.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <ofpkg.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define NONE UINT64_MAX
#define ERRBODY_MAX 512u
#define HEAD_INIT 512u
#define SLOW_TICK_NS 100000000ull

enum dev_state { D_WAIT = 0, D_QUEUED, D_BUSY, D_DONE };
enum conn_phase { C_CONNECTING = 0, C_SENDING, C_HEAD, C_BODY };

enum fin { F_EOF = 0, F_COMPLETE, F_REFUSED, F_TIMEOUT, F_RESET, F_LOCAL, F_BADHEAD };

/* An agent's (or libfota2's, within one connection) package download. */
struct sim_dl {
    EVP_MD_CTX *sha;   /* owned; NULL when not hashing */
    uint64_t offset;   /* package bytes received so far */
    uint64_t total;    /* full length, 0 when unknown */
    uint8_t lhead[92]; /* first bytes of the package (Luat header) */
    char etag[SIM_ETAG_MAX];
    char hversion[SIM_HVERSION_MAX];
    luatbin_checker *luat; /* owned; checks a Luat .bin as the module would */
    uint8_t luat_state;    /* LUAT_UNKNOWN, LUAT_CHECKING, LUAT_NOT */
};

enum { LUAT_UNKNOWN = 0, LUAT_CHECKING, LUAT_NOT };

struct sim_conn {
    int fd;
    uint8_t phase;
    uint8_t paused;   /* slow link: reading suspended until the next tick */
    uint8_t pending;  /* a result waits for the timer (immediate connect failure) */
    uint8_t is_pkg;   /* 2xx: the body is a package */
    sim_exchange x;
    sim_http_head head;
    uint64_t started_ns, deadline_ns;
    uint64_t reset_at; /* body offset of an injected reset, NONE if none */
    uint32_t slow_tokens;
    char *hbuf;        /* owned; response head, then the error body */
    uint32_t hlen, hcap;
    uint32_t req_len, req_off;
    char req[];        /* request bytes */
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t secs_ns(double s)
{
    if (!(s > 0))
        return 0;
    if (s > 1e9)
        s = 1e9;
    return (uint64_t)(s * 1e9);
}

static uint32_t gindex(const sim_loop *L, uint32_t id)
{
    return L->first + id * L->stride;
}

static void pub_add(uint64_t *p, uint64_t v)
{
    __atomic_fetch_add(p, v, __ATOMIC_RELAXED);
}

static int roll(sim_dev *d, double p)
{
    return p > 0 && sim_rng_unit(&d->rng) < p;
}

__attribute__((format(printf, 3, 4))) static void logv(const sim_loop *L, uint32_t id,
                                                       const char *fmt, ...)
{
    if (!L->cfg->verbose)
        return;
    char imei[SIM_IMEI_LEN + 1], msg[256];
    sim_imei_make(L->cfg->seed, gindex(L, id), imei);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fprintf(stderr, "sim: %s %s\n", imei, msg);
}

static void dl_free(sim_dev *d)
{
    if (!d->dl)
        return;
    EVP_MD_CTX_free(d->dl->sha);
    luatbin_checker_free(d->dl->luat);
    free(d->dl);
    d->dl = NULL;
}

static int dl_reset(const sim_loop *L, sim_dev *d)
{
    if (!d->dl) {
        d->dl = calloc(1, sizeof(*d->dl));
        if (!d->dl)
            return -1;
    }
    sim_dl *dl = d->dl;
    dl->offset = dl->total = 0;
    dl->etag[0] = dl->hversion[0] = '\0';
    memset(dl->lhead, 0, sizeof(dl->lhead));
    luatbin_checker_free(dl->luat);
    dl->luat = NULL;
    dl->luat_state = LUAT_UNKNOWN;
    int want_sha = L->cfg->profile == SIM_PROFILE_AGENT || L->cfg->expect_sha256;
    if (want_sha) {
        if (!dl->sha && !(dl->sha = EVP_MD_CTX_new()))
            return -1;
        if (EVP_DigestInit_ex(dl->sha, EVP_sha256(), NULL) != 1)
            return -1;
    }
    return 0;
}

static void set_timer(sim_loop *L, uint32_t id, uint64_t when)
{
    sim_heap_set(&L->heap, id, when);
}

static void finish(sim_loop *L, uint32_t id, enum fin how);
static int luat_verdict(const sim_loop *L, uint32_t id, sim_dl *dl);
static void start_check(sim_loop *L, uint32_t id, uint64_t now);

/* Device id wants to check at `when` (real ns). */
static void schedule(sim_loop *L, uint32_t id, uint64_t when)
{
    L->dev[id].state = D_WAIT;
    set_timer(L, id, when);
}

static void mark_done(sim_loop *L, uint32_t id)
{
    sim_dev *d = &L->dev[id];
    if (d->state == D_DONE)
        return;
    d->state = D_DONE;
    sim_heap_remove(&L->heap, id);
    dl_free(d);
    L->done++;
    pub_add(&L->pub_done, 1);
}

static void pump_queue(sim_loop *L, uint64_t now)
{
    while (L->qlen && L->active < L->max_active) {
        uint32_t id = L->queue[L->qhead];
        L->qhead = (L->qhead + 1) % L->n;
        L->qlen--;
        if (L->dev[id].state == D_QUEUED)
            start_check(L, id, now);
    }
}

static void enqueue(sim_loop *L, uint32_t id)
{
    sim_dev *d = &L->dev[id];
    if (d->state == D_QUEUED)
        return;
    d->state = D_QUEUED;
    L->queue[(L->qhead + L->qlen) % L->n] = id;
    L->qlen++;
}

static void start_check(sim_loop *L, uint32_t id, uint64_t now)
{
    const sim_config *cfg = L->cfg;
    sim_dev *d = &L->dev[id];
    if (L->active >= L->max_active) {
        enqueue(L, id);
        return;
    }
    if (cfg->schedule == SIM_SCHED_ONCE && d->checks >= cfg->max_checks) {
        mark_done(L, id);
        return;
    }
    char imei[SIM_IMEI_LEN + 1];
    sim_imei_make(cfg->seed, gindex(L, id), imei);
    int agent_resume = cfg->profile == SIM_PROFILE_AGENT && d->dl && d->dl->offset > 0;
    sim_req_params rp = {
        .url = cfg->url, .imei = imei, .project_key = cfg->project_key,
        .firmware = cfg->firmware, .version = &d->ver,
        .resume_from = agent_resume ? d->dl->offset : 0,
        .etag = agent_resume ? d->dl->etag : NULL,
    };
    char err[160];
    int n = sim_request_build(&rp, L->reqbuf, sizeof(L->reqbuf), NULL, err, sizeof(err));
    if (n < 0) { /* cannot happen after the start-up check; give up on the device */
        logv(L, id, "request refused: %s", err);
        mark_done(L, id);
        return;
    }
    sim_conn *c = calloc(1, sizeof(*c) + (size_t)n + 1);
    if (!c) {
        schedule(L, id, now + secs_ns(cfg->retry_s));
        return;
    }
    memcpy(c->req, L->reqbuf, (size_t)n);
    c->req_len = (uint32_t)n;
    c->fd = -1;
    c->reset_at = NONE;
    c->x.content_length = -1;
    c->started_ns = now;
    double tmo = cfg->timeout_s;
    if (cfg->schedule == SIM_SCHED_PSM) {
        double psm = sim_sched_real(15.0, cfg->time_scale);
        if (psm < tmo)
            tmo = psm;
    }
    c->deadline_ns = now + secs_ns(tmo);
    d->conn = c;
    d->state = D_BUSY;
    d->checks++;
    L->active++;
    if (L->active > L->st.peak_connections)
        L->st.peak_connections = L->active;
    L->st.checks++;
    pub_add(&L->pub_checks, 1);
    if (agent_resume)
        L->st.resumes++;

    int fd = socket(L->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        c->pending = F_LOCAL + 1;
        set_timer(L, id, now);
        return;
    }
    c->fd = fd;
    if (d->slow) {
        int rb = 4096;
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rb, sizeof(rb));
        c->slow_tokens = cfg->slow_bps / 10 ? cfg->slow_bps / 10 : 1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(fd, (struct sockaddr *)&L->addr, L->alen) < 0 && errno != EINPROGRESS) {
        c->pending = F_REFUSED + 1;
        set_timer(L, id, now);
        return;
    }
    struct epoll_event ev = { .events = EPOLLOUT, .data.u32 = id };
    if (epoll_ctl(L->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
        c->pending = F_LOCAL + 1;
        set_timer(L, id, now);
        return;
    }
    set_timer(L, id, c->deadline_ns);
}

/* The version a complete package makes the device run (docs/simulator.md). */
static void package_version(const sim_loop *L, const sim_dev *d, sim_version *out)
{
    const sim_config *cfg = L->cfg;
    const sim_dl *dl = d->dl;
    uint32_t core;
    sim_version hv;
    if (cfg->have_target)
        *out = cfg->target_version;
    else {
        *out = d->ver;
        out->z = (uint16_t)(out->z + 1 > 999 ? 999 : out->z + 1);
    }
    if (dl && dl->hversion[0] && sim_version_parse(dl->hversion, &hv) == 0)
        *out = hv;
    if (dl && dl->offset >= 92 && sim_luat_target_core(dl->lhead, sizeof(dl->lhead), &core))
        out->core = core;
}

static int version_eq(const sim_version *a, const sim_version *b)
{
    return a->core == b->core && a->x == b->x && a->z == b->z;
}

static int sha_matches(const sim_loop *L, sim_dl *dl)
{
    unsigned char md[32];
    unsigned len = 0;
    if (!dl->sha || EVP_DigestFinal_ex(dl->sha, md, &len) != 1 || len != 32)
        return -1;
    if (!L->cfg->expect_sha256)
        return 1;
    char hex[65];
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    return strncasecmp(hex, L->cfg->expect_sha256, 64) == 0 && L->cfg->expect_sha256[64] == '\0';
}

/* A failed check: retry soon, or give up / wait a period. */
static void after_failure(sim_loop *L, uint32_t id, uint64_t now)
{
    const sim_config *cfg = L->cfg;
    sim_dev *d = &L->dev[id];
    d->fails_in_row++;
    if (cfg->profile != SIM_PROFILE_AGENT)
        dl_free(d);
    if (cfg->schedule == SIM_SCHED_PSM) {
        schedule(L, id, now + secs_ns(sim_sched_next_period(cfg->period_s, cfg->jitter,
                                                            cfg->time_scale, sim_rng_unit(&d->rng))));
        return;
    }
    if (d->fails_in_row > cfg->max_retries) {
        d->fails_in_row = 0;
        if (cfg->schedule == SIM_SCHED_ONCE) {
            mark_done(L, id);
            return;
        }
        schedule(L, id, now + secs_ns(sim_sched_next_period(cfg->period_s, cfg->jitter,
                                                            cfg->time_scale, sim_rng_unit(&d->rng))));
        return;
    }
    schedule(L, id, now + secs_ns(cfg->retry_s));
}

/* A "no upgrade" answer or a refusal: once mode stops here. */
static void after_answer(sim_loop *L, uint32_t id, uint64_t now)
{
    const sim_config *cfg = L->cfg;
    sim_dev *d = &L->dev[id];
    d->fails_in_row = 0;
    if (cfg->schedule == SIM_SCHED_ONCE) {
        mark_done(L, id);
        return;
    }
    schedule(L, id, now + secs_ns(sim_sched_next_period(cfg->period_s, cfg->jitter,
                                                        cfg->time_scale, sim_rng_unit(&d->rng))));
}

static void after_package(sim_loop *L, uint32_t id, uint64_t now)
{
    const sim_config *cfg = L->cfg;
    sim_dev *d = &L->dev[id];
    sim_dl *dl = d->dl;
    L->st.packages++;
    pub_add(&L->pub_packages, 1);
    d->packages++;
    if (dl && dl->sha) {
        int ok = sha_matches(L, dl);
        if (ok == 1) {
            L->st.sha_ok++;
        } else {
            L->st.sha_bad++;
            logv(L, id, "package SHA-256 differs from --expect-sha256");
            dl_free(d);
            after_failure(L, id, now);
            return;
        }
    }
    sim_version nv;
    package_version(L, d, &nv);
    dl_free(d);
    d->fails_in_row = 0;
    if (roll(d, cfg->power_cut_rate)) {
        L->st.power_cuts++;
        d->stuck++;
        logv(L, id, "power cut while applying");
    } else if (cfg->no_boot_rate >= 1.0 || roll(d, cfg->no_boot_rate)) {
        L->st.boot_failures++;
        d->stuck++;
        logv(L, id, "package did not boot, back on the old version");
    } else if (version_eq(&nv, &d->ver)) {
        d->stuck++;
    } else {
        char vs[32];
        sim_version_format(&nv, vs, sizeof(vs));
        logv(L, id, "rebooted into %s", vs);
        if (version_eq(&d->ver, &d->ver0))
            pub_add(&L->pub_upgraded, 1);
        d->ver = nv;
        d->stuck = 0;
    }
    if (cfg->schedule == SIM_SCHED_ONCE && strncmp(cfg->url, "###", 3) == 0 && d->stuck == 0) {
        /* a static "###" URL never answers "no upgrade": asking again would
         * only fetch the same file, so a once-run ends at the first install */
        mark_done(L, id);
        return;
    }
    schedule(L, id, now + secs_ns(cfg->reboot_s));
}

static void conn_close(sim_loop *L, sim_conn *c, int rst)
{
    if (c->fd >= 0) {
        if (rst) {
            struct linger lg = { 1, 0 };
            setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
        }
        close(c->fd);
    }
    free(c->hbuf);
    free(c);
    L->active--;
}

static void finish(sim_loop *L, uint32_t id, enum fin how)
{
    const sim_config *cfg = L->cfg;
    sim_dev *d = &L->dev[id];
    sim_conn *c = d->conn;
    uint64_t now = now_ns();
    sim_exchange *x = &c->x;

    switch (how) {
    case F_REFUSED: x->refused = 1; L->st.refused++; break;
    case F_TIMEOUT: x->timed_out = 1; L->st.timeouts++; break;
    case F_RESET: L->st.resets++; break;
    case F_BADHEAD: x->head_bad = 1; break;
    case F_COMPLETE: x->body_complete = 1; break;
    case F_EOF:
        if (x->head_done && x->content_length < 0 && !c->head.chunked)
            x->body_complete = 1; /* read-to-close framing */
        else if (!x->head_done || x->content_length < 0 || (uint64_t)x->content_length != x->body_bytes)
            L->st.closed++;
        else
            x->body_complete = 1;
        break;
    case F_LOCAL: break;
    }
    if (c->is_pkg && d->dl && how == F_EOF && x->body_complete && !c->head.chunked &&
        x->content_length < 0)
        d->dl->total = d->dl->offset;
    int result = sim_http_classify(x);
    if (result == 0 && c->is_pkg && d->dl && d->dl->total && d->dl->offset != d->dl->total)
        result = 4; /* the package as a whole is not complete */
    if (result == 0 && c->head.chunked)
        result = 4; /* chunked packages are not supported by the simulator */
    if (result == 0 && c->is_pkg && d->dl && luat_verdict(L, id, d->dl) < 0) {
        L->st.luat_bad++;
        result = 4; /* the module reports 4 and keeps its image */
        dl_free(d);  /* a later check downloads it again from zero */
    }
    L->st.results[result]++;
    sim_latency_add(&L->lat, (double)(now - c->started_ns) / 1e6);
    int code = -1;
    int answered = x->head_done && x->status >= 300;
    if (answered) {
        code = sim_http_json_code(c->hbuf, c->hlen);
        if (code >= 0 && code < SIM_CODE_SLOTS)
            L->st.codes[code]++;
        else
            L->st.codes_other++;
        d->last_code = (int16_t)(code >= 0 && code < 32767 ? code : -1);
        d->answered = 1;
    }
    int retry_after = c->head.retry_after;
    int st_status = x->status;
    int rst = how == F_RESET;
    sim_heap_remove(&L->heap, id);
    if (c->fd >= 0)
        epoll_ctl(L->epfd, EPOLL_CTL_DEL, c->fd, NULL);
    d->conn = NULL;
    conn_close(L, c, rst);
    logv(L, id, "check: result %d, status %d, code %d", result, st_status, code);

    if (result == 0) {
        after_package(L, id, now);
    } else if (answered) {
        if (cfg->profile == SIM_PROFILE_AGENT)
            dl_free(d); /* a refusal ends any partial download */
        if (code == 43) {
            double wait = retry_after > 0 ? sim_sched_real(retry_after, cfg->time_scale) : cfg->retry_s;
            if (wait < cfg->retry_s)
                wait = cfg->retry_s;
            schedule(L, id, now + secs_ns(wait));
        } else if (code == 27 || code == 40 || code == 21 || code == SIM_CODE_HELD) {
            after_answer(L, id, now);
        } else if (code < 0 && st_status >= 500) {
            after_failure(L, id, now); /* a server error without a code: try again */
        } else {
            /* configuration errors (3, 4, 17, 25, 26, no code): they will not
             * change by retrying in once mode */
            if (cfg->schedule == SIM_SCHED_ONCE)
                mark_done(L, id);
            else
                after_answer(L, id, now);
        }
    } else {
        after_failure(L, id, now);
    }
    pump_queue(L, now);
}

/* ---- receiving ---- */

static int on_head(sim_loop *L, uint32_t id)
{
    const sim_config *cfg = L->cfg;
    sim_dev *d = &L->dev[id];
    sim_conn *c = d->conn;
    sim_http_head *h = &c->head;
    c->x.head_done = 1;
    c->x.status = h->status;
    c->x.content_length = h->content_length;
    if (h->status != 200 && h->status != 206)
        return 0;
    c->is_pkg = 1;
    if (h->content_length >= 0 && (uint64_t)h->content_length > cfg->max_body)
        return -1;
    if (cfg->profile == SIM_PROFILE_AGENT && d->dl && d->dl->offset > 0) {
        if (h->status == 206 && h->range_start >= 0 && (uint64_t)h->range_start == d->dl->offset) {
            /* resumed where it was cut */
        } else {
            L->st.restarts++; /* the package changed (or Range ignored): from zero */
            if (dl_reset(L, d) < 0)
                return -1;
        }
    } else if (dl_reset(L, d) < 0) {
        return -1;
    }
    sim_dl *dl = d->dl;
    if (h->etag[0])
        snprintf(dl->etag, sizeof(dl->etag), "%s", h->etag);
    if (h->version[0])
        snprintf(dl->hversion, sizeof(dl->hversion), "%s", h->version);
    if (h->status == 206 && h->range_total > 0)
        dl->total = (uint64_t)h->range_total;
    else if (h->content_length >= 0)
        dl->total = dl->offset + (uint64_t)h->content_length;
    if (dl->total > cfg->max_body)
        return -1;
    if (roll(d, cfg->reset_rate)) {
        uint64_t span = h->content_length > 1 ? (uint64_t)h->content_length : 4096;
        c->reset_at = sim_rng_next(&d->rng) % span;
    }
    return 0;
}

/* A module checks a Luat .bin while writing it (magic, header CRC, lengths,
 * both MD5s); so does a simulated device, with the package library's
 * streaming checker. Called before dl->offset counts the new bytes, after
 * they were copied to dl->lhead. */
static void luat_feed(sim_dl *dl, const char *p, size_t n)
{
    char msg[160];
    uint64_t o = dl->offset;
    if (dl->luat_state == LUAT_UNKNOWN && o + n >= 4) {
        if (!luatbin_sniff(dl->lhead, 4) || luatbin_checker_new(&dl->luat) != OFPKG_OK) {
            dl->luat_state = LUAT_NOT;
            return;
        }
        dl->luat_state = LUAT_CHECKING;
        size_t inhead = o + n < sizeof(dl->lhead) ? (size_t)(o + n) : sizeof(dl->lhead);
        luatbin_checker_feed(dl->luat, dl->lhead, inhead, msg, sizeof(msg));
        size_t used = inhead - (size_t)o; /* bytes of p already in lhead */
        if (n > used)
            luatbin_checker_feed(dl->luat, (const uint8_t *)p + used, n - used, msg, sizeof(msg));
        return;
    }
    if (dl->luat_state == LUAT_CHECKING && n)
        luatbin_checker_feed(dl->luat, (const uint8_t *)p, n, msg, sizeof(msg));
}

/* 0 when the complete package is acceptable to a module, -1 when a module
 * would refuse it (reason logged). A libfota2 device whose firmware name is a
 * LuatOS one (..._LuatOS-SoC_...) is a LuatOS module: it installs only Luat
 * upgrade .bin files and refuses anything else; other devices take a file
 * that is not a Luat .bin as it is. */
static int luat_verdict(const sim_loop *L, uint32_t id, sim_dl *dl)
{
    if (dl->luat_state != LUAT_CHECKING) {
        if (L->cfg->profile == SIM_PROFILE_LIBFOTA2 && luatbin_firmware_name(L->cfg->firmware)) {
            logv(L, id, "package refused as a LuatOS module would: not a Luat upgrade .bin");
            return -1;
        }
        return 0;
    }
    luatbin_info info;
    char msg[200];
    if (luatbin_checker_finish(dl->luat, &info, msg, sizeof(msg)) == OFPKG_OK)
        return 0;
    logv(L, id, "Luat package refused as a module would: %s", msg);
    return -1;
}

/* Returns 1 when the exchange finished (the conn is gone). */
static int feed_body(sim_loop *L, uint32_t id, const char *p, size_t n)
{
    sim_dev *d = &L->dev[id];
    sim_conn *c = d->conn;
    sim_exchange *x = &c->x;
    if (x->content_length >= 0) {
        uint64_t left = (uint64_t)x->content_length - x->body_bytes;
        if (n > left)
            n = (size_t)left; /* bytes past the announced length are ignored */
    }
    int cut = 0;
    if (c->reset_at != NONE && x->body_bytes + n > c->reset_at) {
        n = (size_t)(c->reset_at - x->body_bytes);
        cut = 1;
    }
    if (c->is_pkg) {
        sim_dl *dl = d->dl;
        if (dl->offset < sizeof(dl->lhead)) {
            size_t k = sizeof(dl->lhead) - (size_t)dl->offset;
            if (k > n)
                k = n;
            memcpy(dl->lhead + dl->offset, p, k);
        }
        if (dl->sha && n)
            EVP_DigestUpdate(dl->sha, p, n);
        luat_feed(dl, p, n);
        dl->offset += n;
        L->st.bytes += n;
        if (dl->offset > L->cfg->max_body) {
            finish(L, id, F_LOCAL);
            return 1;
        }
    } else if (n) {
        /* error body: kept (bounded) for its JSON code */
        if (c->hlen < ERRBODY_MAX) {
            size_t k = ERRBODY_MAX - c->hlen;
            if (k > n)
                k = n;
            if (c->hcap < ERRBODY_MAX) {
                char *nb = realloc(c->hbuf, ERRBODY_MAX);
                if (!nb) {
                    finish(L, id, F_LOCAL);
                    return 1;
                }
                c->hbuf = nb;
                c->hcap = ERRBODY_MAX;
            }
            memcpy(c->hbuf + c->hlen, p, k);
            c->hlen += (uint32_t)k;
        }
    }
    x->body_bytes += n;
    if (cut) {
        finish(L, id, F_RESET);
        return 1;
    }
    if (x->content_length >= 0 && x->body_bytes == (uint64_t)x->content_length) {
        finish(L, id, F_COMPLETE);
        return 1;
    }
    return 0;
}

/* Returns 1 when the exchange finished. */
static int feed(sim_loop *L, uint32_t id, const char *p, size_t n)
{
    sim_conn *c = L->dev[id].conn;
    if (c->phase == C_BODY)
        return feed_body(L, id, p, n);
    size_t cap = L->cfg->max_header;
    size_t want = cap - c->hlen < n ? cap - c->hlen : n;
    if (c->hlen + want > c->hcap) {
        size_t nc = c->hcap ? c->hcap : HEAD_INIT;
        while (nc < c->hlen + want)
            nc *= 2;
        if (nc > cap)
            nc = cap;
        char *nb = realloc(c->hbuf, nc);
        if (!nb) {
            finish(L, id, F_LOCAL);
            return 1;
        }
        c->hbuf = nb;
        c->hcap = (uint32_t)nc;
    }
    memcpy(c->hbuf + c->hlen, p, want);
    size_t old = c->hlen;
    c->hlen += (uint32_t)want;
    /* search from a little before the old end: the terminator may straddle */
    size_t from = old > 3 ? old - 3 : 0;
    size_t end = sim_http_head_end(c->hbuf + from, c->hlen - from);
    if (!end) {
        if (c->hlen >= cap) {
            finish(L, id, F_BADHEAD);
            return 1;
        }
        return 0;
    }
    end += from;
    if (sim_http_parse_head(c->hbuf, end, &c->head) != SIM_HTTP_OK) {
        finish(L, id, F_BADHEAD);
        return 1;
    }
    /* The terminator was not in the old bytes, so it ends inside p: the
     * body bytes received so far are the rest of p. */
    size_t body_off = end - old;
    c->hlen = 0; /* hbuf now holds the error body, if any */
    c->phase = C_BODY;
    if (on_head(L, id) < 0) {
        finish(L, id, F_LOCAL);
        return 1;
    }
    if (c->x.content_length == 0) {
        finish(L, id, F_COMPLETE);
        return 1;
    }
    if (n > body_off && feed_body(L, id, p + body_off, n - body_off))
        return 1;
    return 0;
}

static void on_readable(sim_loop *L, uint32_t id)
{
    sim_dev *d = &L->dev[id];
    for (int round = 0; round < 8 && d->conn; round++) {
        sim_conn *c = d->conn;
        size_t budget = sizeof(L->rbuf);
        if (d->slow) {
            if (c->slow_tokens == 0) {
                struct epoll_event ev = { .events = 0, .data.u32 = id };
                epoll_ctl(L->epfd, EPOLL_CTL_MOD, c->fd, &ev);
                c->paused = 1;
                uint64_t t = now_ns() + SLOW_TICK_NS;
                set_timer(L, id, t < c->deadline_ns ? t : c->deadline_ns);
                return;
            }
            if (budget > c->slow_tokens)
                budget = c->slow_tokens;
        }
        ssize_t r = recv(c->fd, L->rbuf, budget, 0);
        if (r > 0) {
            if (d->slow)
                c->slow_tokens -= (uint32_t)r;
            if (feed(L, id, L->rbuf, (size_t)r))
                return;
            continue;
        }
        if (r == 0) {
            finish(L, id, F_EOF);
            return;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return;
        if (errno == EINTR)
            continue;
        finish(L, id, F_EOF); /* reset by the server: closed */
        return;
    }
}

static void on_writable(sim_loop *L, uint32_t id)
{
    sim_conn *c = L->dev[id].conn;
    if (c->phase == C_CONNECTING) {
        int err = 0;
        socklen_t el = sizeof(err);
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
        if (err) {
            finish(L, id, F_REFUSED);
            return;
        }
        c->phase = C_SENDING;
    }
    while (c->req_off < c->req_len) {
        ssize_t w = send(c->fd, c->req + c->req_off, c->req_len - c->req_off, MSG_NOSIGNAL);
        if (w > 0) {
            c->req_off += (uint32_t)w;
            continue;
        }
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (w < 0 && errno == EINTR)
            continue;
        finish(L, id, F_EOF); /* closed before the head */
        return;
    }
    c->phase = C_HEAD;
    struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.u32 = id };
    epoll_ctl(L->epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

static void on_event(sim_loop *L, uint32_t id, uint32_t events)
{
    sim_dev *d = &L->dev[id];
    if (id >= L->n || !d->conn)
        return;
    sim_conn *c = d->conn;
    if (c->phase <= C_SENDING) {
        if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
            on_writable(L, id);
        return;
    }
    if (c->paused)
        return;
    if (events & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP))
        on_readable(L, id);
}

static void on_timer(sim_loop *L, uint32_t id, uint64_t now)
{
    sim_dev *d = &L->dev[id];
    sim_conn *c = d->conn;
    if (!c) {
        if (d->state == D_WAIT)
            start_check(L, id, now);
        return;
    }
    if (c->pending) {
        finish(L, id, (enum fin)(c->pending - 1));
        return;
    }
    if (now >= c->deadline_ns) {
        finish(L, id, F_TIMEOUT);
        return;
    }
    if (c->paused) {
        c->paused = 0;
        c->slow_tokens = L->cfg->slow_bps / 10 ? L->cfg->slow_bps / 10 : 1;
        struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.u32 = id };
        epoll_ctl(L->epfd, EPOLL_CTL_MOD, c->fd, &ev);
    }
    set_timer(L, id, c->deadline_ns);
}

/* ---- life cycle ---- */

int sim_loop_init(sim_loop *L, const sim_config *cfg, uint32_t first, uint32_t stride,
                  const struct sockaddr_storage *addr, socklen_t alen, uint32_t max_active,
                  volatile int *stop)
{
    memset(L, 0, sizeof(*L));
    L->cfg = cfg;
    L->first = first;
    L->stride = stride;
    L->n = cfg->devices > first ? (cfg->devices - first + stride - 1) / stride : 0;
    L->addr = *addr;
    L->alen = alen;
    L->max_active = max_active ? max_active : 1;
    L->stop = stop;
    L->epfd = -1;
    if (L->n == 0)
        return 0;
    L->dev = calloc(L->n, sizeof(*L->dev));
    L->pos = calloc(L->n, sizeof(*L->pos));
    L->queue = calloc(L->n, sizeof(*L->queue));
    if (!L->dev || !L->pos || !L->queue || sim_heap_init(&L->heap, L->n, L->pos) < 0)
        return -1;
    L->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (L->epfd < 0)
        return -1;
    for (uint32_t i = 0; i < L->n; i++) {
        sim_dev *d = &L->dev[i];
        d->ver = d->ver0 = cfg->version;
        d->rng = cfg->seed ^ (0x5851F42D4C957F2Dull * (gindex(L, i) + 1ull));
        sim_rng_next(&d->rng);
        d->last_code = -1;
        if (roll(d, cfg->slow_rate)) {
            d->slow = 1;
            L->st.slow_devices++;
        }
    }
    return 0;
}

void sim_loop_run(sim_loop *L)
{
    const sim_config *cfg = L->cfg;
    uint64_t start = now_ns();
    uint64_t end = start + secs_ns(cfg->duration_s);
    for (uint32_t i = 0; i < L->n; i++) {
        sim_dev *d = &L->dev[i];
        double first = cfg->ramp_s > 0 ? cfg->ramp_s * sim_rng_unit(&d->rng) : 0;
        schedule(L, i, start + secs_ns(first));
    }
    struct epoll_event evs[256];
    while (!__atomic_load_n(L->stop, __ATOMIC_RELAXED)) {
        uint64_t now = now_ns();
        if (now >= end)
            break;
        if (cfg->schedule == SIM_SCHED_ONCE && L->done == L->n)
            break;
        const sim_heap_ent *top;
        unsigned fired = 0;
        while ((top = sim_heap_top(&L->heap)) && top->when <= now && fired < 4096) {
            uint32_t id = top->id;
            sim_heap_remove(&L->heap, id);
            on_timer(L, id, now);
            fired++;
        }
        if (cfg->schedule == SIM_SCHED_ONCE && L->done == L->n)
            break;
        int wait_ms = 100;
        top = sim_heap_top(&L->heap);
        if (fired >= 4096)
            wait_ms = 0;
        else if (top) {
            uint64_t dt = top->when > now ? top->when - now : 0;
            uint64_t ms = (dt + 999999) / 1000000;
            if (ms < (uint64_t)wait_ms)
                wait_ms = (int)ms;
        }
        int nev = epoll_wait(L->epfd, evs, 256, wait_ms);
        for (int i = 0; i < nev; i++)
            on_event(L, evs[i].data.u32, evs[i].events);
    }
    /* the deadline or a stop: close what is still open */
    for (uint32_t i = 0; i < L->n; i++) {
        sim_dev *d = &L->dev[i];
        if (d->conn) {
            d->conn->fd >= 0 ? (void)epoll_ctl(L->epfd, EPOLL_CTL_DEL, d->conn->fd, NULL) : (void)0;
            conn_close(L, d->conn, 0);
            d->conn = NULL;
        }
    }
}

/* A device's final state (exclusive, in this precedence). */
enum { FS_BANNED = 0, FS_FORBIDDEN, FS_UPGRADED, FS_LATEST, FS_HELD, FS_FAILED };
static int final_state(const sim_dev *d)
{
    if (d->answered && d->last_code == 40)
        return FS_BANNED;
    if (d->answered && d->last_code == 21)
        return FS_FORBIDDEN;
    if (!version_eq(&d->ver, &d->ver0))
        return FS_UPGRADED;
    if (d->answered && d->last_code == 27)
        return FS_LATEST;
    if (d->answered && d->last_code == SIM_CODE_HELD)
        return FS_HELD;
    return FS_FAILED;
}

void sim_loop_tally(const sim_loop *L, sim_summary *s, sim_latency *lat)
{
    const sim_summary *t = &L->st;
    s->checks += t->checks;
    s->packages += t->packages;
    s->bytes += t->bytes;
    s->resets += t->resets;
    s->resumes += t->resumes;
    s->restarts += t->restarts;
    s->power_cuts += t->power_cuts;
    s->boot_failures += t->boot_failures;
    s->timeouts += t->timeouts;
    s->refused += t->refused;
    s->closed += t->closed;
    s->sha_ok += t->sha_ok;
    s->sha_bad += t->sha_bad;
    s->luat_bad += t->luat_bad;
    s->slow_devices += t->slow_devices;
    s->peak_connections += t->peak_connections;
    for (int i = 0; i < SIM_RESULT_SLOTS; i++)
        s->results[i] += t->results[i];
    for (int i = 0; i < SIM_CODE_SLOTS; i++)
        s->codes[i] += t->codes[i];
    s->codes_other += t->codes_other;
    sim_latency_merge(lat, &L->lat);
    for (uint32_t i = 0; i < L->n; i++) {
        const sim_dev *d = &L->dev[i];
        s->devices++;
        if (d->packages > s->max_packages_per_device)
            s->max_packages_per_device = d->packages;
        if (d->stuck >= 2)
            s->looping++;
        switch (final_state(d)) {
        case FS_BANNED: s->banned++; break;
        case FS_FORBIDDEN: s->forbidden++; break;
        case FS_UPGRADED: s->upgraded++; break;
        case FS_LATEST: s->latest++; break;
        case FS_HELD: s->held++; break;
        default:
            s->failed++;
            if (L->cfg->schedule == SIM_SCHED_ONCE && d->state != D_DONE)
                s->unfinished++;
        }
    }
}

int sim_loop_report(const sim_loop *L, FILE *f)
{
    static const char *const names[] = { "banned", "forbidden", "upgraded", "latest", "held", "failed" };
    for (uint32_t i = 0; i < L->n; i++) {
        const sim_dev *d = &L->dev[i];
        char imei[SIM_IMEI_LEN + 1], v0[32], v[32];
        sim_imei_make(L->cfg->seed, gindex(L, i), imei);
        sim_version_format(&d->ver0, v0, sizeof(v0));
        sim_version_format(&d->ver, v, sizeof(v));
        if (fprintf(f, "{\"imei\":\"%s\",\"state\":\"%s\",\"from\":\"%s\",\"version\":\"%s\","
                       "\"checks\":%u,\"packages\":%u,\"last_code\":%d}\n",
                    imei, names[final_state(d)], v0, v, d->checks, d->packages,
                    d->answered ? d->last_code : -1) < 0)
            return -1;
    }
    return 0;
}

void sim_loop_free(sim_loop *L)
{
    for (uint32_t i = 0; i < L->n && L->dev; i++) {
        if (L->dev[i].conn) {
            conn_close(L, L->dev[i].conn, 0);
            L->dev[i].conn = NULL;
        }
        dl_free(&L->dev[i]);
    }
    if (L->epfd >= 0)
        close(L->epfd);
    sim_heap_free(&L->heap);
    free(L->dev);
    free(L->pos);
    free(L->queue);
    L->dev = NULL;
    L->pos = NULL;
    L->queue = NULL;
}

/*
 * delta_gen.c — the delta generator: a bounded queue and a few worker
 * threads, off every request path (signed.h).
 *
 * A job reads the two signed full packages from their blobs, makes the patch
 * between their payloads (ofdelta_make), wraps it as a signed delta package
 * (ofpkg_sign_package with the server's key), and keeps it when it is at most
 * delta_margin x the full package: blob first (durable), then its row, then
 * the in-memory cache entry — all three under the admin lock after checking
 * that both packages still exist. A delta not smaller by the margin is
 * recorded too, so it is not made again. A failure is remembered in memory
 * for DC_RETRY_FAILED_S seconds.
 */
#include "signed.h"

#include "blobs.h"
#include "delta_cache.h"
#include "log.h"
#include "ofdelta.h"
#include "server.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

typedef struct dg_job {
    cat_package base, target;
} dg_job;

struct delta_gen {
    of_server *s;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_mutex_t sign_mu; /* one signature at a time on the shared key */
    dg_job q[DELTA_QUEUE_MAX];
    size_t head, count;
    unsigned running;
    int stop;
    pthread_t th[16];
    unsigned nth;
};

static int read_blob(const char *data, const char *sha, uint64_t size, uint8_t **out, char *msg, size_t msglen)
{
    *out = NULL;
    int fd = blob_open(data, sha);
    if (fd < 0) {
        snprintf(msg, msglen, "blob %.16s is missing", sha);
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || (uint64_t)st.st_size != size) {
        close(fd);
        snprintf(msg, msglen, "blob %.16s has another size than its package row", sha);
        return -1;
    }
    uint8_t *b = malloc(size ? size : 1);
    size_t got = 0;
    while (b && got < size) {
        ssize_t r = pread(fd, b + got, size - got, (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    if (b == NULL || got != size) {
        free(b);
        snprintf(msg, msglen, b ? "cannot read blob %.16s" : "out of memory reading blob %.16s", sha);
        return -1;
    }
    *out = b;
    return 0;
}

ofpkg_err signed_make_delta(ofpkg_signer *signer, const uint8_t *base_pkg, size_t base_len,
                            const uint8_t *target_pkg, size_t target_len, uint8_t **out, size_t *out_len,
                            int *full_image, char *msg, size_t msglen)
{
    *out = NULL;
    *out_len = 0;
    *full_image = 0;
    ofpkg_manifest bm, tm;
    const uint8_t *bp, *tp, *sig;
    size_t siglen;
    ofpkg_err e = ofpkg_package_parse(base_pkg, base_len, &bm, &bp, &sig, &siglen, msg, msglen);
    if (e == OFPKG_OK)
        e = ofpkg_package_parse(target_pkg, target_len, &tm, &tp, &sig, &siglen, msg, msglen);
    if (e != OFPKG_OK)
        return e;
    if (bm.kind != OFPKG_KIND_FULL || tm.kind != OFPKG_KIND_FULL) {
        snprintf(msg, msglen, "deltas are made between two full packages");
        return OFPKG_ERR_ARG;
    }
    if (strcmp(bm.family, tm.family) || strcmp(bm.suffix, tm.suffix) || strcmp(bm.hw_id, tm.hw_id)) {
        snprintf(msg, msglen, "the two releases are for another family, layout suffix or hardware id (%s/%s/%s vs "
                              "%s/%s/%s): no delta between them",
                 bm.family, bm.suffix, bm.hw_id, tm.family, tm.suffix, tm.hw_id);
        return OFPKG_ERR_FAMILY;
    }
    uint8_t *patch = NULL;
    size_t plen = 0;
    ofdelta_make_stats stats;
    memset(&stats, 0, sizeof stats);
    ofdelta_err de = ofdelta_make(bp, (size_t)bm.payload_len, tp, (size_t)tm.payload_len, NULL, &patch, &plen, &stats);
    if (de != OFDELTA_OK) {
        snprintf(msg, msglen, "delta engine: %s", ofdelta_strerror(de));
        return de == OFDELTA_ERR_NOMEM ? OFPKG_ERR_NOMEM : OFPKG_ERR_TOO_BIG;
    }
    *full_image = stats.full_image;
    ofdelta_header h;
    if (ofdelta_header_parse(patch, plen, &h) != OFDELTA_OK) {
        free(patch);
        snprintf(msg, msglen, "delta engine made a patch whose header does not parse");
        return OFPKG_ERR_FORMAT;
    }
    ofpkg_manifest m = tm;
    m.kind = OFPKG_KIND_DELTA;
    m.base = bm.target;
    m.base_len = bm.result_len;
    memcpy(m.base_sha256, bm.result_sha256, 32);
    m.delta_window = h.window;
    e = ofpkg_sign_package(signer, &m, patch, plen, out, out_len, msg, msglen);
    free(patch);
    return e;
}

static int still_there(of_server *s, const dg_job *j)
{
    snapshot *snap = snap_acquire(&s->snaps);
    const cat_package *b = snap_package_by_id(snap, j->base.id), *t = snap_package_by_id(snap, j->target.id);
    int ok = b && t && !strcmp(b->sha256, j->base.sha256) && !strcmp(t->sha256, j->target.sha256);
    snapshot_unref(snap);
    return ok;
}

static void fail(of_server *s, const dg_job *j, const char *why)
{
    log_error("deltas: package %lld -> %lld: %s; devices get the full package (tried again in %d s)",
              (long long)j->base.id, (long long)j->target.id, why, DC_RETRY_FAILED_S);
    pthread_mutex_lock(&s->admin_mu);
    dcache_set_state(s->deltas, j->base.id, j->target.id, DC_FAILED, (int64_t)time(NULL));
    pthread_mutex_unlock(&s->admin_mu);
}

static void run_job(delta_gen *g, const dg_job *j)
{
    of_server *s = g->s;
    char msg[400];
    dcache_set_state(s->deltas, j->base.id, j->target.id, DC_GENERATING, (int64_t)time(NULL));
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    uint8_t *bb = NULL, *tb = NULL, *out = NULL;
    size_t outlen = 0;
    int full_image = 0;
    if (read_blob(s->data, j->base.sha256, j->base.size, &bb, msg, sizeof msg) < 0 ||
        read_blob(s->data, j->target.sha256, j->target.size, &tb, msg, sizeof msg) < 0) {
        free(bb);
        fail(s, j, msg);
        return;
    }
    pthread_mutex_lock(&g->sign_mu);
    ofpkg_err e = signed_make_delta(s->keys.signer, bb, (size_t)j->base.size, tb, (size_t)j->target.size, &out,
                                    &outlen, &full_image, msg, sizeof msg);
    pthread_mutex_unlock(&g->sign_mu);
    free(bb);
    free(tb);
    if (e != OFPKG_OK) {
        fail(s, j, msg);
        return;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    store_delta d;
    memset(&d, 0, sizeof d);
    d.base_id = j->base.id;
    d.target_id = j->target.id;
    d.size = outlen;
    d.full_size = j->target.size;
    d.created = (int64_t)time(NULL);
    int small = !full_image && delta_small_enough(outlen, j->target.size, s->cfg.delta_margin);
    d.state = small ? DELTA_READY : DELTA_NOT_SMALLER;
    char md5[33];
    if (small) {
        blob_upload *u = blob_begin(s->data, outlen + 1);
        int ok = u != NULL;
        if (ok && (blob_write(u, out, outlen) != 0 || blob_finish(u, md5, d.sha256) < 0)) {
            blob_abort(u);
            ok = 0;
        } else if (ok && blob_commit(u, s->data) < 0) { /* frees u */
            ok = 0;
        }
        if (!ok) {
            free(out);
            fail(s, j, "cannot store the delta package (disk full?)");
            return;
        }
    }
    free(out);
    pthread_mutex_lock(&s->admin_mu);
    if (!still_there(s, j)) {
        pthread_mutex_unlock(&s->admin_mu);
        dcache_remove(s->deltas, j->base.id, j->target.id);
        if (small) {
            long long refs = 1;
            if (s->st->ops->blob_refs(s->st, d.sha256, &refs) == STORE_OK && refs == 0)
                blob_remove(s->data, d.sha256);
        }
        log_info("deltas: package %lld -> %lld made, but a package was removed meanwhile: dropped",
                 (long long)j->base.id, (long long)j->target.id);
        return;
    }
    store_err se = s->st->ops->delta_put(s->st, &d);
    if (se != STORE_OK) {
        pthread_mutex_unlock(&s->admin_mu);
        if (small) {
            long long refs = 1;
            if (s->st->ops->blob_refs(s->st, d.sha256, &refs) == STORE_OK && refs == 0)
                blob_remove(s->data, d.sha256);
        }
        fail(s, j, store_strerror(se));
        return;
    }
    dc_entry ce;
    memset(&ce, 0, sizeof ce);
    ce.base_id = d.base_id;
    ce.target_id = d.target_id;
    ce.state = d.state;
    ce.size = d.size;
    ce.full_size = d.full_size;
    memcpy(ce.sha256, d.sha256, sizeof ce.sha256);
    ce.created = d.created;
    dcache_put(s->deltas, &ce);
    pthread_mutex_unlock(&s->admin_mu);
    if (small)
        log_info("deltas: package %lld -> %lld: %zu bytes (full package %llu bytes, %.0f%%) made in %.2f s",
                 (long long)j->base.id, (long long)j->target.id, outlen, (unsigned long long)j->target.size,
                 100.0 * (double)outlen / (double)(j->target.size ? j->target.size : 1), secs);
    else
        log_info("deltas: package %lld -> %lld: %zu bytes is not at most %.2f x the full package (%llu bytes)%s: "
                 "devices get the full package",
                 (long long)j->base.id, (long long)j->target.id, outlen, s->cfg.delta_margin,
                 (unsigned long long)j->target.size, full_image ? ", the images share too little" : "");
}

static void *worker(void *arg)
{
    delta_gen *g = arg;
    pthread_mutex_lock(&g->mu);
    for (;;) {
        while (!g->stop && g->count == 0)
            pthread_cond_wait(&g->cv, &g->mu);
        if (g->stop)
            break;
        dg_job j = g->q[g->head];
        g->head = (g->head + 1) % DELTA_QUEUE_MAX;
        g->count--;
        g->running++;
        pthread_mutex_unlock(&g->mu);
        run_job(g, &j);
        pthread_mutex_lock(&g->mu);
        g->running--;
    }
    pthread_mutex_unlock(&g->mu);
    return NULL;
}

delta_gen *delta_gen_start(of_server *s, unsigned n)
{
    delta_gen *g = calloc(1, sizeof *g);
    if (g == NULL)
        return NULL;
    g->s = s;
    pthread_mutex_init(&g->mu, NULL);
    pthread_mutex_init(&g->sign_mu, NULL);
    pthread_cond_init(&g->cv, NULL);
    if (n == 0)
        n = 1;
    if (n > 16)
        n = 16;
    for (unsigned i = 0; i < n; i++) {
        if (pthread_create(&g->th[i], NULL, worker, g) != 0)
            break;
        g->nth++;
    }
    if (g->nth == 0) {
        delta_gen_stop(g);
        return NULL;
    }
    return g;
}

int delta_gen_submit(delta_gen *g, const cat_package *base, const cat_package *target)
{
    pthread_mutex_lock(&g->mu);
    if (g->stop || g->count == DELTA_QUEUE_MAX) {
        pthread_mutex_unlock(&g->mu);
        return -1;
    }
    dg_job *j = &g->q[(g->head + g->count) % DELTA_QUEUE_MAX];
    j->base = *base;
    j->target = *target;
    g->count++;
    pthread_cond_signal(&g->cv);
    pthread_mutex_unlock(&g->mu);
    return 0;
}

unsigned delta_gen_pending(delta_gen *g)
{
    if (g == NULL)
        return 0;
    pthread_mutex_lock(&g->mu);
    unsigned n = (unsigned)g->count + g->running;
    pthread_mutex_unlock(&g->mu);
    return n;
}

void delta_gen_stop(delta_gen *g)
{
    if (g == NULL)
        return;
    pthread_mutex_lock(&g->mu);
    g->stop = 1;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
    for (unsigned i = 0; i < g->nth; i++)
        pthread_join(g->th[i], NULL);
    pthread_mutex_destroy(&g->mu);
    pthread_mutex_destroy(&g->sign_mu);
    pthread_cond_destroy(&g->cv);
    free(g);
}

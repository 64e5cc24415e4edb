/*
 * webhook.c — signed JSON notifications with retries (webhook.h).
 */
#include "webhook.h"

#include "log.h"

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#define BACKOFF_CAP_MS 60000u

typedef struct wh_item {
    char event[48];
    char id[24];
    char *body;        /* owned */
    size_t len;
    unsigned tries;    /* made so far */
    uint64_t next_ms;  /* monotonic time of the next try */
} wh_item;

struct webhook {
    char url[WEBHOOK_URL_MAX + 1];
    unsigned char secret[WEBHOOK_SECRET_MAX];
    size_t secret_len;
    unsigned tries, backoff_ms, timeout_ms, queue_max;
    pthread_t thr;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    wh_item *q;        /* queue_max slots, unordered; n used */
    unsigned n;
    unsigned inflight; /* taken out by the sender for a try: its slot stays reserved */
    int stopping;
    uint64_t stop_by_ms;
    webhook_stats st;
    uint64_t seq;
};

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void webhook_sign(const unsigned char *secret, size_t secret_len, const char *body, size_t len, char out[72])
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned ml = 0;
    static const unsigned char none = 0;
    HMAC(EVP_sha256(), secret_len ? secret : &none, (int)secret_len, (const unsigned char *)body, len, mac, &ml);
    memcpy(out, "sha256=", 7);
    for (unsigned i = 0; i < ml && i < 32; i++)
        snprintf(out + 7 + 2 * i, 3, "%02x", mac[i]);
    out[7 + 64] = 0;
}

/* Accepts http://HOST[:PORT][/PATH] with a non-empty host and no blanks. */
static int url_ok(const char *u, char *err, size_t errlen)
{
    size_t l = strlen(u);
    if (l == 0 || l > WEBHOOK_URL_MAX) {
        snprintf(err, errlen, "webhook_url: give an http:// URL of at most %d characters", WEBHOOK_URL_MAX);
        return 0;
    }
    if (strncasecmp(u, "http://", 7) != 0) {
        snprintf(err, errlen, "webhook_url: '%.80s' is not an http:// URL (only http:// is supported; put a TLS "
                              "proxy on the receiver's side for https)", u);
        return 0;
    }
    const char *h = u + 7;
    if (*h == 0 || *h == '/' || *h == ':') {
        snprintf(err, errlen, "webhook_url: '%.80s' has no host, e.g. http://127.0.0.1:9000/hook", u);
        return 0;
    }
    for (const char *p = u; *p; p++) {
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f) {
            snprintf(err, errlen, "webhook_url: the URL contains a blank or a control character");
            return 0;
        }
    }
    return 1;
}

static size_t discard(char *ptr, size_t size, size_t nmemb, void *ud)
{
    (void)ptr;
    (void)ud;
    return size * nmemb; /* the receiver's answer body is not used */
}

/* One try; returns the HTTP status (0 when there was no answer), with a
 * short reason in why. */
static long send_once(webhook *w, const wh_item *it, char *why, size_t whylen)
{
    CURL *c = curl_easy_init();
    if (!c) {
        snprintf(why, whylen, "out of memory");
        return 0;
    }
    char sig[72], hsig[96], hev[96], hid[64];
    struct curl_slist *h = NULL;
    h = curl_slist_append(h, "Content-Type: application/json");
    snprintf(hev, sizeof hev, "X-Openfota-Event: %s", it->event);
    h = curl_slist_append(h, hev);
    snprintf(hid, sizeof hid, "X-Openfota-Delivery: %s", it->id);
    h = curl_slist_append(h, hid);
    if (w->secret_len) {
        webhook_sign(w->secret, w->secret_len, it->body, it->len, sig);
        snprintf(hsig, sizeof hsig, "X-Openfota-Signature: %s", sig);
        h = curl_slist_append(h, hsig);
    }
    h = curl_slist_append(h, "Expect:");
    curl_easy_setopt(c, CURLOPT_URL, w->url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, it->body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)it->len);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)w->timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)w->timeout_ms);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "openfota-webhook");
    long status = 0;
    CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        snprintf(why, whylen, "answered %ld", status);
    } else {
        snprintf(why, whylen, "%s", curl_easy_strerror(rc));
    }
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return status;
}

static void item_free(wh_item *it)
{
    free(it->body);
    it->body = NULL;
}

static void *sender(void *arg)
{
    webhook *w = arg;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        uint64_t now = mono_ms();
        if (w->stopping && (w->n == 0 || now >= w->stop_by_ms))
            break;
        /* the due item that waited longest */
        int pick = -1;
        uint64_t soonest = UINT64_MAX;
        for (unsigned i = 0; i < w->n; i++) {
            if (w->q[i].next_ms < soonest) {
                soonest = w->q[i].next_ms;
                pick = (int)i;
            }
        }
        if (pick < 0 || soonest > now) {
            uint64_t until = pick < 0 ? now + 1000 : soonest;
            if (w->stopping && until > w->stop_by_ms)
                until = w->stop_by_ms;
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            uint64_t wait = until > now ? until - now : 0;
            ts.tv_sec += (time_t)(wait / 1000);
            ts.tv_nsec += (long)(wait % 1000) * 1000000L;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&w->cond, &w->mu, &ts);
            continue;
        }
        /* take it out while sending: the queue stays usable */
        wh_item it = w->q[pick];
        w->q[pick] = w->q[--w->n];
        w->inflight = 1;
        pthread_mutex_unlock(&w->mu);
        char why[160];
        long status = send_once(w, &it, why, sizeof why);
        it.tries++;
        pthread_mutex_lock(&w->mu);
        w->inflight = 0;
        if (status >= 200 && status < 300) {
            w->st.delivered++;
            log_debug("webhook %s %s delivered (try %u)", it.event, it.id, it.tries);
            item_free(&it);
        } else if (it.tries >= w->tries || (w->stopping && mono_ms() >= w->stop_by_ms)) {
            w->st.failed++;
            log_error("webhook %s %s dropped after %u tries: %s (%s)", it.event, it.id, it.tries, why, w->url);
            item_free(&it);
        } else {
            uint64_t back = (uint64_t)w->backoff_ms << (it.tries - 1 < 16 ? it.tries - 1 : 16);
            if (back > BACKOFF_CAP_MS)
                back = BACKOFF_CAP_MS;
            it.next_ms = mono_ms() + back;
            w->st.retries++;
            log_warn("webhook %s %s: try %u of %u failed: %s; next try in %llu ms", it.event, it.id, it.tries,
                     w->tries, why, (unsigned long long)back);
            w->q[w->n++] = it; /* a slot is free: it was taken out above */
        }
    }
    for (unsigned i = 0; i < w->n; i++) {
        w->st.failed++;
        log_error("webhook %s %s not delivered before the server stopped", w->q[i].event, w->q[i].id);
        item_free(&w->q[i]);
    }
    w->n = 0;
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

webhook *webhook_create(const webhook_config *cfg, char *err, size_t errlen)
{
    if (!cfg || !cfg->url || !url_ok(cfg->url, err, errlen))
        return NULL;
    if (cfg->secret_len > WEBHOOK_SECRET_MAX) {
        snprintf(err, errlen, "webhook secret: at most %d bytes", WEBHOOK_SECRET_MAX);
        return NULL;
    }
    webhook *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    snprintf(w->url, sizeof w->url, "%s", cfg->url);
    if (cfg->secret_len)
        memcpy(w->secret, cfg->secret, cfg->secret_len);
    w->secret_len = cfg->secret_len;
    w->tries = cfg->tries ? cfg->tries : 5;
    w->backoff_ms = cfg->backoff_ms ? cfg->backoff_ms : 1000;
    w->timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : 5000;
    w->queue_max = cfg->queue_max ? cfg->queue_max : 256;
    w->q = calloc(w->queue_max, sizeof *w->q);
    if (!w->q) {
        free(w);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cond, NULL);
    if (pthread_create(&w->thr, NULL, sender, w) != 0) {
        snprintf(err, errlen, "cannot start the webhook thread");
        pthread_mutex_destroy(&w->mu);
        pthread_cond_destroy(&w->cond);
        free(w->q);
        free(w);
        return NULL;
    }
    if (!w->secret_len)
        log_warn("webhook: no secret set: events to %s are not signed (set webhook_secret_file)", w->url);
    return w;
}

int webhook_post(webhook *w, const char *event, json_t *data)
{
    if (!w || !event) {
        json_decref(data);
        return -1;
    }
    unsigned char rnd[4] = {0};
    if (getrandom(rnd, sizeof rnd, GRND_NONBLOCK) != (ssize_t)sizeof rnd)
        memset(rnd, 0, sizeof rnd);
    pthread_mutex_lock(&w->mu);
    uint64_t seq = ++w->seq;
    pthread_mutex_unlock(&w->mu);
    char id[24];
    snprintf(id, sizeof id, "%02x%02x%02x%02x-%llu", rnd[0], rnd[1], rnd[2], rnd[3], (unsigned long long)seq);
    json_t *o = json_pack("{s:s,s:I,s:s,s:o}", "event", event, "time", (json_int_t)time(NULL), "id", id, "data",
                          data ? data : json_object());
    char *body = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (body && strlen(body) > WEBHOOK_BODY_MAX) {
        free(body);
        o = json_pack("{s:s,s:I,s:s,s:{s:b}}", "event", event, "time", (json_int_t)time(NULL), "id", id, "data",
                      "truncated", 1);
        body = o ? json_dumps(o, JSON_COMPACT) : NULL;
        json_decref(o);
    }
    pthread_mutex_lock(&w->mu);
    if (!body || w->n + w->inflight >= w->queue_max || w->stopping) {
        w->st.overflow++;
        unsigned n = w->n;
        pthread_mutex_unlock(&w->mu);
        log_warn("webhook %s dropped: %s (%u waiting)", event, body ? "the queue is full" : "out of memory", n);
        free(body);
        return -1;
    }
    wh_item *it = &w->q[w->n++];
    memset(it, 0, sizeof *it);
    snprintf(it->event, sizeof it->event, "%s", event);
    memcpy(it->id, id, sizeof it->id);
    it->body = body;
    it->len = strlen(body);
    it->next_ms = mono_ms();
    w->st.queued++;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->mu);
    return 0;
}

void webhook_get_stats(webhook *w, webhook_stats *out)
{
    memset(out, 0, sizeof *out);
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    *out = w->st;
    out->waiting = w->n + w->inflight;
    pthread_mutex_unlock(&w->mu);
}

json_t *webhook_stats_json(webhook *w)
{
    if (!w)
        return json_null();
    webhook_stats st;
    webhook_get_stats(w, &st);
    return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I}", "queued", (json_int_t)st.queued, "delivered",
                     (json_int_t)st.delivered, "retries", (json_int_t)st.retries, "failed", (json_int_t)st.failed,
                     "overflow", (json_int_t)st.overflow, "waiting", (json_int_t)st.waiting);
}

void webhook_destroy(webhook *w, unsigned grace_ms)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    w->stopping = 1;
    w->stop_by_ms = mono_ms() + grace_ms;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thr, NULL);
    OPENSSL_cleanse(w->secret, sizeof w->secret);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cond);
    free(w->q);
    free(w);
}

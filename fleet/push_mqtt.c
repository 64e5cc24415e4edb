/*
 * push_mqtt.c — MQTT publisher over libmosquitto (see push_mqtt.h).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mosquitto.h>

#include "offleet.h"
#include "push_mqtt.h"

struct push_mqtt {
    struct mosquitto *mosq;
    char host[256];
    int port;
    void *ctx;
    void (*log)(void *ctx, int level, const char *msg);
    void (*on_connect)(void *ctx);
    pthread_mutex_t mu;
    struct push_mqtt_stats st;
    int started;
};

static pthread_once_t lib_once = PTHREAD_ONCE_INIT;
static void lib_init(void)
{
    mosquitto_lib_init();
}

static void mlog(struct push_mqtt *m, int level, const char *msg)
{
    if (m->log)
        m->log(m->ctx, level, msg);
}

static void cb_connect(struct mosquitto *mosq, void *obj, int rc)
{
    (void)mosq;
    struct push_mqtt *m = obj;
    char msg[512];
    if (rc == 0) {
        pthread_mutex_lock(&m->mu);
        m->st.connected = 1;
        pthread_mutex_unlock(&m->mu);
        snprintf(msg, sizeof msg, "mqtt: connected to %s:%d", m->host, m->port);
        mlog(m, FLEET_LOG_INFO, msg);
        if (m->on_connect)
            m->on_connect(m->ctx);
    } else {
        snprintf(msg, sizeof msg, "mqtt: broker %s:%d refused the connection: %s", m->host, m->port,
                 mosquitto_connack_string(rc));
        mlog(m, FLEET_LOG_WARN, msg);
    }
}

static void cb_disconnect(struct mosquitto *mosq, void *obj, int rc)
{
    (void)mosq;
    struct push_mqtt *m = obj;
    pthread_mutex_lock(&m->mu);
    int was = m->st.connected;
    m->st.connected = 0;
    if (rc != 0)
        m->st.reconnects++;
    pthread_mutex_unlock(&m->mu);
    if (was && rc != 0) {
        char msg[512];
        snprintf(msg, sizeof msg, "mqtt: lost the broker %s:%d; reconnecting with backoff", m->host, m->port);
        mlog(m, FLEET_LOG_WARN, msg);
    }
}

static void cb_publish(struct mosquitto *mosq, void *obj, int mid)
{
    (void)mosq;
    (void)mid;
    struct push_mqtt *m = obj;
    pthread_mutex_lock(&m->mu);
    m->st.acked++;
    pthread_mutex_unlock(&m->mu);
}

struct push_mqtt *push_mqtt_new(const char *broker, const char *client_id, void *ctx,
                                void (*log)(void *ctx, int level, const char *msg),
                                void (*on_connect)(void *ctx))
{
    pthread_once(&lib_once, lib_init);
    struct push_mqtt *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->ctx = ctx;
    m->log = log;
    m->on_connect = on_connect;
    pthread_mutex_init(&m->mu, NULL);
    const char *colon = strrchr(broker, ':');
    char *end = NULL;
    long port = colon ? strtol(colon + 1, &end, 10) : -1;
    size_t hl = colon ? (size_t)(colon - broker) : 0;
    if (broker[0] == '[' && hl >= 2 && broker[hl - 1] == ']') {
        broker++;
        hl -= 2;
    }
    if (!colon || hl == 0 || hl >= sizeof m->host || !end || *end || port <= 0 || port > 65535) {
        char msg[600];
        snprintf(msg, sizeof msg, "mqtt: cannot read broker address '%s': use HOST:PORT, e.g. 127.0.0.1:1883",
                 broker);
        mlog(m, FLEET_LOG_ERROR, msg);
        pthread_mutex_destroy(&m->mu);
        free(m);
        return NULL;
    }
    memcpy(m->host, broker, hl);
    m->host[hl] = '\0';
    m->port = (int)port;
    m->mosq = mosquitto_new(client_id, true, m);
    if (!m->mosq) {
        pthread_mutex_destroy(&m->mu);
        free(m);
        return NULL;
    }
    mosquitto_connect_callback_set(m->mosq, cb_connect);
    mosquitto_disconnect_callback_set(m->mosq, cb_disconnect);
    mosquitto_publish_callback_set(m->mosq, cb_publish);
    mosquitto_reconnect_delay_set(m->mosq, 1, 30, true);
    mosquitto_int_option(m->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
    mosquitto_max_inflight_messages_set(m->mosq, 100);
    return m;
}

int push_mqtt_start(struct push_mqtt *m)
{
    int rc = mosquitto_connect_async(m->mosq, m->host, m->port, 30);
    if (rc != MOSQ_ERR_SUCCESS) {
        char msg[600];
        snprintf(msg, sizeof msg, "mqtt: cannot reach %s:%d yet (%s); retrying in the background", m->host,
                 m->port, mosquitto_strerror(rc));
        mlog(m, FLEET_LOG_WARN, msg);
    }
    rc = mosquitto_loop_start(m->mosq);
    if (rc != MOSQ_ERR_SUCCESS)
        return FLEET_ERR_IO;
    m->started = 1;
    return 0;
}

void push_mqtt_stop(struct push_mqtt *m)
{
    if (!m || !m->started)
        return;
    mosquitto_disconnect(m->mosq);
    mosquitto_loop_stop(m->mosq, true);
    m->started = 0;
}

void push_mqtt_free(struct push_mqtt *m)
{
    if (!m)
        return;
    push_mqtt_stop(m);
    mosquitto_destroy(m->mosq);
    pthread_mutex_destroy(&m->mu);
    free(m);
}

int push_mqtt_publish(struct push_mqtt *m, const char *topic, const void *payload, size_t len)
{
    pthread_mutex_lock(&m->mu);
    int connected = m->st.connected;
    pthread_mutex_unlock(&m->mu);
    int rc = connected ? mosquitto_publish(m->mosq, NULL, topic, (int)len, payload, 1, false)
                       : MOSQ_ERR_NO_CONN;
    pthread_mutex_lock(&m->mu);
    if (rc == MOSQ_ERR_SUCCESS)
        m->st.published++;
    else
        m->st.failed++;
    pthread_mutex_unlock(&m->mu);
    return rc == MOSQ_ERR_SUCCESS ? 0 : FLEET_ERR_IO;
}

void push_mqtt_get_stats(struct push_mqtt *m, struct push_mqtt_stats *out)
{
    pthread_mutex_lock(&m->mu);
    *out = m->st;
    pthread_mutex_unlock(&m->mu);
}

static int value_ok(const char *v)
{
    return v && *v && !strpbrk(v, "+#/");
}

int push_mqtt_topic(const char *tmpl, const char *project, const char *firmware, const char *device,
                    char *buf, size_t size)
{
    size_t o = 0;
    for (const char *p = tmpl; *p;) {
        const char *val = NULL;
        size_t skip = 0;
        if (!strncmp(p, "{project}", 9)) {
            val = project;
            skip = 9;
        } else if (!strncmp(p, "{firmware}", 10)) {
            val = firmware;
            skip = 10;
        } else if (!strncmp(p, "{device}", 8)) {
            val = device;
            skip = 8;
        }
        if (skip) {
            if (!value_ok(val))
                return FLEET_ERR_INVAL;
            size_t n = strlen(val);
            if (o + n >= size)
                return FLEET_ERR_LIMIT;
            memcpy(buf + o, val, n);
            o += n;
            p += skip;
        } else {
            if (*p == '+' || *p == '#')
                return FLEET_ERR_INVAL;
            if (o + 1 >= size)
                return FLEET_ERR_LIMIT;
            buf[o++] = *p++;
        }
    }
    if (o == 0)
        return FLEET_ERR_INVAL;
    buf[o] = '\0';
    return (int)o;
}

/*
 * push_mqtt.h — MQTT publisher for push commands through a broker
 * (libmosquitto). QoS 1, so a device with a persistent session gets the
 * command when it reconnects; the client reconnects with exponential backoff
 * (1 s doubling to 30 s) on its own thread.
 *
 * Thread safety: push_mqtt_publish / push_mqtt_get_stats from any thread.
 */
#ifndef OPENFOTA_FLEET_PUSH_MQTT_H
#define OPENFOTA_FLEET_PUSH_MQTT_H

#include <stddef.h>
#include <stdint.h>

struct push_mqtt_stats {
    int connected;
    uint64_t published;   /* handed to the broker */
    uint64_t acked;       /* PUBACK received */
    uint64_t failed;      /* refused by the client library (e.g. not connected) */
    uint64_t reconnects;
};

struct push_mqtt;

/* broker "HOST:PORT" (borrowed). log may be NULL. NULL on a bad address or
 * out of memory (logged). */
struct push_mqtt *push_mqtt_new(const char *broker, const char *client_id, void *ctx,
                                void (*log)(void *ctx, int level, const char *msg),
                                void (*on_connect)(void *ctx));
int push_mqtt_start(struct push_mqtt *m);
void push_mqtt_stop(struct push_mqtt *m);
void push_mqtt_free(struct push_mqtt *m);
/* Publishes payload (len bytes) at QoS 1 on topic. 0, or FLEET_ERR_IO when the
 * client is not connected (the caller retries after on_connect). */
int push_mqtt_publish(struct push_mqtt *m, const char *topic, const void *payload, size_t len);
void push_mqtt_get_stats(struct push_mqtt *m, struct push_mqtt_stats *out);

/* Expands a topic template: {project}, {firmware}, {device} are replaced;
 * MQTT wildcards '+' '#' and NUL in the values are refused. Returns the
 * length, or FLEET_ERR_INVAL / FLEET_ERR_LIMIT. */
int push_mqtt_topic(const char *tmpl, const char *project, const char *firmware, const char *device,
                    char *buf, size_t size);

#endif

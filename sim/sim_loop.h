/*
 * sim_loop.h — one event loop of the simulator (see sim_loop.c).
 */
#ifndef OPENFOTA_SIM_LOOP_H
#define OPENFOTA_SIM_LOOP_H

#include "sim_internal.h"

#include <stdio.h>
#include <sys/socket.h>

typedef struct sim_dl sim_dl;
typedef struct sim_conn sim_conn;

/* One simulated device while it exists: about 64 bytes. */
typedef struct sim_dev {
    sim_version ver, ver0; /* running version, starting version */
    uint64_t rng;          /* the device's own RNG (faults, jitter) */
    sim_conn *conn;        /* owned; the check under way, or NULL */
    sim_dl *dl;            /* owned; a package download under way, or NULL */
    uint16_t checks, packages, fails_in_row, stuck; /* stuck: packages without a version change */
    int16_t last_code;     /* JSON code of the last non-2xx answer, -1 if none */
    uint8_t state, slow, answered;
} sim_dev;

typedef struct sim_loop {
    const sim_config *cfg;  /* borrowed */
    volatile int *stop;     /* borrowed; set by the main thread */
    uint32_t first, stride, n;
    sim_dev *dev;           /* owned, n entries; device id i is fleet index first + i*stride */
    int32_t *pos;           /* owned; heap positions */
    sim_heap heap;
    uint32_t *queue;        /* owned; devices waiting for a connection slot */
    uint32_t qhead, qlen;
    uint32_t active, max_active, done;
    int epfd;
    struct sockaddr_storage addr;
    socklen_t alen;
    sim_summary st;         /* event counts (device states are tallied at the end) */
    sim_latency lat;
    /* progress, read by the main thread with relaxed atomics */
    uint64_t pub_checks, pub_done, pub_packages, pub_upgraded;
    char reqbuf[4096];
    char rbuf[65536];
} sim_loop;

int sim_loop_init(sim_loop *L, const sim_config *cfg, uint32_t first, uint32_t stride,
                  const struct sockaddr_storage *addr, socklen_t alen, uint32_t max_active,
                  volatile int *stop);
void sim_loop_run(sim_loop *L);
/* Adds this loop's counts and device states to s and its latencies to lat. */
void sim_loop_tally(const sim_loop *L, sim_summary *s, sim_latency *lat);
/* Writes one JSON line per device (imei, state, from, version, checks,
 * packages, last_code) to f. Returns 0, or -1 on a write error. */
int sim_loop_report(const sim_loop *L, FILE *f);
void sim_loop_free(sim_loop *L);

#endif

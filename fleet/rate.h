/*
 * rate.h — token bucket: the one rate controller shared by pushes and by new
 * rollout offers. Pure arithmetic on a caller-given clock (seconds as double,
 * monotonic) so tests drive time by hand; the fleet wraps it in its mutex.
 */
#ifndef OPENFOTA_FLEET_RATE_H
#define OPENFOTA_FLEET_RATE_H

#include <stdint.h>

struct fleet_rate {
    double per_s;     /* tokens added per second (> 0) */
    double burst;     /* bucket size (>= 1) */
    double tokens;    /* current fill */
    double last;      /* clock of the last refill */
    uint64_t granted; /* tokens handed out */
    uint64_t denied;  /* try_take calls refused */
};

/* Starts full. per_s <= 0 or burst < 1 are clamped (per_s to 0.001, burst to 1). */
void rate_init(struct fleet_rate *r, double per_s, double burst, double now);
/* Changes the rate; keeps the current fill (clamped to the new burst). */
void rate_set(struct fleet_rate *r, double per_s, double burst, double now);
/* Takes one token when available: returns 1, else 0 (counted as denied). */
int rate_try_take(struct fleet_rate *r, double now);
/* Seconds until one token will be available (0 when one is there now). */
double rate_wait(struct fleet_rate *r, double now);
/* Current fill after refilling to now. */
double rate_tokens(struct fleet_rate *r, double now);

#endif

/*
 * rate.c — token bucket (see rate.h). Refill is computed lazily from the
 * time since the last call; a clock that goes backwards refills nothing.
 */
#include "rate.h"

static void rate_refill(struct fleet_rate *r, double now)
{
    if (now > r->last) {
        r->tokens += (now - r->last) * r->per_s;
        if (r->tokens > r->burst)
            r->tokens = r->burst;
        r->last = now;
    }
}

void rate_init(struct fleet_rate *r, double per_s, double burst, double now)
{
    r->per_s = per_s > 0.001 ? per_s : 0.001;
    r->burst = burst >= 1.0 ? burst : 1.0;
    r->tokens = r->burst;
    r->last = now;
    r->granted = 0;
    r->denied = 0;
}

void rate_set(struct fleet_rate *r, double per_s, double burst, double now)
{
    rate_refill(r, now);
    r->per_s = per_s > 0.001 ? per_s : 0.001;
    r->burst = burst >= 1.0 ? burst : 1.0;
    if (r->tokens > r->burst)
        r->tokens = r->burst;
}

int rate_try_take(struct fleet_rate *r, double now)
{
    rate_refill(r, now);
    if (r->tokens >= 1.0) {
        r->tokens -= 1.0;
        r->granted++;
        return 1;
    }
    r->denied++;
    return 0;
}

double rate_wait(struct fleet_rate *r, double now)
{
    rate_refill(r, now);
    if (r->tokens >= 1.0)
        return 0.0;
    return (1.0 - r->tokens) / r->per_s;
}

double rate_tokens(struct fleet_rate *r, double now)
{
    rate_refill(r, now);
    return r->tokens;
}

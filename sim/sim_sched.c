/*
 * sim_sched.c — time: durations, time compression, jitter, the timer heap
 * and the deterministic RNG.
 *
 * Schedules are written in simulated time (a device that checks every 4 h)
 * and run in real time divided by --time-scale: `--period 4h --time-scale
 * 3600` makes every simulated 4 hours last 4 real seconds. Each loop keeps a
 * binary min-heap of (deadline, device) with one entry per device at most;
 * a device's position is kept in an array so its deadline can be moved in
 * O(log n).
 */
#include "sim_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int sim_parse_duration(const char *s, double *seconds)
{
    if (!s || !*s)
        return -1;
    char *end = NULL;
    double v = strtod(s, &end);
    if (end == s || !isfinite(v) || v < 0)
        return -1;
    double mul = 1;
    if (strcmp(end, "") == 0 || strcmp(end, "s") == 0)
        mul = 1;
    else if (strcmp(end, "ms") == 0)
        mul = 0.001;
    else if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0)
        mul = 60;
    else if (strcmp(end, "h") == 0)
        mul = 3600;
    else if (strcmp(end, "d") == 0)
        mul = 86400;
    else
        return -1;
    *seconds = v * mul;
    return isfinite(*seconds) ? 0 : -1;
}

double sim_sched_real(double sim_seconds, double time_scale)
{
    if (time_scale < 1e-9)
        time_scale = 1e-9;
    double r = sim_seconds / time_scale;
    return r < 0 ? 0 : r;
}

double sim_sched_next_period(double period_s, double jitter, double time_scale, double u)
{
    if (jitter < 0)
        jitter = 0;
    if (jitter > 1)
        jitter = 1;
    double span = period_s * (1.0 + jitter * (2.0 * u - 1.0));
    return sim_sched_real(span, time_scale);
}

uint64_t sim_rng_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

double sim_rng_unit(uint64_t *state)
{
    return (double)(sim_rng_next(state) >> 11) * (1.0 / 9007199254740992.0);
}

/* ---- heap ---- */

int sim_heap_init(sim_heap *h, uint32_t cap, int32_t *pos)
{
    memset(h, 0, sizeof(*h));
    h->ent = calloc(cap ? cap : 1, sizeof(*h->ent));
    if (!h->ent)
        return -1;
    h->cap = cap;
    h->pos = pos;
    for (uint32_t i = 0; i < cap; i++)
        pos[i] = -1;
    return 0;
}

void sim_heap_free(sim_heap *h)
{
    free(h->ent);
    h->ent = NULL;
    h->len = h->cap = 0;
}

static void heap_place(sim_heap *h, uint32_t i, sim_heap_ent e)
{
    h->ent[i] = e;
    h->pos[e.id] = (int32_t)i;
}

static void heap_up(sim_heap *h, uint32_t i)
{
    sim_heap_ent e = h->ent[i];
    while (i > 0) {
        uint32_t p = (i - 1) / 2;
        if (h->ent[p].when <= e.when)
            break;
        heap_place(h, i, h->ent[p]);
        i = p;
    }
    heap_place(h, i, e);
}

static void heap_down(sim_heap *h, uint32_t i)
{
    sim_heap_ent e = h->ent[i];
    for (;;) {
        uint32_t l = 2 * i + 1, r = l + 1, m = i;
        uint64_t mw = e.when;
        if (l < h->len && h->ent[l].when < mw) {
            m = l;
            mw = h->ent[l].when;
        }
        if (r < h->len && h->ent[r].when < mw)
            m = r;
        if (m == i)
            break;
        heap_place(h, i, h->ent[m]);
        i = m;
    }
    heap_place(h, i, e);
}

void sim_heap_set(sim_heap *h, uint32_t id, uint64_t when)
{
    if (id >= h->cap)
        return;
    int32_t p = h->pos[id];
    if (p < 0) {
        uint32_t i = h->len++;
        heap_place(h, i, (sim_heap_ent){ when, id });
        heap_up(h, i);
        return;
    }
    uint64_t old = h->ent[p].when;
    h->ent[p].when = when;
    if (when < old)
        heap_up(h, (uint32_t)p);
    else
        heap_down(h, (uint32_t)p);
}

void sim_heap_remove(sim_heap *h, uint32_t id)
{
    if (id >= h->cap || h->pos[id] < 0)
        return;
    uint32_t i = (uint32_t)h->pos[id];
    h->pos[id] = -1;
    h->len--;
    if (i == h->len)
        return;
    sim_heap_ent last = h->ent[h->len];
    heap_place(h, i, last);
    heap_up(h, i);
    heap_down(h, (uint32_t)h->pos[last.id]);
}

const sim_heap_ent *sim_heap_top(const sim_heap *h)
{
    return h->len ? &h->ent[0] : NULL;
}

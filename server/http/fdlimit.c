/*
 * fdlimit.c — the open-file limit fitted to the connection cap (fdlimit.h).
 */
#include "fdlimit.h"

#include <stdio.h>
#include <sys/resource.h>

#define FDLIMIT_MIN_CONNS 64u /* below this, lowering the cap is no longer a useful server */

int fdlimit_fit(unsigned *max_conns, unsigned listeners, int lower_ok, char *msg, size_t msglen)
{
    msg[0] = 0;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return 0; /* nothing to fit against */
    if (listeners == 0)
        listeners = 1;
    rlim_t need = (rlim_t)*max_conns * listeners + FDLIMIT_MARGIN;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
        rlim_t was = rl.rlim_cur;
        rl.rlim_cur = (rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= need) ? need : rl.rlim_max;
        if (rl.rlim_cur > was && setrlimit(RLIMIT_NOFILE, &rl) < 0)
            rl.rlim_cur = was;
    }
    if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= need)
        return 0;
    unsigned long long have = (unsigned long long)rl.rlim_cur;
    unsigned long long fits = have > FDLIMIT_MARGIN ? (have - FDLIMIT_MARGIN) / listeners : 0;
    if (lower_ok && fits >= FDLIMIT_MIN_CONNS) {
        snprintf(msg, msglen,
                 "the open-file limit is %llu (hard limit, ulimit -Hn): max_connections lowered from %u to %llu "
                 "per listener (%u descriptors kept for files and the database); raise the hard limit for more",
                 have, *max_conns, fits, FDLIMIT_MARGIN);
        *max_conns = (unsigned)fits;
        return 1;
    }
    snprintf(msg, msglen,
             "max_connections %u%s needs %llu open files (%u more for files and the database) but the hard limit "
             "(ulimit -Hn) is %llu: raise it (e.g. LimitNOFILE= in the systemd unit, or ulimit -n as root) or "
             "lower --max-connections to %llu or less",
             *max_conns, listeners > 1 ? " on each of the HTTP and HTTPS listeners" : "", (unsigned long long)need,
             FDLIMIT_MARGIN, have, fits);
    return -1;
}

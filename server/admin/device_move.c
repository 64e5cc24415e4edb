/*
 * device_move.c — moving and unbinding devices (device_move.h).
 */
#include "device_move.h"

#include "log.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

int device_rebind(of_server *s, const char *id, int64_t project_id, const char *to_key, dev_state *out)
{
    dev_entry *e = devtab_lock(s->devices, id, 0);
    if (e == NULL)
        return -1;
    dev_state *d = devtab_state(e);
    int64_t from = d->project_id;
    char from_key[KEY_MAX_LEN + 1] = "";
    snapshot *snap = snap_acquire(&s->snaps);
    const snap_project *fp = from ? snap_project_by_id(snap, from) : NULL;
    if (fp)
        snprintf(from_key, sizeof from_key, "%s", fp->p->key);
    else if (from)
        snprintf(from_key, sizeof from_key, "(removed project)");
    snapshot_unref(snap);
    d->project_id = project_id;
    d->pending_package = 0; /* a delivery of the old binding is no failed upgrade of the new one */
    *out = *d;
    devtab_mark_dirty(s->devices, e);
    devtab_unlock(s->devices, e);

    store_event ev;
    memset(&ev, 0, sizeof ev);
    snprintf(ev.device_id, sizeof ev.device_id, "%s", id);
    ev.time = (int64_t)time(NULL);
    ev.decision = DECISION_ADMIN;
    if (project_id)
        snprintf(ev.note, sizeof ev.note, "operator: moved from project %.32s to project %.32s",
                 from ? from_key : "(none)", to_key);
    else
        snprintf(ev.note, sizeof ev.note, "operator: unbound from project %.32s (the next check binds it)",
                 from ? from_key : "(none)");
    log_info("admin: device %s: %s", id, ev.note + 10);
    writer_event(s->wr, &ev);
    return writer_flush(s->wr, 10000) < 0 ? -2 : 0;
}

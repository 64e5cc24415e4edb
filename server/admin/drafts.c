/*
 * drafts.c — draft packages, admin side (drafts.h).
 */
#include "drafts.h"

#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int drafts_parse_arg(const char *v, int *draft)
{
    *draft = 0;
    if (v == NULL || !strcmp(v, "0") || !strcmp(v, "false"))
        return 0;
    if (!strcmp(v, "1") || !strcmp(v, "true")) {
        *draft = 1;
        return 0;
    }
    return -1;
}



void drafts_release(of_server *s, http_req *r, const char *ids)
{
    char *end;
    long long id = strtoll(ids, &end, 10);
    if (end == ids || *end || id <= 0) {
        admin_reply_err(r, 404, "no such package", "openfota package list");
        return;
    }
    pthread_mutex_lock(&s->admin_mu);
    snapshot *snap = snap_acquire(&s->snaps);
    const cat_package *k = snap_package_by_id(snap, id);
    int was_draft = k ? k->draft : 0;
    snapshot_unref(snap);
    store_err e = k == NULL ? STORE_NOTFOUND : STORE_OK;
    if (e == STORE_OK && was_draft) {
        e = s->st->ops->package_set_draft(s->st, id, 0);
        if (e == STORE_OK && server_reload(s) < 0)
            e = STORE_ERROR;
    }
    pthread_mutex_unlock(&s->admin_mu);
    if (e == STORE_NOTFOUND) {
        admin_reply_err(r, 404, "no such package", "openfota package list");
        return;
    }
    if (e != STORE_OK) {
        char msg[160];
        snprintf(msg, sizeof msg, "release package: %s", store_strerror(e));
        admin_reply_err(r, e == STORE_BUSY ? 503 : 500, msg, e == STORE_BUSY ? "the database is busy; retry"
                                                                          : "see the server log");
        return;
    }
    if (was_draft)
        log_info("admin: package %lld released: offered to every eligible device from now on", id);
    snap = snap_acquire(&s->snaps);
    k = snap_package_by_id(snap, id);
    json_t *j = k ? package_json(snap, k) : json_pack("{s:I,s:b}", "id", (json_int_t)id, "draft", 0);
    snapshot_unref(snap);
    admin_reply_json(r, 200, j);
}

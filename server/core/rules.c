/*
 * rules.c — the upgrade decision (rules.h). Pure: no I/O, no clock, no locks.
 */
#include "rules.h"

#include <stdio.h>
#include <string.h>

static void answer(rules_result *out, int decision, int code, unsigned status, const char *msg)
{
    out->decision = decision;
    out->code = code;
    out->status = status;
    out->msg = msg;
}

int rules_eligible(const of_version *v, const cat_package *p)
{
    /* an uploaded signed delta patches exactly one image: only a device on
     * its base version can apply it (an unknown base, 0.0.0, matches none) */
    if (p->kind == PKG_KIND_SIGNED && p->sg_kind == 2)
        return (p->sg_base.core | p->sg_base.x | p->sg_base.z) != 0 && version_cmp(v, &p->sg_base) == 0 &&
               version_cmp(v, &p->ver) != 0;
    if (p->base_core < 0)
        return v->core == p->ver.core && version_script_upgrade(v->x, v->z, p->ver.x, p->ver.z);
    if ((int64_t)v->core != p->base_core || p->ver.core == v->core)
        return 0;
    return (p->ver.x == v->x && p->ver.z >= v->z) || (p->ver.x > v->x && p->ver.z >= v->z);
}

static int newer(const cat_package *a, const cat_package *b)
{
    int c = version_cmp(&a->ver, &b->ver);
    if (c != 0)
        return c > 0;
    return a->id > b->id;
}

const char rules_msg_latest[] = "already latest: no newer package for this core and script version";

void rules_decide(const rules_input *in, rules_result *out)
{
    memset(out, 0, sizeof *out);
    out->next = *in->dev;
    dev_state *n = &out->next;
    n->last_seen = in->now;

    const snap_project *p = snap_project_by_key(in->snap, in->project_key, in->project_key_len);
    if (p == NULL || in->project_key_len == 0) {
        answer(out, DECISION_REFUSED, 25, 404,
               "unknown project_key: create the project (openfota project add) or fix PRODUCT_KEY in the device script");
        goto done;
    }
    out->project = p;
    const snap_firmware *f = snap_firmware_by_name(p, in->firmware, in->firmware_len);
    if (f == NULL) {
        answer(out, DECISION_REFUSED, 26,
               404, "unknown firmware_name in this project: upload a package for it (openfota package add --firmware NAME)");
        goto done;
    }
    if (n->project_id != 0 && n->project_id != p->p->id && snap_project_by_id(in->snap, n->project_id) != NULL) {
        answer(out, DECISION_REFUSED, 17, 403,
               "device belongs to another project: check project_key, or move the device "
               "(openfota device move ID --project KEY, or openfota device unbind ID)");
        goto done;
    }
    if (p->p->listed_only && !snap_is_listed(p, n->id)) {
        answer(out, DECISION_REFUSED, 27, 404,
               "device is not on this project's list: add it (POST /admin/v1/projects/KEY/devices) or turn listed_only off");
        goto done;
    }
    if (n->project_id != p->p->id) {
        if (n->project_id == 0)
            snprintf(out->note, sizeof out->note, "bound to project %s", p->p->key);
        n->project_id = p->p->id;
    }
    if (n->suffix != 0 && n->suffix != f->fw->suffix) {
        answer(out, DECISION_REFUSED, 17, 403,
               "firmware family mismatch: this device runs another layout suffix than this firmware name; "
               "a core of another suffix would not boot");
        goto done;
    }
    n->suffix = f->fw->suffix;
    size_t fl = strlen(f->fw->name);
    memcpy(n->firmware, f->fw->name, fl + 1);

    if (n->pending_package != 0) {
        if (n->has_version && version_cmp(&in->ver, &n->pending_from) == 0)
        {
            n->failed_upgrades++;
            snprintf(out->note, sizeof out->note,
                     "failed upgrade: package %lld was sent completely but the device still runs this version",
                     (long long)n->pending_package);
        }
        n->pending_package = 0;
    }
    n->version = in->ver;
    n->has_version = 1;

    int64_t day = in->now / 86400;
    if (n->delivery_day != day) {
        n->delivery_day = day;
        n->deliveries_today = 0;
        n->acct_package = 0;
    }
    if (n->forbidden) {
        answer(out, DECISION_REFUSED, 21, 403,
               "upgrades are forbidden for this device by an operator (openfota device allow ID lifts it)");
        goto done;
    }
    if (n->banned) {
        answer(out, DECISION_REFUSED, 40, 403,
               "device banned for looping upgrades: check why the package does not apply, then openfota device unban ID");
        goto done;
    }
    if (!p->p->upgrades_enabled) {
        answer(out, DECISION_NO_UPGRADE, 27, 404, "upgrades are switched off for this project (upgrades_enabled=false)");
        goto done;
    }
    const cat_package *best = NULL;
    for (size_t i = 0; i < f->npkgs; i++) {
        const cat_package *c = f->pkgs[i];
        if (c->draft && c->id != in->rollout_package) {
            out->draft_skipped |= rules_eligible(&in->ver, c);
            continue; /* a draft reaches devices only through its rollout */
        }
        if (rules_eligible(&in->ver, c) && (best == NULL || newer(c, best)))
            best = c;
    }
    if (best == NULL) {
        answer(out, DECISION_NO_UPGRADE, 27, 404, rules_msg_latest);
        goto done;
    }
    if (!in->resume) {
        unsigned max = p->p->max_daily_deliveries ? p->p->max_daily_deliveries : in->default_max_daily;
        if (max == 0)
            max = 6;
        if (n->deliveries_today >= max) {
            n->banned = 1;
            n->banned_at = in->now;
            snprintf(out->note, sizeof out->note,
                     "banned: asked for a package again after %u deliveries today (loop guard)", n->deliveries_today);
            answer(out, DECISION_REFUSED, 40, 403,
                   "device banned for looping upgrades: check why the package does not apply, then openfota device unban ID");
            goto done;
        }
    }
    out->pkg = best;
    answer(out, DECISION_UPGRADE, 0, 200, "upgrade");
done:
    n->last_code = out->code;
}

void rules_delivered(dev_state *st, const cat_package *pkg, const of_version *from, int complete)
{
    if (!complete)
        return;
    st->pending_package = pkg->id;
    st->pending_from = *from;
}

unsigned rules_account(dev_state *st, int64_t pkg_id, uint64_t size, uint64_t bytes, int64_t now)
{
    int64_t day = now / 86400;
    if (st->delivery_day != day) {
        st->delivery_day = day;
        st->deliveries_today = 0;
        st->acct_package = 0;
    }
    if (size == 0 || bytes == 0)
        return 0;
    if (st->acct_package != pkg_id || st->acct_size != size) {
        st->acct_package = pkg_id;
        st->acct_size = size;
        st->acct_bytes = 0;
    }
    st->acct_bytes += bytes;
    unsigned done = 0;
    while (st->acct_bytes >= size) {
        st->acct_bytes -= size;
        st->deliveries_today++;
        done++;
    }
    return done;
}

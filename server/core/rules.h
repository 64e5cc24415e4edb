/*
 * rules.h — the upgrade decision, a pure function.
 *
 * Inputs: the catalog snapshot, the device's current state, what the device
 * reported (project key, firmware name, version), the time, and whether the
 * request resumes a download (a Range not starting at byte 0). Output: the
 * decision, the vendor code and HTTP status, a message for the operator, the
 * package to send, and the device's next state. No I/O, no locks, no clock:
 * the caller holds the device's lock and applies `next`.
 *
 * Order of the rules (first match answers):
 *   25 unknown project_key                       404
 *   26 unknown firmware_name in the project      404
 *   17 device bound to another project           403
 *   27 project lists its devices and not this one 404
 *   17 firmware of another layout suffix than the device's lineage 403
 *      (here the device is bound, firmware/suffix remembered, and a
 *       "failed upgrade" is recorded when it returns with the version it had
 *       when it last received a whole package)
 *   21 device forbidden by an operator           403
 *   40 device banned by the loop guard           403
 *   27 upgrades switched off for the project     404
 *   27 no eligible package (already latest)      404
 *   40 eligible, but max_daily_deliveries reached today: the device is banned 403
 *      (a delivery is a whole package's bytes received by the device that
 *       day, over any number of requests and ranges: rules_account)
 *    0 upgrade: the newest eligible package      200
 * Eligible package (same firmware): script-only needs device core == package
 * core and the script rule; core+script needs device core == base core, a
 * different target core, and a script that is the same or passes the rule.
 * An uploaded signed delta (kind signed, sg_kind 2) patches one image: it is
 * eligible only for a device on exactly its base version (sg_base).
 * Newest = highest (core, X, Z), then the most recently added.
 * A draft package (cat_package.draft) is eligible only when it is the
 * package of the staged rollout that governs the firmware (rollout_package;
 * the rollout then decides, per device, whether it may have it now).
 */
#ifndef OPENFOTA_SERVER_RULES_H
#define OPENFOTA_SERVER_RULES_H

#include "snapshot.h"

typedef struct rules_input {
    const snapshot *snap;
    const dev_state *dev; /* never NULL; a new device is all zero but its id */
    const char *project_key;
    size_t project_key_len;
    const char *firmware;
    size_t firmware_len;
    of_version ver;
    int64_t now;          /* Unix seconds */
    int resume;           /* 1: the request fetches no package bytes (HEAD): the loop guard
                             neither bans it nor counts it */
    unsigned default_max_daily; /* used when a project says 0 */
    int64_t rollout_package;    /* package id a rollout of this firmware offers (draft or not), 0 none */
} rules_input;

typedef struct rules_result {
    int decision;            /* DECISION_* */
    int code;                /* vendor code, 0 for an upgrade */
    unsigned status;         /* HTTP status */
    const char *msg;         /* static text for the operator */
    const cat_package *pkg;  /* set for an upgrade; points into the snapshot */
    const snap_project *project; /* when known */
    dev_state next;
    char note[NOTE_MAX];     /* extra history note ("failed upgrade ...") or "" */
    int draft_skipped;       /* an eligible draft was left out: the caller may ask the fleet for the
                              * governing rollout's package and decide again with rollout_package */
} rules_result;

void rules_decide(const rules_input *in, rules_result *out);

/* The message of the common "already latest" answer (res.msg points to it),
 * so callers can answer it with a prebuilt response. */
extern const char rules_msg_latest[];

/* Is pkg an eligible target for a device running v? */
int rules_eligible(const of_version *v, const cat_package *pkg);

/* After a package was sent: remember it when the whole body went out, so the
 * next check can tell a failed upgrade (same version again). */
void rules_delivered(dev_state *st, const cat_package *pkg, const of_version *from, int complete);

/* Loop guard byte accounting: bytes of package pkg_id (served as size
 * bytes: the full package or a delta made for it) reached the device at
 * time now. Bytes of one package add up over the UTC day, whatever ranges
 * the requests asked for; each time they reach size, deliveries_today goes
 * up by one. Returns how many deliveries these bytes completed (0, 1, ...). */
unsigned rules_account(dev_state *st, int64_t pkg_id, uint64_t size, uint64_t bytes, int64_t now);

#endif

/*
 * device_move.h — the way out of a wrong project binding (code 17): move a
 * device to another project, or unbind it so that its next check binds it
 * to the project it asks for. Used by the admin API
 * (POST /admin/v1/devices/{id}/move and /unbind, docs/api.md).
 */
#ifndef OPENFOTA_SERVER_DEVICE_MOVE_H
#define OPENFOTA_SERVER_DEVICE_MOVE_H

#include "server.h"

/* Binds device id (canonical) to project_id, or unbinds it when project_id
 * is 0, and records it in the device's history ("operator: moved from
 * project A to project B" / "operator: unbound from project A"). A delivery
 * pending from the old binding is forgotten (the next check is not counted as
 * a failed upgrade of the old project's package). from_key/to_key name the
 * projects for the note (borrowed, may be ""). *out gets the device's new
 * state. Returns 0; -1 when the device is unknown; -2 when the change is in
 * memory but could not be saved yet. */
int device_rebind(of_server *s, const char *id, int64_t project_id, const char *to_key, dev_state *out);

#endif

/*
 * drafts.h — draft packages on the admin side (docs/api.md, "Draft
 * packages"): the upload's ?draft= argument and the release route
 * POST /admin/v1/packages/{id}/release. The decision side is in rules.c
 * (a draft is eligible only through the rollout that offers it).
 */
#ifndef OPENFOTA_SERVER_DRAFTS_H
#define OPENFOTA_SERVER_DRAFTS_H

#include <jansson.h>

#include "server.h"

/* Parses an upload's draft argument (NULL = absent = 0): "1"/"true" → 1,
 * "0"/"false" → 0. 0 ok, -1 for anything else. */
int drafts_parse_arg(const char *v, int *draft);

/* POST /admin/v1/packages/{id}/release: the draft becomes an ordinary
 * package (offered by the rules to every eligible device). Answers the
 * package JSON; 404 unknown id; releasing a released package is a no-op
 * (200). Takes admin_mu itself. */
void drafts_release(of_server *s, http_req *r, const char *id);

/* admin.c: a package as the API shows it (new reference). */
json_t *package_json(const snapshot *snap, const cat_package *k);

#endif

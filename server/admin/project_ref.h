/*
 * project_ref.h — projects named by key or by name. Wherever the admin API
 * (and so the CLI) takes a project key, a project's name works too when
 * exactly one project has it; names are unique for projects made or renamed
 * from now on (databases from before may hold duplicates: such a name is
 * ambiguous and must be given as a key).
 */
#ifndef OPENFOTA_SERVER_PROJECT_REF_H
#define OPENFOTA_SERVER_PROJECT_REF_H

#include "snapshot.h"

#include <stddef.h>

enum { PROJECT_REF_NONE = 0, PROJECT_REF_KEY = 1, PROJECT_REF_NAME = 2, PROJECT_REF_AMBIGUOUS = -1 };

/* What ref (NUL-terminated, borrowed) names in snap: a key (PROJECT_REF_KEY),
 * else the one project with that name (PROJECT_REF_NAME); both write the
 * project's key into key[cap]. PROJECT_REF_NONE when nothing matches,
 * PROJECT_REF_AMBIGUOUS when several projects share the name (key untouched). */
int project_ref(const snapshot *snap, const char *ref, char *key, size_t cap);

/* 1 when a project other than except_id (0: none) already has name. */
int project_name_taken(const snapshot *snap, const char *name, int64_t except_id);

#endif

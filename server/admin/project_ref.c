/*
 * project_ref.c — projects by key or by name (project_ref.h).
 */
#include "project_ref.h"

#include <stdio.h>
#include <string.h>

int project_ref(const snapshot *snap, const char *ref, char *key, size_t cap)
{
    if (ref == NULL || ref[0] == 0)
        return PROJECT_REF_NONE;
    const snap_project *sp = snap_project_by_key(snap, ref, strlen(ref));
    if (sp != NULL) {
        snprintf(key, cap, "%s", sp->p->key);
        return PROJECT_REF_KEY;
    }
    const snap_project *hit = NULL;
    for (size_t i = 0; i < snap->nprojects; i++) {
        if (strcmp(snap->projects[i].p->name, ref) != 0)
            continue;
        if (hit != NULL)
            return PROJECT_REF_AMBIGUOUS;
        hit = &snap->projects[i];
    }
    if (hit == NULL)
        return PROJECT_REF_NONE;
    snprintf(key, cap, "%s", hit->p->key);
    return PROJECT_REF_NAME;
}

int project_name_taken(const snapshot *snap, const char *name, int64_t except_id)
{
    for (size_t i = 0; i < snap->nprojects; i++)
        if (snap->projects[i].p->id != except_id && strcmp(snap->projects[i].p->name, name) == 0)
            return 1;
    return 0;
}

/*
 * catalog.c — helpers for the shared row types (catalog.h).
 */
#include "catalog.h"

#include <stdlib.h>

void catalog_free(catalog *c)
{
    if (c == NULL)
        return;
    free(c->projects);
    free(c->firmware);
    free(c->packages);
    free(c->files);
    free(c->listed);
    c->projects = NULL;
    c->firmware = NULL;
    c->packages = NULL;
    c->files = NULL;
    c->listed = NULL;
    c->nprojects = c->nfirmware = c->npackages = c->nfiles = c->nlisted = 0;
}

const char *decision_name(int d)
{
    switch (d) {
    case DECISION_UPGRADE: return "upgrade";
    case DECISION_NO_UPGRADE: return "no_upgrade";
    case DECISION_REFUSED: return "refused";
    case DECISION_ADMIN: return "admin";
    case DECISION_REPORT: return "report";
    }
    return "unknown";
}

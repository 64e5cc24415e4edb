/*
 * console_assets.h — the console's files (assets/), built into the program:
 * embed_assets.c turns them into a C table at build time
 * (console_assets.c in the build folder). Read-only, static storage.
 */
#ifndef OPENFOTA_SERVER_CONSOLE_ASSETS_H
#define OPENFOTA_SERVER_CONSOLE_ASSETS_H

#include <stddef.h>

typedef struct console_asset {
    const char *path;  /* relative to assets/, e.g. "app.js", "i18n/en.json" */
    const char *ctype; /* Content-Type */
    const char *etag;  /* quoted strong ETag of the content */
    const unsigned char *data;
    size_t len;
} console_asset;

extern const console_asset console_assets[];
extern const size_t console_nassets;

#endif

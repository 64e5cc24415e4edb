/*
 * admin_lookup.c — where the admin client finds the server and its token
 * (see admin_client.h).
 *
 * Order, first found wins, separately for the URL and the token:
 *   1. --url URL / --token TOKEN
 *   2. OPENFOTA_URL / OPENFOTA_TOKEN
 *   3. the data folder of a local server (--data DIR, default ./var):
 *      (an explicit --data is a flag too, so it is used before the environment)
 *      DIR/serve.json {"url": "..."} written by `openfota serve`, and
 *      DIR/admin.token.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_client.h"

#define ADMIN_TOKEN_MAX 4096

static char *strip_dup(const char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
        n--;
    char *d = malloc(n + 1);
    if (!d)
        return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

/* Reads DIR/admin.token; returns a malloc'd token or NULL (errno set). */
static char *read_token_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char buf[ADMIN_TOKEN_MAX + 1];
    size_t n = fread(buf, 1, ADMIN_TOKEN_MAX, f);
    fclose(f);
    buf[n] = '\0';
    char *t = strip_dup(buf);
    if (t && !*t) {
        free(t);
        errno = ENODATA;
        return NULL;
    }
    return t;
}

/* Reads the "url" of DIR/serve.json; returns malloc'd or NULL. */
static char *read_serve_url(const char *path)
{
    json_error_t err;
    json_t *j = json_load_file(path, 0, &err);
    if (!j)
        return NULL;
    char *url = NULL;
    const char *s = json_string_value(json_object_get(j, "url"));
    if (s && *s)
        url = strip_dup(s);
    json_decref(j);
    return url;
}

int admin_ctx_connect(struct admin_ctx *ctx)
{
    const char *url = ctx->opt_url;
    const char *token = ctx->opt_token;
    const char *data = ctx->opt_data;
    bool data_given = data != NULL;
    if (!data)
        data = "./var";

    char path[4096];
    if (url) {
        ctx->url = strip_dup(url);
        ctx->url_from = "--url";
    } else if (getenv("OPENFOTA_URL") && *getenv("OPENFOTA_URL") && !data_given) {
        ctx->url = strip_dup(getenv("OPENFOTA_URL"));
        ctx->url_from = "OPENFOTA_URL";
    } else {
        snprintf(path, sizeof path, "%s/serve.json", data);
        ctx->url = read_serve_url(path);
        ctx->url_from = "serve.json";
        if (!ctx->url) {
            fprintf(stderr,
                    "openfota: no server URL: found no \"url\" in %s (is a server running with "
                    "--data %s?).\n"
                    "  Start it with 'make run' (or 'openfota serve --data %s'), or pass "
                    "--url http://HOST:PORT, or set OPENFOTA_URL.\n",
                    path, data, data);
            admin_ctx_free(ctx);
            return -1;
        }
    }
    if (!ctx->url)
        goto oom;
    size_t n = strlen(ctx->url);
    while (n > 0 && ctx->url[n - 1] == '/')
        ctx->url[--n] = '\0';
    if (strncmp(ctx->url, "http://", 7) && strncmp(ctx->url, "https://", 8)) {
        fprintf(stderr,
                "openfota: the server URL '%s' (from %s) must start with http:// or https://, "
                "e.g. http://127.0.0.1:8080\n",
                ctx->url, ctx->url_from);
        admin_ctx_free(ctx);
        return -1;
    }

    if (token) {
        ctx->token = strip_dup(token);
        ctx->token_from = "--token";
    } else if (getenv("OPENFOTA_TOKEN") && *getenv("OPENFOTA_TOKEN") && !data_given) {
        ctx->token = strip_dup(getenv("OPENFOTA_TOKEN"));
        ctx->token_from = "OPENFOTA_TOKEN";
    } else {
        ctx->token_from = data_given ? "--data DIR/admin.token" : "./var/admin.token";
        snprintf(path, sizeof path, "%s/admin.token", data);
        ctx->token = read_token_file(path);
        if (!ctx->token) {
            fprintf(stderr,
                    "openfota: no admin token: cannot read %s (%s).\n"
                    "  The server writes it on its first start; pass --data DIR of the running "
                    "server, --token TOKEN, or set OPENFOTA_TOKEN.\n",
                    path, strerror(errno));
            admin_ctx_free(ctx);
            return -1;
        }
    }
    if (!ctx->token)
        goto oom;
    for (const char *p = ctx->token; *p; p++) {
        if ((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e) {
            fprintf(stderr, "openfota: the admin token contains a space or control character; "
                            "copy it again from the server's admin.token\n");
            admin_ctx_free(ctx);
            return -1;
        }
    }
    return 0;
oom:
    fprintf(stderr, "openfota: out of memory\n");
    admin_ctx_free(ctx);
    return -1;
}

void admin_ctx_free(struct admin_ctx *ctx)
{
    free(ctx->url);
    free(ctx->token);
    ctx->url = NULL;
    ctx->token = NULL;
}

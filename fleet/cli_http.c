/*
 * cli_http.c — admin client for the fleet commands (see cli_http.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "cli_http.h"

static char *read_small_file(const char *path, size_t max)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    char *buf = malloc(max + 1);
    size_t n = buf ? fread(buf, 1, max, fp) : 0;
    fclose(fp);
    if (!buf)
        return NULL;
    buf[n] = '\0';
    return buf;
}

static char *trim_dup(const char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == '/'))
        n--;
    return strndup(s, n);
}

int fleet_cli_take_common(int *argc, char **argv, const char **url, const char **token, const char **data,
                          int *json)
{
    static const char *names[] = {"--url", "--token", "--data"};
    const char **dst[] = {url, token, data};
    int o = 0;
    for (int i = 0; i < *argc; i++) {
        int taken = 0;
        for (int k = 0; k < 3 && !taken; k++) {
            size_t nl = strlen(names[k]);
            if (!strcmp(argv[i], names[k])) {
                if (i + 1 >= *argc) {
                    fprintf(stderr, "openfota: %s needs a value\n", names[k]);
                    return -1;
                }
                *dst[k] = argv[++i];
                taken = 1;
            } else if (!strncmp(argv[i], names[k], nl) && argv[i][nl] == '=') {
                *dst[k] = argv[i] + nl + 1;
                taken = 1;
            }
        }
        if (!taken && !strcmp(argv[i], "--json")) {
            *json = 1;
            taken = 1;
        }
        if (!taken)
            argv[o++] = argv[i];
    }
    *argc = o;
    return 0;
}

int fleet_cli_connect(struct fleet_cli *c, const char *url, const char *token, const char *data)
{
    memset(c, 0, sizeof *c);
    int data_given = data != NULL;
    if (!data)
        data = "./var";
    char path[4096];
    if (url) {
        c->url = trim_dup(url);
    } else if (getenv("OPENFOTA_URL") && *getenv("OPENFOTA_URL") && !data_given) {
        c->url = trim_dup(getenv("OPENFOTA_URL"));
    } else {
        snprintf(path, sizeof path, "%s/serve.json", data);
        char *txt = read_small_file(path, 65536);
        json_t *j = txt ? json_loads(txt, 0, NULL) : NULL;
        const char *u = json_string_value(json_object_get(j, "url"));
        if (u)
            c->url = trim_dup(u);
        json_decref(j);
        free(txt);
        if (!c->url) {
            fprintf(stderr,
                    "openfota: no server URL: found no \"url\" in %s (is a server running with --data %s?).\n"
                    "  Start it with 'openfota serve --data %s', or pass --url http://HOST:PORT, or set "
                    "OPENFOTA_URL.\n",
                    path, data, data);
            return -1;
        }
    }
    if (token) {
        c->token = trim_dup(token);
    } else if (getenv("OPENFOTA_TOKEN") && *getenv("OPENFOTA_TOKEN") && !data_given) {
        c->token = trim_dup(getenv("OPENFOTA_TOKEN"));
    } else {
        snprintf(path, sizeof path, "%s/admin.token", data);
        char *txt = read_small_file(path, 4096);
        if (txt)
            c->token = trim_dup(txt);
        free(txt);
        if (!c->token || !*c->token) {
            fprintf(stderr,
                    "openfota: no admin token: cannot read %s.\n"
                    "  Pass --token TOKEN, set OPENFOTA_TOKEN, or point --data at the server's data folder.\n",
                    path);
            fleet_cli_free(c);
            return -1;
        }
    }
    if (!c->url || !c->token) {
        fleet_cli_free(c);
        fprintf(stderr, "openfota: out of memory\n");
        return -1;
    }
    return 0;
}

void fleet_cli_free(struct fleet_cli *c)
{
    free(c->url);
    free(c->token);
    c->url = c->token = NULL;
}

struct buf {
    char *p;
    size_t n;
    int over;
};

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *arg)
{
    struct buf *b = arg;
    size_t len = size * nmemb;
    if (b->n + len > FLEET_CLI_MAX_RESPONSE) {
        b->over = 1;
        return 0;
    }
    char *np = realloc(b->p, b->n + len + 1);
    if (!np)
        return 0;
    memcpy(np + b->n, ptr, len);
    b->p = np;
    b->n += len;
    b->p[b->n] = '\0';
    return len;
}

int fleet_cli_request(const struct fleet_cli *c, const char *method, const char *path, json_t *body,
                      json_t **out)
{
    *out = NULL;
    CURL *h = curl_easy_init();
    if (!h) {
        fprintf(stderr, "openfota: cannot start the HTTP client\n");
        return -1;
    }
    char *url = NULL, *auth = NULL, *payload = NULL;
    struct buf b = {0};
    struct curl_slist *hd = NULL;
    int rc = -1;
    if (asprintf(&url, "%s%s", c->url, path) < 0 || asprintf(&auth, "Authorization: Bearer %s", c->token) < 0) {
        url = auth = NULL;
        goto out;
    }
    hd = curl_slist_append(hd, auth);
    hd = curl_slist_append(hd, "Accept: application/json");
    if (body) {
        payload = json_dumps(body, JSON_COMPACT);
        hd = curl_slist_append(hd, "Content-Type: application/json");
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, payload ? payload : "{}");
    } else if (!strcmp(method, "POST") || !strcmp(method, "PUT")) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 120L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    CURLcode cc = curl_easy_perform(h);
    if (cc != CURLE_OK) {
        if (b.over)
            fprintf(stderr, "openfota: the server's answer is larger than %u bytes\n", FLEET_CLI_MAX_RESPONSE);
        else
            fprintf(stderr, "openfota: cannot reach the server at %s: %s\n  Is 'openfota serve' running? "
                    "Check --url / OPENFOTA_URL / --data.\n", c->url, curl_easy_strerror(cc));
        goto out;
    }
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    json_t *j = b.n ? json_loadb(b.p, b.n, 0, NULL) : NULL;
    if (status >= 200 && status < 300) {
        if (b.n && !j) {
            fprintf(stderr, "openfota: the server answered %ld with a body that is not JSON\n", status);
            goto out;
        }
        *out = j;
        rc = 0;
        goto out;
    }
    const char *err = json_string_value(json_object_get(j, "error"));
    const char *hint = json_string_value(json_object_get(j, "hint"));
    if (status == 404 && !err)
        fprintf(stderr, "openfota: the server does not know %s %s (404): is it a version with push and "
                "rollouts?\n", method, path);
    else
        fprintf(stderr, "openfota: server answered %ld: %s\n", status, err ? err : "(no message)");
    if (hint && *hint)
        fprintf(stderr, "  %s\n", hint);
    json_decref(j);
out:
    curl_slist_free_all(hd);
    curl_easy_cleanup(h);
    free(url);
    free(auth);
    free(payload);
    free(b.p);
    return rc;
}

/*
 * admin_client.c — the admin API over HTTP (libcurl) with JSON (jansson);
 * see admin_client.h.
 *
 * Every answer is read into a buffer bounded by ADMIN_MAX_RESPONSE; uploads
 * are streamed from the file with a read callback, so a package of any size
 * never sits whole in memory. Failures are printed here, once, for a person:
 * what went wrong and what to do about it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <curl/curl.h>

#include "admin_client.h"

struct resp_buf {
    char *data;
    size_t len;
    size_t cap;
    bool too_big;
};

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct resp_buf *b = userdata;
    size_t n = size * nmemb;
    if (b->len + n > ADMIN_MAX_RESPONSE) {
        b->too_big = true;
        return 0; /* aborts the transfer */
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        if (cap > ADMIN_MAX_RESPONSE + 1)
            cap = ADMIN_MAX_RESPONSE + 1; /* still >= len + n + 1, checked above */
        char *d = realloc(b->data, cap);
        if (!d)
            return 0;
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, ptr, n);
    b->len += n;
    b->data[b->len] = '\0';
    return n;
}

static size_t on_read(char *buffer, size_t size, size_t nitems, void *userdata)
{
    FILE *f = userdata;
    size_t n = fread(buffer, 1, size * nitems, f);
    if (n == 0 && ferror(f))
        return CURL_READFUNC_ABORT;
    return n;
}

static int curl_ready(void)
{
    static bool done;
    if (!done) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            fprintf(stderr, "openfota: cannot initialise the HTTP client library\n");
            return -1;
        }
        done = true;
    }
    return 0;
}

char *admin_escape(const char *s)
{
    if (curl_ready())
        return NULL;
    char *e = curl_easy_escape(NULL, s, 0);
    if (!e)
        return NULL;
    char *d = strdup(e);
    curl_free(e);
    return d;
}

/* Prints the server's refusal: {"error","hint"} when it gave them. */
static void print_refusal(const struct admin_ctx *ctx, const char *method, const char *path,
                          long status, const struct resp_buf *b)
{
    json_t *j = NULL;
    if (b->data && b->len) {
        json_error_t err;
        j = json_loadb(b->data, b->len, 0, &err);
    }
    const char *error = json_string_value(json_object_get(j, "error"));
    const char *hint = json_string_value(json_object_get(j, "hint"));
    if (error) {
        fprintf(stderr, "openfota: the server refused (%ld): %s\n", status, error);
        if (hint && *hint)
            fprintf(stderr, "  %s\n", hint);
        if (status == 401)
            fprintf(stderr, "  (this command took its token from %s; use the one in the server's "
                            "DIR/admin.token: --data DIR, --token TOKEN or OPENFOTA_TOKEN)\n",
                    ctx->token_from ? ctx->token_from : "?");
    } else if (status == 401 || status == 403) {
        fprintf(stderr,
                "openfota: the server refused the admin token (%ld).\n"
                "  Use the token from the server's data folder (DIR/admin.token): --data DIR, "
                "--token, or OPENFOTA_TOKEN.\n",
                status);
    } else if (status == 404) {
        fprintf(stderr, "openfota: %s %s: not found (404) at %s\n", method, path, ctx->url);
    } else if (status == 413) {
        fprintf(stderr, "openfota: the server refused the upload: the file is over its size "
                        "cap (413). Raise the cap in the server's settings or send a smaller file.\n");
    } else {
        fprintf(stderr, "openfota: %s %s: the server answered %ld", method, path, status);
        if (b->data && b->len) {
            /* Show a short, printable excerpt of what it said. */
            fprintf(stderr, ": ");
            for (size_t i = 0; i < b->len && i < 200; i++) {
                unsigned char c = (unsigned char)b->data[i];
                fputc(c >= 0x20 && c < 0x7f ? c : ' ', stderr);
            }
        }
        fputc('\n', stderr);
    }
    json_decref(j);
}

static void print_transport_error(const struct admin_ctx *ctx, CURLcode rc, const char *errbuf,
                                  const struct resp_buf *b)
{
    switch (rc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        fprintf(stderr,
                "openfota: cannot reach the server at %s (%s): start it with `make run` "
                "(or `openfota serve`) or set OPENFOTA_URL / --url to where it runs\n",
                ctx->url, *errbuf ? errbuf : curl_easy_strerror(rc));
        break;
    case CURLE_OPERATION_TIMEDOUT:
        fprintf(stderr,
                "openfota: the server at %s did not answer in time (%s); check that it is "
                "running and not overloaded\n",
                ctx->url, *errbuf ? errbuf : curl_easy_strerror(rc));
        break;
    case CURLE_WRITE_ERROR:
        if (b->too_big) {
            fprintf(stderr,
                    "openfota: the server's answer is larger than %u bytes; use filters "
                    "(--project, --firmware) to ask for less\n",
                    ADMIN_MAX_RESPONSE);
            break;
        }
        /* fall through */
    default:
        fprintf(stderr, "openfota: talking to the server at %s failed: %s\n", ctx->url,
                *errbuf ? errbuf : curl_easy_strerror(rc));
    }
}

/* Shared request path. upload: NULL for JSON/no body, else a file. */
static int do_request(const struct admin_ctx *ctx, const char *method, const char *path,
                      json_t *body, FILE *upload, curl_off_t upload_size, json_t **out,
                      long *status_out)
{
    int ret = -1;
    char *url = NULL, *auth = NULL, *json_body = NULL;
    struct curl_slist *hdrs = NULL;
    struct resp_buf b = {0};
    char errbuf[CURL_ERROR_SIZE] = "";
    long status = 0;
    if (out)
        *out = NULL;
    if (status_out)
        *status_out = 0;
    if (curl_ready())
        return -1;
    CURL *c = curl_easy_init();
    if (!c)
        goto oom;
    if (asprintf(&url, "%s%s", ctx->url, path) < 0) {
        url = NULL;
        goto oom;
    }
    if (asprintf(&auth, "Authorization: Bearer %s", ctx->token) < 0) {
        auth = NULL;
        goto oom;
    }
    hdrs = curl_slist_append(hdrs, auth);
    hdrs = curl_slist_append(hdrs, "Accept: application/json");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");

    if (upload) {
        hdrs = curl_slist_append(hdrs, "Content-Type: application/octet-stream");
        curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(c, CURLOPT_READDATA, upload);
        if (!strcmp(method, "PUT")) {
            curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
            curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, upload_size);
        } else {
            curl_easy_setopt(c, CURLOPT_POST, 1L);
            curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, upload_size);
            if (strcmp(method, "POST"))
                curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
        }
        /* A large upload may take long; give up only when it stalls. */
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
    } else {
        curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
        if (body) {
            json_body = json_dumps(body, JSON_COMPACT);
            if (!json_body)
                goto oom;
            hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
            curl_easy_setopt(c, CURLOPT_POSTFIELDS, json_body);
            curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(json_body));
            if (strcmp(method, "POST"))
                curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
        } else if (!strcmp(method, "POST")) {
            curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
            curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
        } else if (strcmp(method, "GET")) {
            curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
        }
    }
    if (!hdrs)
        goto oom;
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);

    CURLcode rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (status_out)
        *status_out = status;
    /* A server may refuse an upload (413, 422) before reading all of it and
     * close the connection: the answer counts even when sending failed. */
    if (rc != CURLE_OK && !(status >= 400 && (rc == CURLE_SEND_ERROR || rc == CURLE_RECV_ERROR))) {
        print_transport_error(ctx, rc, errbuf, &b);
        goto out;
    }
    if (status < 200 || status > 299) {
        print_refusal(ctx, method, path, status, &b);
        goto out;
    }
    if (out && b.len > 0) {
        json_error_t jerr;
        *out = json_loadb(b.data, b.len, 0, &jerr);
        if (!*out) {
            fprintf(stderr,
                    "openfota: the server at %s answered with something that is not JSON "
                    "(%s); is --url pointing at an openfota server?\n",
                    ctx->url, jerr.text);
            goto out;
        }
    }
    ret = 0;
    goto out;
oom:
    fprintf(stderr, "openfota: out of memory\n");
out:
    curl_slist_free_all(hdrs);
    if (c)
        curl_easy_cleanup(c);
    free(url);
    free(auth);
    free(json_body);
    free(b.data);
    return ret;
}

int admin_request(const struct admin_ctx *ctx, const char *method, const char *path,
                  json_t *body, json_t **out, long *status)
{
    return do_request(ctx, method, path, body, NULL, 0, out, status);
}

int admin_upload(const struct admin_ctx *ctx, const char *method, const char *path,
                 const char *file_path, json_t **out, long *status)
{
    FILE *f = fopen(file_path, "rb");
    if (!f) {
        fprintf(stderr, "openfota: cannot open %s: %s\n", file_path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fprintf(stderr, "openfota: %s is not a regular file; give the path of the file to upload\n",
                file_path);
        fclose(f);
        return -1;
    }
    int r = do_request(ctx, method, path, NULL, f, (curl_off_t)st.st_size, out, status);
    fclose(f);
    return r;
}

/*
 * sim_http.c — reading what a server answers to a check.
 *
 * The loop accumulates the response head (bounded by --max-header) and hands
 * the complete head to sim_http_parse_head(); the body is streamed by the
 * loop and never goes through here. Only the headers the simulated devices
 * act on are kept: Content-Length, Transfer-Encoding, Content-Range, ETag,
 * X-Openfota-Version and Retry-After. sim_http_classify() maps an exchange to
 * the libfota2 result code of the protocol's table.
 */
#include "sim_internal.h"

#include <jansson.h>
#include <string.h>
#include <strings.h>

size_t sim_http_head_end(const char *buf, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (buf[i] != '\n')
            continue;
        if (i + 1 < len && buf[i + 1] == '\n')
            return i + 2;
        if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n')
            return i + 3;
    }
    return 0;
}

/* Parses a decimal of at most 18 digits; -1 when not a number. */
static int64_t parse_dec(const char *s, size_t n)
{
    if (n == 0 || n > 18)
        return -1;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

static void trim(const char **s, size_t *n)
{
    while (*n && (**s == ' ' || **s == '\t')) {
        (*s)++;
        (*n)--;
    }
    while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t' || (*s)[*n - 1] == '\r'))
        (*n)--;
}

static int name_is(const char *name, size_t n, const char *want)
{
    return strlen(want) == n && strncasecmp(name, want, n) == 0;
}

/* "bytes S-E/T" or "bytes S-E/ *" */
static void parse_content_range(const char *v, size_t n, sim_http_head *out)
{
    if (n < 6 || strncasecmp(v, "bytes ", 6) != 0)
        return;
    v += 6;
    n -= 6;
    const char *dash = memchr(v, '-', n);
    const char *slash = memchr(v, '/', n);
    if (!dash || !slash || slash < dash)
        return;
    int64_t s = parse_dec(v, (size_t)(dash - v));
    int64_t e = parse_dec(dash + 1, (size_t)(slash - dash - 1));
    if (s < 0 || e < s)
        return;
    size_t tn = n - (size_t)(slash + 1 - v);
    out->range_start = s;
    out->range_total = (tn == 1 && slash[1] == '*') ? -1 : parse_dec(slash + 1, tn);
}

sim_http_rc sim_http_parse_head(const char *buf, size_t len, sim_http_head *out)
{
    memset(out, 0, sizeof(*out));
    out->content_length = -1;
    out->range_start = -1;
    out->range_total = -1;
    out->retry_after = -1;
    if (memchr(buf, '\0', len))
        return SIM_HTTP_BAD_HEADER;

    const char *eol = memchr(buf, '\n', len);
    if (!eol)
        return SIM_HTTP_BAD_STATUS;
    size_t ln = (size_t)(eol - buf);
    /* "HTTP/1.x NNN" then end of line or a space */
    if (ln < 12 || memcmp(buf, "HTTP/1.", 7) != 0 || buf[7] < '0' || buf[7] > '9' || buf[8] != ' ')
        return SIM_HTTP_BAD_STATUS;
    int64_t st = parse_dec(buf + 9, 3);
    if (st < 100 || st > 599 || (ln > 12 && buf[12] != ' ' && buf[12] != '\r'))
        return SIM_HTTP_BAD_STATUS;
    out->status = (int)st;

    const char *p = eol + 1;
    const char *end = buf + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        const char *line = p;
        p = nl ? nl + 1 : end;
        if (n && line[n - 1] == '\r')
            n--;
        if (n == 0)
            break; /* blank line: end of head */
        const char *colon = memchr(line, ':', n);
        if (!colon || colon == line)
            return SIM_HTTP_BAD_HEADER;
        size_t nn = (size_t)(colon - line);
        const char *v = colon + 1;
        size_t vn = n - nn - 1;
        trim(&v, &vn);
        if (name_is(line, nn, "Content-Length")) {
            int64_t cl = parse_dec(v, vn);
            if (cl < 0 || (out->content_length >= 0 && out->content_length != cl))
                return SIM_HTTP_BAD_LENGTH;
            out->content_length = cl;
        } else if (name_is(line, nn, "Transfer-Encoding")) {
            if (vn >= 7 && strncasecmp(v + vn - 7, "chunked", 7) == 0)
                out->chunked = 1;
        } else if (name_is(line, nn, "Content-Range")) {
            parse_content_range(v, vn, out);
        } else if (name_is(line, nn, "ETag")) {
            if (vn < sizeof(out->etag)) {
                memcpy(out->etag, v, vn);
                out->etag[vn] = '\0';
            }
        } else if (name_is(line, nn, "X-Openfota-Version")) {
            if (vn < sizeof(out->version)) {
                memcpy(out->version, v, vn);
                out->version[vn] = '\0';
            }
        } else if (name_is(line, nn, "Retry-After")) {
            int64_t ra = parse_dec(v, vn);
            out->retry_after = (ra >= 0 && ra < 86400) ? (int)ra : -1;
        }
    }
    return SIM_HTTP_OK;
}

int sim_http_json_code(const char *body, size_t len)
{
    if (!body || len == 0)
        return -1;
    json_error_t e;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &e);
    if (!root)
        return -1;
    int code = -1;
    json_t *c = json_is_object(root) ? json_object_get(root, "code") : NULL;
    if (json_is_integer(c)) {
        json_int_t v = json_integer_value(c);
        if (v >= 0 && v <= 1000000)
            code = (int)v;
    }
    json_decref(root);
    return code;
}

int sim_http_classify(const sim_exchange *x)
{
    if (x->refused)
        return 1;
    if (x->timed_out)
        return 4;
    if (!x->head_done)
        return x->head_bad ? 4 : 3;
    if (x->status == 200 || x->status == 206) {
        if (x->body_bytes > 0 && x->body_complete)
            return 0;
        return 4; /* empty (Content-Length: 0) or cut inside the body */
    }
    return 4; /* 3xx (never followed), 4xx, 5xx, 1xx, other 2xx */
}

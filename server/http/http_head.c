/*
 * http_head.c — checks and splits one request head (see http_head.h).
 *
 * Two passes over bytes we already hold in full:
 *   1. our own checks, byte by byte and line by line: what must never reach
 *      a handler (NUL, bare CR or LF, obs-fold, a name that is not a token,
 *      two Content-Length, Content-Length with Transfer-Encoding, a coding
 *      other than chunked, an Expect we cannot meet, too many lines);
 *   2. http-parser for the grammar: method, target, version, the
 *      Content-Length number, keep-alive.
 * Then the NUL terminators are written, so names, values and the target
 * are C strings inside the caller's buffer.
 */
#include "http_head.h"

#include <http_parser.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

size_t http_head_length(const char *buf, size_t len)
{
    const char *p = buf, *end = buf + len;
    while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
        p++;
        if (p < end && *p == '\n')
            return (size_t)(p + 1 - buf); /* bare LF blank line: complete, refused by the parse */
        if (p + 1 < end && p[0] == '\r' && p[1] == '\n')
            return (size_t)(p + 2 - buf);
    }
    return 0;
}

static int is_tchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

typedef struct span {
    size_t off, len;
} span;

typedef struct parse_ctx {
    const char *base;
    span url;
    int url_seen;
    int headers_done;
} parse_ctx;

static int on_url(http_parser *p, const char *at, size_t len)
{
    parse_ctx *c = p->data;
    size_t off = (size_t)(at - c->base);
    if (!c->url_seen) {
        c->url.off = off;
        c->url.len = len;
        c->url_seen = 1;
    } else if (c->url.off + c->url.len == off) {
        c->url.len += len; /* one target handed over in pieces */
    } else {
        return 1;
    }
    return 0;
}

static int on_headers_complete(http_parser *p)
{
    ((parse_ctx *)p->data)->headers_done = 1;
    return 0;
}

static int on_message_complete(http_parser *p)
{
    /* stop at the end of this head: the body (if any) is not ours to parse here */
    http_parser_pause(p, 1);
    return 0;
}

static unsigned fail(const char **why, unsigned status, const char *msg)
{
    *why = msg;
    return status;
}

static int value_is(const char *v, size_t n, const char *want)
{
    return strlen(want) == n && strncasecmp(v, want, n) == 0;
}

/* absolute-form (RFC 9112 3.2.2, "GET http://host/path HTTP/1.1"): the
 * target becomes its path and query; the authority is not used (the Host
 * header names the server). "http://host" and "http://host?q" get the path
 * "/" by writing '/' over the authority's last byte. -1 without a host. */
static int absolute_to_origin(http_head *h)
{
    char *t = h->target;
    size_t skip;
    if (h->target_len >= 7 && strncasecmp(t, "http://", 7) == 0)
        skip = 7;
    else if (h->target_len >= 8 && strncasecmp(t, "https://", 8) == 0)
        skip = 8;
    else
        return 0;
    char *a = t + skip, *end = t + h->target_len, *p = a;
    while (p < end && *p != '/' && *p != '?' && *p != '#')
        p++;
    if (p == a)
        return -1;
    if (p == end || *p != '/') {
        p--;
        *p = '/';
    }
    h->target = p;
    h->target_len = (size_t)(end - p);
    return 0;
}

unsigned http_head_parse(char *buf, size_t len, http_head *h, const char **why)
{
    memset(h, 0, offsetof(http_head, fields)); /* the field table is filled below */
    h->nfields = 0;
    h->has_content_length = h->chunked = h->keep_alive = h->expect_continue = 0;
    h->content_length = 0;
    *why = "";
    if (len < 4)
        return fail(why, 400, "incomplete request head");

    /* pass 1a: bytes */
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)buf[i];
        if (c == 0)
            return fail(why, 400, "NUL byte in the request head");
        if (c == '\r') {
            if (i + 1 >= len || buf[i + 1] != '\n')
                return fail(why, 400, "bare CR in the request head (lines end with CRLF)");
        } else if (c == '\n') {
            if (i == 0 || buf[i - 1] != '\r')
                return fail(why, 400, "bare LF in the request head (lines end with CRLF)");
        } else if ((c < 0x20 && c != '\t') || c == 0x7f) {
            return fail(why, 400, "control character in the request head");
        }
    }

    /* pass 1b: header lines */
    span name[HTTP_HEAD_MAX_HEADERS], val[HTTP_HEAD_MAX_HEADERS];
    size_t n = 0;
    int ncl = 0, nte = 0, te_chunked = 0, nhost = 0;
    const char *line = memchr(buf, '\n', len);
    if (line == NULL)
        return fail(why, 400, "no request line");
    /* request line: method SP target SP version, single spaces, a token first */
    {
        const char *rl_end = line - 1; /* the CR before it (pass 1a) */
        int spaces = 0;
        for (const char *k = buf; k < rl_end; k++)
            if (*k == ' ') {
                spaces++;
                if (k == buf || k[-1] == ' ' || k + 1 == rl_end)
                    spaces = 99;
            } else if (*k == '\t') {
                spaces = 99;
            }
        if (spaces != 2 && spaces != 1) /* 1: no version, refused below with its own reason */
            return fail(why, 400, "malformed request line (METHOD SP target SP HTTP/1.1, single spaces)");
        for (const char *k = buf; k < rl_end && *k != ' '; k++)
            if (!is_tchar((unsigned char)*k))
                return fail(why, 400, "malformed request line (the method is not a token)");
    }
    line++;
    const char *end = buf + len;
    while (line < end) {
        const char *eol = memchr(line, '\r', (size_t)(end - line)); /* pass 1a: every CR starts CRLF */
        if (eol == NULL)
            return fail(why, 400, "header line without CRLF");
        if (eol == line)
            break; /* the empty line */
        if (*line == ' ' || *line == '\t')
            return fail(why, 400, "obs-fold: a header line starts with whitespace (send each header on one line)");
        const char *colon = memchr(line, ':', (size_t)(eol - line));
        if (colon == NULL)
            return fail(why, 400, "a header line without ':'");
        if (colon == line)
            return fail(why, 400, "a header line with an empty name");
        for (const char *k = line; k < colon; k++)
            if (!is_tchar((unsigned char)*k))
                return fail(why, 400, "a header name that is not a token (no whitespace before ':')");
        if (n == HTTP_HEAD_MAX_HEADERS)
            return fail(why, 431, "too many header lines");
        const char *v = colon + 1, *ve = eol;
        while (v < ve && (*v == ' ' || *v == '\t'))
            v++;
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
            ve--;
        name[n] = (span){(size_t)(line - buf), (size_t)(colon - line)};
        val[n] = (span){(size_t)(v - buf), (size_t)(ve - v)};
        size_t nl = (size_t)(colon - line), vl = (size_t)(ve - v);
        if (nl == 14 && strncasecmp(line, "Content-Length", 14) == 0)
            ncl++;
        else if (nl == 17 && strncasecmp(line, "Transfer-Encoding", 17) == 0) {
            nte++;
            te_chunked = value_is(v, vl, "chunked");
        } else if (nl == 4 && strncasecmp(line, "Host", 4) == 0)
            nhost++;
        else if (nl == 6 && strncasecmp(line, "Expect", 6) == 0) {
            if (!value_is(v, vl, "100-continue"))
                return fail(why, 417, "unsupported Expect (only 100-continue)");
            h->expect_continue = 1;
        }
        n++;
        line = eol + 2;
    }
    if (ncl > 1)
        return fail(why, 400, "ambiguous framing: Content-Length more than once");
    if (ncl && nte)
        return fail(why, 400, "ambiguous framing: Content-Length with Transfer-Encoding");
    if (nte > 1 || (nte && !te_chunked))
        return fail(why, 400, "Transfer-Encoding other than exactly 'chunked'");
    if (nhost > 1)
        return fail(why, 400, "Host more than once");

    /* pass 2: the grammar */
    http_parser p;
    http_parser_settings st;
    http_parser_settings_init(&st);
    st.on_url = on_url;
    st.on_headers_complete = on_headers_complete;
    st.on_message_complete = on_message_complete;
    parse_ctx pc = {.base = buf};
    http_parser_init(&p, HTTP_REQUEST);
    p.data = &pc;
    http_parser_execute(&p, &st, buf, len);
    enum http_errno e = HTTP_PARSER_ERRNO(&p);
    if (e != HPE_OK && e != HPE_PAUSED) {
        if (e == HPE_INVALID_METHOD)
            return fail(why, 501, "unknown HTTP method");
        if (e == HPE_INVALID_CONTENT_LENGTH || e == HPE_UNEXPECTED_CONTENT_LENGTH)
            return fail(why, 400, "Content-Length is not one decimal number");
        if (e == HPE_INVALID_VERSION)
            return fail(why, 505, "HTTP version not supported (HTTP/1.0 and HTTP/1.1 are)");
        *why = http_errno_description(e);
        return 400;
    }
    if (!pc.headers_done || !pc.url_seen)
        return fail(why, 400, "malformed request line");
    if (p.http_major == 0)
        return fail(why, 400, "request line without an HTTP version");
    if (p.http_major != 1 || p.http_minor > 1)
        return fail(why, 505, "HTTP version not supported (HTTP/1.0 and HTTP/1.1 are)");
    if (p.method == HTTP_CONNECT)
        return fail(why, 501, "CONNECT is not supported");
    if (p.http_minor == 1 && nhost == 0)
        return fail(why, 400, "HTTP/1.1 request without Host");

    h->method = http_method_str((enum http_method)p.method);
    h->is_head = p.method == HTTP_HEAD;
    h->http_minor = p.http_minor;
    h->chunked = (p.flags & F_CHUNKED) != 0;
    h->has_content_length = (p.flags & F_CONTENTLENGTH) != 0;
    h->content_length = h->has_content_length ? p.content_length : 0;
    if (!h->has_content_length && ncl)
        return fail(why, 400, "Content-Length is not one decimal number");
    /* keep-alive: HTTP/1.1 unless "close", HTTP/1.0 only with "keep-alive";
     * an Upgrade request is answered as a plain request, then closed */
    h->keep_alive = http_should_keep_alive(&p) && !p.upgrade;
    if (h->expect_continue && p.http_minor == 0)
        h->expect_continue = 0;

    /* NUL terminators: the target ends at the space before the version,
     * names at ':', values at their trimmed end (all inside the head) */
    h->target = buf + pc.url.off;
    h->target_len = pc.url.len;
    buf[pc.url.off + pc.url.len] = 0;
    if (absolute_to_origin(h) != 0)
        return fail(why, 400, "absolute-form target without a host (http://HOST/PATH)");
    for (size_t i = 0; i < n; i++) {
        buf[name[i].off + name[i].len] = 0;
        buf[val[i].off + val[i].len] = 0;
        h->fields[i].name = buf + name[i].off;
        h->fields[i].value = buf + val[i].off;
    }
    h->nfields = n;
    return 0;
}

const char *http_head_get(const http_head *h, const char *name)
{
    for (size_t i = 0; i < h->nfields; i++)
        if (strcasecmp(h->fields[i].name, name) == 0)
            return h->fields[i].value;
    return NULL;
}

#!/usr/bin/env python3
"""bad-inputs.md, group "HTTP requests": oversized request line and headers
(414/431), NUL / bare CR / obs-fold (400), request smuggling shapes
(CL+TE, duplicate CL, "chunked, identity", bad chunk sizes: 400), bare LF line
ends (400), HEAD, HTTP/1.0 keep-alive, Expect: 100-continue, a chunked body
with a pipelined request after it, pipelined
requests split at every byte boundary, slowloris and slow bodies (others keep
being served; the slow connection is cut at its deadline), a thousand idle
connections, and malformed admin JSON.

The server runs with connection_timeout = 3 (config file).

usage: server_http.py /path/to/openfota
"""
import os
import resource
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from ofharness import (FW, Suite, check, expect_code, expect_package,  # noqa: E402
                       main_with_server, module_bytes, parse_response, recv_all)
import luatbin  # noqa: E402

suite = Suite("server_http")
TIMEOUT = 3


class Ctx:
    pass


def setup(srv):
    c = Ctx()
    c.srv = srv
    c.key = srv.add_project("http")
    c.pkg = luatbin.build(luatbin.script_image(1000, seed=41))
    srv.upload_ok(c.key, c.pkg, "2012.1.2")
    c.latest = ("/api/site/firmware_upgrade?imei=860000000000001&project_key=%s"
                "&firmware_name=%s&version=2012.001.002" % (c.key, FW))
    return c


def req(c, target=None, extra=b"", method=b"GET", version=b"HTTP/1.1"):
    target = (target or c.latest).encode("latin-1") if isinstance(target or c.latest, str) else target
    return (method + b" " + target + b" " + version + b"\r\nHost: 127.0.0.1:%d\r\n" % c.srv.port +
            extra + b"Connection: close\r\n\r\n")


def healthy(c, what):
    r = c.srv.raw(module_bytes(c.srv.port, c.latest))
    expect_code(r, 27, "a normal check after %s" % what)


def expect_status(c, data, allowed, what):
    r = c.srv.raw_status(data)
    check(r is not None, "%s: the server closed without an answer (expected %s)" % (what, allowed))
    check(r.status in allowed, "%s: expected %s, got %s" % (what, allowed, r.describe()))
    healthy(c, what)
    return r


# ---------------------------------------------------------------- limits

@suite.case
def request_line_too_long_414(c):
    target = c.latest + "&pad=" + "a" * 100000
    expect_status(c, req(c, target), (414, 431), "a 100 KB request line")


@suite.case
def header_too_long_431(c):
    expect_status(c, req(c, extra=b"X-Big: " + b"b" * 100000 + b"\r\n"), (431, 414),
                  "one 100 KB header")


@suite.case
def too_many_headers_431(c):
    extra = b"".join(b"X-H%d: v\r\n" % i for i in range(5000))
    expect_status(c, req(c, extra=extra), (431, 414), "5000 headers")


@suite.case
def memory_stays_bounded_under_huge_headers(c):
    def rss():
        with open("/proc/%d/status" % c.srv.proc.pid) as f:
            for ln in f:
                if ln.startswith("VmRSS:"):
                    return int(ln.split()[1]) * 1024
        return 0
    before = rss()
    socks = []
    try:
        for _ in range(50):
            s = c.srv.connect()
            try:
                s.sendall(req(c)[:-2] + b"X-Big: " + b"x" * 200000)
            except OSError:
                pass
            socks.append(s)
        time.sleep(0.5)
        grown = rss() - before
    finally:
        for s in socks:
            s.close()
    check(grown < 64 * 1024 * 1024, "50 connections each sending 200 KB of header: RSS grew "
          "by %d MB" % (grown // (1024 * 1024)))
    healthy(c, "50 huge-header connections")


# ---------------------------------------------------------------- malformed

@suite.case
def nul_in_header_400(c):
    expect_status(c, req(c, extra=b"X-A: a\x00b\r\n"), (400,), "NUL in a header value")


@suite.case
def nul_in_request_line_400(c):
    expect_status(c, req(c, c.latest.encode() + b"\x00x"), (400,), "NUL in the request target")


@suite.case
def bare_cr_400(c):
    expect_status(c, req(c, extra=b"X-A: a\rb\r\n"), (400,), "bare CR in a header value")


@suite.case
def obs_fold_400(c):
    expect_status(c, req(c, extra=b"X-A: a\r\n  folded\r\n"), (400,), "obs-fold (header "
                  "continuation line)")


@suite.case
def header_without_colon_400(c):
    expect_status(c, req(c, extra=b"NoColonHere\r\n"), (400,), "a header line without ':'")


@suite.case
def space_before_colon_400(c):
    expect_status(c, req(c, extra=b"Content-Length : 0\r\n"), (400,), "whitespace before ':'")


@suite.case
def bad_version_and_method(c):
    r = c.srv.raw_status(req(c, version=b"HTTP/9.9"))
    check(r is None or r.status in (400, 505), "HTTP/9.9: %s" % (r.describe() if r else None))
    r = c.srv.raw_status(req(c, version=b"FOO"))
    check(r is None or r.status == 400, "version FOO: %s" % (r.describe() if r else None))
    healthy(c, "bad HTTP versions")


# ---------------------------------------------------------------- smuggling

def smuggle(c, extra, body, what, allowed=(400,)):
    data = (b"POST " + c.latest.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n" % c.srv.port +
            extra + b"\r\n" + body)
    with c.srv.connect() as s:
        s.sendall(data)
        buf, closed = recv_all(s, 8)
    r, rest = parse_response(buf) if buf else (None, b"")
    check(r is not None, "%s: no answer" % what)
    check(r.status in allowed, "%s: expected %s, got %s" % (what, allowed, r.describe()))
    check(b"HTTP/1." not in rest, "%s: a second (smuggled) request was answered: %r"
          % (what, rest[:200]))
    check(closed, "%s: connection kept open after a 400" % what)
    healthy(c, what)


SMUGGLED = b"GET /download/x HTTP/1.1\r\nHost: a\r\n\r\n"


@suite.case
def content_length_with_transfer_encoding_400(c):
    body = b"0\r\n\r\n" + SMUGGLED
    smuggle(c, b"Content-Length: %d\r\nTransfer-Encoding: chunked\r\n" % len(body), body,
            "Content-Length together with Transfer-Encoding")


@suite.case
def duplicate_content_length_400(c):
    smuggle(c, b"Content-Length: 5\r\nContent-Length: 41\r\n", b"hello" + SMUGGLED[:36],
            "two different Content-Length headers")


@suite.case
def content_length_list_400(c):
    smuggle(c, b"Content-Length: 5, 41\r\n", b"hello" + SMUGGLED[:36], "Content-Length: 5, 41")


@suite.case
def te_chunked_identity_400(c):
    smuggle(c, b"Transfer-Encoding: chunked, identity\r\n", b"0\r\n\r\n" + SMUGGLED,
            "Transfer-Encoding: chunked, identity")


@suite.case
def chunk_size_not_hex_400(c):
    smuggle(c, b"Transfer-Encoding: chunked\r\n", b"zz\r\nhello\r\n0\r\n\r\n",
            "non-hex chunk size")


@suite.case
def chunk_size_overflow_400(c):
    smuggle(c, b"Transfer-Encoding: chunked\r\n",
            b"10000000000000000000000005\r\nhello\r\n0\r\n\r\n", "chunk size overflowing 64 bits",
            allowed=(400, 413))


@suite.case
def negative_content_length_400(c):
    smuggle(c, b"Content-Length: -1\r\n", b"", "Content-Length: -1")


# ---------------------------------------------------------------- pipelining

@suite.case
def pipelined_split_at_every_boundary(c):
    one = module_bytes(c.srv.port, c.latest).replace(b"Connection: Close\r\n", b"")
    two = module_bytes(c.srv.port, c.latest)
    data = one + two
    step = max(1, len(data) // 120)
    for cut in range(1, len(data), step):
        with c.srv.connect() as s:
            s.sendall(data[:cut])
            time.sleep(0.002)
            s.sendall(data[cut:])
            buf, _ = recv_all(s, 10)
        r1, rest = parse_response(buf)
        check(r1 is not None and r1.code() == 27, "pipelined pair split at byte %d: first answer "
              "%s" % (cut, r1.describe() if r1 else buf[:200]))
        r2, _ = parse_response(rest)
        check(r2 is not None and r2.code() == 27, "pipelined pair split at byte %d: second "
              "answer %s" % (cut, r2.describe() if r2 else rest[:200]))


# ---------------------------------------------------------------- slow clients

def wait_closed(s, deadline):
    """True when the peer closes (or resets) s before the deadline."""
    while True:
        left = deadline - time.time()
        if left <= 0:
            return False
        s.settimeout(left)
        try:
            if not s.recv(4096):
                return True
        except socket.timeout:
            return False
        except OSError:
            return True


def timed_check(c):
    t0 = time.time()
    r = c.srv.raw(module_bytes(c.srv.port, c.latest), timeout=10)
    return time.time() - t0, r


@suite.case
def slowloris_does_not_block_others(c):
    stop = threading.Event()
    socks = []
    for _ in range(64):
        s = c.srv.connect()
        s.sendall(b"GET " + c.latest.encode() + b" HTTP/1.1\r\n")
        socks.append(s)

    def drip():
        i = 0
        while not stop.is_set():
            for s in socks:
                try:
                    s.send(b"X-Slow-%d: " % i)
                except OSError:
                    pass
            i += 1
            stop.wait(1.0)
    t = threading.Thread(target=drip, daemon=True)
    t.start()
    try:
        worst = 0
        for _ in range(20):
            dt, r = timed_check(c)
            expect_code(r, 27, "check while 64 slowloris connections drip headers")
            worst = max(worst, dt)
            time.sleep(0.05)
        check(worst < 2.0, "a normal check took %.2fs while slowloris connections were open" % worst)
        # the deadline cuts the slow connections
        stop.set()
        t.join()
        limit = TIMEOUT * 4 + 5
        deadline = time.time() + limit
        still_open = sum(1 for s in socks if not wait_closed(s, deadline))
        check(still_open == 0, "%d of %d slowloris connections still open after %ds "
              "(connection_timeout %ds)" % (still_open, len(socks), limit, TIMEOUT))
    finally:
        stop.set()
        t.join()
        for s in socks:
            s.close()


@suite.case
def slow_body_cut_at_deadline(c):
    s = c.srv.connect()
    try:
        s.sendall(b"PUT /admin/v1/files/slow.bin HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                  b"Authorization: Bearer %s\r\nContent-Length: 100000\r\n\r\n"
                  % (c.srv.port, c.srv.token.encode()))
        t0 = time.time()
        closed = False
        while time.time() - t0 < TIMEOUT * 4 + 5:
            try:
                s.send(b"x")
            except OSError:
                closed = True
                break
            s.settimeout(1.5)
            try:
                d = s.recv(4096)
                if not d:
                    closed = True
                    break
                if d.startswith(b"HTTP/1.1 4") or d.startswith(b"HTTP/1.1 5"):
                    closed = True
                    break
            except socket.timeout:
                pass
            dt, r = timed_check(c)
            check(dt < 2.0, "a check took %.2fs during a slow upload" % dt)
        check(closed, "a body dripping one byte every ~1.5s was not cut within %ds" % (TIMEOUT * 4 + 5))
    finally:
        s.close()
    check(c.srv.get("/download/slow.bin").status == 404, "the slow, cut upload is served")


@suite.case
def thousand_idle_connections_then_normal_request(c):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, 4096)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    n = min(1000, want - 64)
    socks = []
    try:
        for _ in range(n):
            socks.append(socket.create_connection(("127.0.0.1", c.srv.port), timeout=5))
        dt, r = timed_check(c)
        expect_code(r, 27, "a check with %d idle connections open" % n)
        check(dt < 2.0, "check took %.2fs with %d idle connections" % (dt, n))
    finally:
        for s in socks:
            s.close()
    healthy(c, "%d idle connections" % n)


@suite.case
def keep_alive_idle_connection_closed_after_timeout(c):
    s = c.srv.connect()
    s.sendall(module_bytes(c.srv.port, c.latest).replace(b"Connection: Close\r\n", b""))
    s.settimeout(TIMEOUT * 4 + 5)
    buf = b""
    t0 = time.time()
    try:
        while True:
            d = s.recv(4096)
            if not d:
                break
            buf += d
    except socket.timeout:
        pass
    finally:
        s.close()
    r, _ = parse_response(buf)
    check(r is not None and r.code() == 27, "keep-alive check: %r" % buf[:200])
    check(time.time() - t0 < TIMEOUT * 4 + 4, "an idle keep-alive connection stayed open for "
          "more than %ds (connection_timeout %ds)" % (TIMEOUT * 4 + 4, TIMEOUT))


# ---------------------------------------------------------------- admin JSON

@suite.case
def admin_bad_json(c):
    for body in (b"{", b"[]", b"null", b'{"name":', b'{"name": 5}', b"\xff\xfe", b'{"name":"a\x00b"}',
                 b"[" * 100000 + b"]" * 100000):
        st, obj, raw = c.srv.admin("POST", "/admin/v1/projects", raw=body,
                                   headers={"Content-Type": "application/json"})
        check(st in (400, 413, 422), "POST /admin/v1/projects with %r: expected 400, got %s %r"
              % (body[:30], st, raw[:200]))
        check(obj is not None and obj.get("error"), "admin error without {\"error\"}: %r" % raw[:200])
    healthy(c, "bad admin JSON")


@suite.case
def admin_body_over_limit(c):
    body = b'{"name":"' + b"a" * (4 * 1024 * 1024) + b'"}'
    try:
        st, obj, raw = c.srv.admin("POST", "/admin/v1/projects", raw=body,
                                   headers={"Content-Type": "application/json"})
    except (BrokenPipeError, ConnectionResetError):
        st = None
    check(st in (None, 400, 413, 422), "4 MB JSON body: expected 413, got %s" % st)
    healthy(c, "a 4 MB admin JSON body")


@suite.case
def admin_without_token_401(c):
    r = c.srv.get("/admin/v1/projects")
    check(r.status == 401, "GET /admin/v1/projects without a token: %s" % r.describe())
    j = r.json()
    check(j and j.get("error"), "401 body is not {\"error\",\"hint\"}: %r" % r.body)


@suite.case
def admin_status_codes(c):
    r = c.srv.get("/admin/v1/projects")
    check("bearer" in (r.header("www-authenticate") or "").lower(),
          "401 without WWW-Authenticate: Bearer: %s" % r.describe())
    st, obj, raw = c.srv.admin("GET", "/admin/v1/no-such-endpoint")
    check(st == 404 and obj and obj.get("error"), "unknown endpoint: %s %r" % (st, raw))
    st, obj, raw = c.srv.admin("PUT", "/admin/v1/projects")
    check(st == 405, "PUT /admin/v1/projects (wrong method): %s %r" % (st, raw))
    st, obj, raw = c.srv.admin("POST", "/admin/v1/projects", {"name": "dup", "key": "DUPKEY"})
    check(st == 201, "project with key DUPKEY: %s %r" % (st, raw))
    st, obj, raw = c.srv.admin("POST", "/admin/v1/projects", {"name": "dup2", "key": "DUPKEY"})
    check(st == 409, "second project with key DUPKEY: expected 409, got %s %r" % (st, raw))
    for bad in ({"name": "x", "key": "bad key"}, {"name": "x", "key": "../x"}, {"name": "x", "key": "k" * 65}):
        st, obj, raw = c.srv.admin("POST", "/admin/v1/projects", bad)
        check(st in (400, 422), "project key %r: expected 422, got %s %r" % (bad["key"], st, raw))
    st, obj, raw = c.srv.admin("PATCH", "/admin/v1/projects/DUPKEY", {"max_daily_deliveries": 0})
    check(st == 422 and b"max_daily" in raw, "max_daily_deliveries 0: %s %r" % (st, raw))
    st, obj, raw = c.srv.admin("PATCH", "/admin/v1/projects/DUPKEY", {"listed_only": "yes"})
    check(st == 422, "listed_only \"yes\": %s %r" % (st, raw))
    st, obj, raw = c.srv.admin("POST", "/admin/v1/projects/DUPKEY/firmware", {"name": "F1"})
    check(st == 201, "firmware F1: %s %r" % (st, raw))
    st, obj, raw = c.srv.admin("POST", "/admin/v1/projects/DUPKEY/firmware", {"name": "F1"})
    check(st == 409, "firmware F1 twice: expected 409, got %s %r" % (st, raw))
    st, obj, raw = c.srv.admin("POST", "/admin/v1/projects/DUPKEY/firmware", {"name": "F2", "suffix": 100})
    check(st == 422, "firmware suffix 100: expected 422, got %s %r" % (st, raw))


@suite.case
def device_path_is_not_admin(c):
    r = c.srv.get("/api/site/firmware_upgrade/../../admin/v1/projects")
    check(r.status != 200 or c.key.encode() not in r.body, "admin data reachable via "
          "dot segments from the device path")


@suite.case
def package_download_still_exact(c):
    r = c.srv.raw(module_bytes(c.srv.port, c.latest.replace("2012.001.002", "2012.001.001")))
    expect_package(r, c.pkg, "a delivery at the end of the HTTP abuse suite")


# ---------------------------------------------------------------- the HTTP engine itself

def recv_responses(s, n, timeout=10, head_requests=()):
    """Reads n responses from s (keep-alive). Returns the list."""
    buf = b""
    out = []
    deadline = time.time() + timeout
    while len(out) < n and time.time() < deadline:
        r, rest = parse_response(buf, head_request=len(out) in head_requests)
        if r is not None and (r.header("content-length") is None or
                              len(r.body) >= int(r.header("content-length")) or
                              len(out) in head_requests):
            out.append(r)
            buf = rest
            continue
        s.settimeout(max(0.05, deadline - time.time()))
        try:
            d = s.recv(65536)
        except socket.timeout:
            break
        if not d:
            r, rest = parse_response(buf, head_request=len(out) in head_requests)
            if r is not None:
                out.append(r)
            break
        buf += d
    return out


@suite.case
def bare_lf_line_ends_400(c):
    data = req(c).replace(b"\r\n", b"\n")
    expect_status(c, data, (400,), "a request whose lines end with a bare LF")


@suite.case
def head_request_has_length_but_no_body(c):
    c.srv.admin("PUT", "/admin/v1/files/head.bin", raw=b"h" * 5000)
    with c.srv.connect() as s:
        s.sendall(b"HEAD /download/head.bin HTTP/1.1\r\nHost: a\r\n\r\n"
                  b"GET /download/head.bin HTTP/1.1\r\nHost: a\r\n\r\n")
        rs = recv_responses(s, 2, head_requests=(0,))
    check(len(rs) == 2, "HEAD then GET on one connection: %d answers" % len(rs))
    check(rs[0].status == 200 and rs[0].header("content-length") == "5000" and rs[0].body == b"",
          "HEAD: %s" % rs[0].describe())
    check(rs[1].status == 200 and rs[1].body == b"h" * 5000, "GET after HEAD: %s" % rs[1].describe())


@suite.case
def http10_keep_alive_only_when_asked(c):
    with c.srv.connect() as s:
        s.sendall(module_bytes(c.srv.port, c.latest).replace(b"HTTP/1.1", b"HTTP/1.0")
                  .replace(b"Connection: Close\r\n", b""))
        buf, closed = recv_all(s, 5)
    r, _ = parse_response(buf)
    expect_code(r, 27, "an HTTP/1.0 check")
    check(closed, "HTTP/1.0 without keep-alive: connection left open")
    with c.srv.connect() as s:
        one = (module_bytes(c.srv.port, c.latest).replace(b"HTTP/1.1", b"HTTP/1.0")
               .replace(b"Connection: Close", b"Connection: keep-alive"))
        s.sendall(one + one)
        rs = recv_responses(s, 2)
    check(len(rs) == 2 and all(r.code() == 27 for r in rs), "HTTP/1.0 keep-alive pair: %r"
          % [r.describe() for r in rs])
    check((rs[0].header("connection") or "").lower() == "keep-alive",
          "HTTP/1.0 keep-alive answer without Connection: keep-alive: %s" % rs[0].describe())


@suite.case
def expect_100_continue_upload(c):
    body = b"e" * 70000
    with c.srv.connect() as s:
        s.sendall(b"PUT /admin/v1/files/cont.bin HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer %s\r\n"
                  b"Content-Length: %d\r\nExpect: 100-continue\r\n\r\n" % (c.srv.token.encode(), len(body)))
        s.settimeout(5)
        first = s.recv(100)
        check(first.startswith(b"HTTP/1.1 100 Continue\r\n\r\n"), "Expect: 100-continue: got %r" % first)
        s.sendall(body)
        rs = recv_responses(s, 1)
    check(rs and rs[0].status in (200, 201), "upload after 100 Continue: %s"
          % (rs[0].describe() if rs else None))
    r = c.srv.get("/download/cont.bin")
    check(r.status == 200 and r.body == body, "the file uploaded after 100 Continue: %s" % r.describe())


@suite.case
def early_answer_skips_100_continue(c):
    # no token: the answer comes before the body, and no 100 Continue is sent
    with c.srv.connect() as s:
        s.sendall(b"PUT /admin/v1/files/x.bin HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n"
                  b"Expect: 100-continue\r\n\r\n")
        buf, closed = recv_all(s, 5)
    r, _ = parse_response(buf)
    check(r is not None and r.status == 401, "upload without token: %s" % (r.describe() if r else buf[:200]))
    check(b"100 Continue" not in buf, "100 Continue sent before a 401")
    check(closed, "connection left open after answering before the body")


@suite.case
def chunked_body_then_pipelined_check(c):
    report = b'{"imei":"860000000000001","status":"ok"}'
    chunks = b"%x\r\n%s\r\n" % (10, report[:10]) + b"%x\r\n%s\r\n" % (len(report) - 10, report[10:]) + \
        b"0\r\nX-Trailer: t\r\n\r\n"
    post = (b"POST /api/v1/device/status HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n" + chunks)
    get = module_bytes(c.srv.port, c.latest)
    with c.srv.connect() as s:
        s.sendall(post + get)
        rs = recv_responses(s, 2)
    check(len(rs) == 2, "chunked POST + pipelined check: %d answers: %r" % (len(rs), [r.describe() for r in rs]))
    check(rs[0].status < 500, "chunked status report: %s" % rs[0].describe())
    expect_code(rs[1], 27, "the check pipelined after a chunked body")


@suite.case
def keep_alive_survives_errors_and_404(c):
    with c.srv.connect() as s:
        one = module_bytes(c.srv.port, c.latest).replace(b"Connection: Close\r\n", b"")
        nf = b"GET /nothing-here HTTP/1.1\r\nHost: a\r\n\r\n"
        s.sendall(one + nf + one + nf + one)
        rs = recv_responses(s, 5)
    check([r.status for r in rs] == [404, 404, 404, 404, 404] and
          [r.code() for r in rs][::2] == [27, 27, 27], "five keep-alive answers: %r"
          % [r.describe() for r in rs])


if __name__ == "__main__":
    sys.exit(main_with_server(suite, setup, config={"connection_timeout": str(TIMEOUT), "limit_device_burst": "0", "limit_address_rate": "0", "limit_new_devices_rate": "0"}))

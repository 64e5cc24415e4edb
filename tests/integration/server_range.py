#!/usr/bin/env python3
"""bad-inputs.md, group "Downloads and Range": path traversal on the static
/download/ paths, Range edge cases (bytes=-0, 5-1, 999999999999-, huge
suffix, hundreds of overlapping ranges, at and past EOF), If-Range with a
stale ETag, on static files and on packages served by the device check.

usage: server_range.py /path/to/openfota
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from ofharness import (FW, Failure, Suite, check, expect_package, main_with_server)  # noqa: E402
import luatbin  # noqa: E402

suite = Suite("server_range")
N = 10000


class Ctx:
    pass


def setup(srv):
    c = Ctx()
    c.srv = srv
    c.data = luatbin.script_image(N, seed=21)
    st, obj, raw = srv.admin("PUT", "/admin/v1/files/range.bin", raw=c.data)
    check(st == 201, "PUT /admin/v1/files/range.bin: %s %r" % (st, raw))
    c.key = srv.add_project("range")
    c.pkg = luatbin.build(luatbin.script_image(N - 92, seed=22))
    srv.upload_ok(c.key, c.pkg, "2012.1.2")
    c.dev = 0
    with open(os.path.join(srv.data, "admin.token")) as f:
        c.secret = f.read().strip().encode()
    return c


def get_file(c, headers=(), method="GET", name="range.bin"):
    return c.srv.get("/download/" + name, headers, method)


def get_pkg(c, headers=()):
    c.dev += 1
    target = ("/api/site/firmware_upgrade?imei=86%013d&project_key=%s&firmware_name=%s"
              "&version=2012.001.001" % (7000 + c.dev, c.key, FW))
    return c.srv.get(target, headers)


def both(c, headers):
    return [("file", get_file(c, headers), c.data), ("package", get_pkg(c, headers), c.pkg)]


def expect_416(r, size, what):
    check(r.status == 416, "%s: expected 416, got %s" % (what, r.describe()))
    cr = r.header("content-range")
    check(cr == "bytes */%d" % size, "%s: 416 Content-Range %r, expected 'bytes */%d'"
          % (what, cr, size))


def expect_206(r, data, first, last, what):
    check(r.status == 206, "%s: expected 206, got %s" % (what, r.describe()))
    cr = r.header("content-range")
    want = "bytes %d-%d/%d" % (first, last, len(data))
    check(cr == want, "%s: Content-Range %r, expected %r" % (what, cr, want))
    check(r.body == data[first:last + 1], "%s: body is not bytes %d..%d (got %d bytes)"
          % (what, first, last, len(r.body)))
    check(r.header("content-length") == str(last - first + 1),
          "%s: Content-Length %r" % (what, r.header("content-length")))


def never_wrong(r, data, what):
    """Accepts 416, a full 200, or a correct single 206; nothing else."""
    if r.status == 416:
        return
    if r.status == 200:
        check(r.body == data, "%s: 200 with a body that is not the file" % what)
        return
    if r.status == 206:
        cr = r.header("content-range") or ""
        check(cr.startswith("bytes ") and "/" in cr, "%s: 206 Content-Range %r" % (what, cr))
        rng = cr[6:].split("/")[0]
        a, b = (int(x) for x in rng.split("-"))
        check(0 <= a <= b < len(data) and r.body == data[a:b + 1],
              "%s: 206 body does not match %s" % (what, cr))
        return
    raise Failure("%s: unexpected %s" % (what, r.describe()))


# ---------------------------------------------------------------- traversal

TRAVERSALS = [
    "../admin.token", "..%2fadmin.token", "%2e%2e%2fadmin.token", "%2e%2e/admin.token",
    "..%5cadmin.token", "..\\admin.token", "%252e%252e%252fadmin.token",
    "%c0%ae%c0%ae%c0%afadmin.token", "%c0%ae%c0%ae/admin.token", "%e0%80%ae%e0%80%ae%2fadmin.token",
    "....//admin.token", "..;/admin.token", "/etc/passwd", "%2fetc%2fpasswd",
    "..%2f..%2f..%2f..%2f..%2f..%2fetc%2fpasswd", "../../../../../../etc/passwd",
    ".%2e/admin.token", "%2e./admin.token", "..%00/admin.token", "range.bin/../../admin.token",
    ".", "..", "%2e", "%2e%2e", ".hidden", "", "serve.json", "admin.token",
]


@suite.case
def traversal_never_leaves_root(c):
    for t in TRAVERSALS:
        target = "/download/" + t
        r = c.srv.raw_status(("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n\r\n"
                              % (target, c.srv.port)).encode("latin-1"))
        if r is None:
            continue  # closed without answering: nothing leaked
        check(c.secret not in r.body, "GET %s leaked the admin token" % target)
        check(b"root:" not in r.body, "GET %s leaked /etc/passwd" % target)
        check(r.status in (400, 403, 404),
              "GET %s: expected 400/403/404, got %s" % (target, r.describe()))
    expect_package(get_file(c), c.data, "a normal download after traversal attempts")


@suite.case
def traversal_via_prefix_paths(c):
    for target in ("/download/../admin/v1/status", "/download/..%2fadmin%2fv1%2fstatus",
                   "/./download/range.bin/..", "/download//range.bin", "//download/../admin.token"):
        r = c.srv.raw_status(("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n\r\n"
                              % (target, c.srv.port)).encode("latin-1"))
        if r is None:
            continue
        check(c.secret not in r.body, "GET %s leaked the admin token" % target)
        check(r.status != 200 or r.body == c.data,
              "GET %s: 200 with something other than the file: %s" % (target, r.describe()))


def find_stored(c, data):
    for root, _dirs, files in os.walk(c.srv.data):
        for f in files:
            p = os.path.join(root, f)
            try:
                if os.path.getsize(p) == len(data) and open(p, "rb").read() == data:
                    return p
            except OSError:
                pass
    return None


@suite.case
def symlink_in_store_not_followed_outside(c):
    stored = find_stored(c, c.data)
    check(stored, "could not find the stored copy of range.bin under the data folder")
    d = os.path.dirname(stored)
    outside = os.path.join(c.srv.data, "admin.token")
    link = os.path.join(d, "evil.bin")
    os.symlink(outside, link)
    try:
        r = get_file(c, name="evil.bin")
        check(c.secret not in r.body, "GET /download/evil.bin (symlink in the store to "
              "admin.token) leaked the token")
        check(r.status in (403, 404), "symlink in the store: expected 403/404, got %s" % r.describe())
    finally:
        os.unlink(link)


# ---------------------------------------------------------------- ranges

@suite.case
def range_simple(c):
    for what, r, data in both(c, [("Range", "bytes=100-199")]):
        expect_206(r, data, 100, 199, "%s Range bytes=100-199" % what)
        check(r.header("etag"), "%s 206 without ETag" % what)


@suite.case
def range_suffix(c):
    for what, r, data in both(c, [("Range", "bytes=-500")]):
        expect_206(r, data, len(data) - 500, len(data) - 1, "%s bytes=-500" % what)


@suite.case
def range_minus_zero(c):
    for what, r, data in both(c, [("Range", "bytes=-0")]):
        expect_416(r, len(data), "%s bytes=-0" % what)


@suite.case
def range_reversed(c):
    for what, r, data in both(c, [("Range", "bytes=5-1")]):
        # Invalid range: 416 (bad-inputs.md) or the Range ignored (full 200).
        check(r.status in (416, 200), "%s bytes=5-1: expected 416 or full 200, got %s"
              % (what, r.describe()))
        never_wrong(r, data, "%s bytes=5-1" % what)


@suite.case
def range_far_past_eof(c):
    for what, r, data in both(c, [("Range", "bytes=999999999999-")]):
        expect_416(r, len(data), "%s bytes=999999999999-" % what)


@suite.case
def range_overflowing_numbers(c):
    for spec, start_past_eof in (("bytes=18446744073709551615-", True),
                                 ("bytes=18446744073709551616-", True),
                                 ("bytes=0-18446744073709551616", False),
                                 ("bytes=9223372036854775807-9223372036854775808", True),
                                 ("bytes=99999999999999999999999999999999-", True)):
        for what, r, data in both(c, [("Range", spec)]):
            never_wrong(r, data, "%s %s" % (what, spec))
            if start_past_eof:
                check(r.status != 206, "%s %s: 206 for a start past EOF" % (what, spec))


@suite.case
def range_huge_negative_suffix(c):
    for spec in ("bytes=-99999999999999999999999", "bytes=-18446744073709551616",
                 "bytes=-9223372036854775808", "bytes=--1"):
        for what, r, data in both(c, [("Range", spec)]):
            never_wrong(r, data, "%s %s" % (what, spec))


@suite.case
def range_hundreds_overlapping(c):
    # ~4 KB of Range header (400 ranges) and ~1 KB (200 short ranges): each
    # refused (416/431) or coalesced/ignored, never a multi-part amplification
    long_spec = "bytes=" + ",".join("%d-%d" % (i, i + 5000) for i in range(0, 400))
    short_spec = "bytes=" + ",".join("%d-%d" % (i % 10, i % 10 + 3) for i in range(200))
    for spec in (long_spec, short_spec):
        for what, r, data in both(c, [("Range", spec)]):
            what = "%s %d overlapping ranges (%d-byte header)" % (what, spec.count(",") + 1, len(spec))
            check(r.status in (200, 206, 416, 431), "%s: %s" % (what, r.describe()))
            check(len(r.body) <= 2 * len(data) + 4096,
                  "%s: answer of %d bytes for a %d-byte file (amplification)"
                  % (what, len(r.body), len(data)))
            if r.status in (200, 206):
                never_wrong(r, data, what)


@suite.case
def range_at_and_past_eof(c):
    for what, r, data in both(c, [("Range", "bytes=%d-" % N)]):
        expect_416(r, len(data), "%s bytes=%d- (start exactly at EOF)" % (what, len(data)))
    for what, r, data in both(c, [("Range", "bytes=%d-" % (N + 1))]):
        expect_416(r, len(data), "%s bytes=%d- (one past EOF)" % (what, len(data) + 1))
    for what, r, data in both(c, [("Range", "bytes=%d-%d" % (N, N + 10))]):
        expect_416(r, len(data), "%s bytes=%d-%d" % (what, len(data), len(data) + 10))
    for what, r, data in both(c, [("Range", "bytes=%d-" % (N - 1))]):
        expect_206(r, data, len(data) - 1, len(data) - 1, "%s last byte" % what)
    for what, r, data in both(c, [("Range", "bytes=%d-%d" % (N - 10, N + 100))]):
        expect_206(r, data, len(data) - 10, len(data) - 1, "%s end clamped to EOF" % what)


@suite.case
def range_malformed_ignored_or_416(c):
    for spec in ("bytes=", "bytes=abc", "bytes 0-1", "items=0-1", "bytes=0x10-0x20", "bytes=1-2-3",
                 "bytes=,", "bytes=0-1,", "bytes= 0-1"):
        for what, r, data in both(c, [("Range", spec)]):
            never_wrong(r, data, "%s Range %r" % (what, spec))


@suite.case
def if_range_current_etag_gives_206(c):
    full = get_file(c)
    etag = full.header("etag")
    check(etag, "no ETag on the download")
    r = get_file(c, [("Range", "bytes=10-19"), ("If-Range", etag)])
    expect_206(r, c.data, 10, 19, "file If-Range current ETag")
    full = get_pkg(c)
    r = get_pkg(c, [("Range", "bytes=10-19"), ("If-Range", full.header("etag"))])
    expect_206(r, c.pkg, 10, 19, "package If-Range current ETag")


@suite.case
def if_range_stale_etag_full_200(c):
    old = get_file(c, name="range.bin")
    etag = old.header("etag")
    new = luatbin.script_image(N + 7, seed=23)
    st, obj, raw = c.srv.admin("PUT", "/admin/v1/files/replaced.bin", raw=c.data)
    check(st == 201, "PUT replaced.bin: %s %r" % (st, raw))
    e1 = get_file(c, name="replaced.bin").header("etag")
    st, obj, raw = c.srv.admin("PUT", "/admin/v1/files/replaced.bin", raw=new)
    check(st in (200, 201), "PUT replaced.bin again (new content): %s %r" % (st, raw))
    r = get_file(c, [("Range", "bytes=100-199"), ("If-Range", e1)], name="replaced.bin")
    check(r.status == 200, "If-Range with the ETag of the replaced content: expected a full 200, "
          "got %s" % r.describe())
    check(r.body == new, "If-Range stale: body is not the new file (%d bytes)" % len(r.body))
    r = get_file(c, [("Range", "bytes=100-199"), ("If-Range", '"not-an-etag"')])
    check(r.status == 200 and r.body == c.data, "If-Range with an unknown ETag: %s" % r.describe())
    r = get_pkg(c, [("Range", "bytes=100-199"), ("If-Range", '"stale"')])
    check(r.status == 200 and r.body == c.pkg, "package If-Range stale: %s" % r.describe())


def slow_read_while(c, target, data, action, what):
    """Starts a download of target, reads a little, runs action(), then
    reads the rest: the body must be the whole original data."""
    import socket as _s
    s = _s.socket(_s.AF_INET, _s.SOCK_STREAM)
    s.setsockopt(_s.SOL_SOCKET, _s.SO_RCVBUF, 65536)  # before connect: a small window
    s.connect(("127.0.0.1", c.srv.port))
    s.sendall(("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n\r\n"
               % (target, c.srv.port)).encode())
    s.settimeout(10)
    first = s.recv(4096)
    action()
    import time as _t
    _t.sleep(0.3)
    buf = bytearray(first)
    while True:
        d = s.recv(65536)
        if not d:
            break
        buf += d
    s.close()
    from ofharness import parse_response
    r, _ = parse_response(bytes(buf))
    check(r is not None and r.status == 200 and r.body == data,
          "%s: the download under way was cut or changed (%s)"
          % (what, r.describe() if r else "%d bytes, no full answer" % len(buf)))


@suite.case
def package_rm_does_not_cut_download(c):
    big = luatbin.script_image(8 * 1024 * 1024, seed=24)
    obj = c.srv.upload_ok(c.key, big, "1.0.1", firmware="BIG_RAW_FW")
    target = ("/api/site/firmware_upgrade?imei=860000000077777&project_key=%s"
              "&firmware_name=BIG_RAW_FW&version=1.0.0" % c.key)

    def rm():
        st, _, raw = c.srv.admin("DELETE", "/admin/v1/packages/%s" % obj["id"])
        check(st == 204, "DELETE package during a download: %s %r" % (st, raw))
    slow_read_while(c, target, big, rm, "package removed while a device downloads it")
    r = c.srv.get(target.replace("77777", "77778"))
    check(r.status != 200, "removed package still delivered to a new device: %s" % r.describe())


@suite.case
def file_rm_does_not_cut_download(c):
    big = luatbin.script_image(8 * 1024 * 1024, seed=25)
    st, obj, raw = c.srv.admin("PUT", "/admin/v1/files/big-rm.bin", raw=big)
    check(st == 201, "PUT big-rm.bin: %s %r" % (st, raw))

    def rm():
        st2, _, raw2 = c.srv.admin("DELETE", "/admin/v1/files/big-rm.bin")
        check(st2 == 204, "DELETE file during a download: %s %r" % (st2, raw2))
    slow_read_while(c, "/download/big-rm.bin", big, rm, "file removed while downloaded")


@suite.case
def resumes_count_bytes_not_requests(c):
    target = ("/api/site/firmware_upgrade?imei=860000000066666&project_key=%s"
              "&firmware_name=%s&version=2012.001.001" % (c.key, FW))
    # one package fetched in ten pieces is one delivery
    step = (len(c.pkg) + 9) // 10
    for i in range(10):
        a, b = i * step, min(len(c.pkg), (i + 1) * step) - 1
        r = c.srv.get(target, [("Range", "bytes=%d-%d" % (a, b))])
        expect_206(r, c.pkg, a, b, "piece %d" % (i + 1))
    for i in range(5):
        r = c.srv.get(target)
        expect_package(r, c.pkg, "full delivery %d after one in pieces" % (i + 2))
    r = c.srv.get(target)
    check(r.code() == 40, "7th request after 6 deliveries: expected code 40, got %s" % r.describe())


@suite.case
def head_download(c):
    r = get_file(c, method="HEAD")
    check(r.status == 200 and r.header("content-length") == str(N) and r.body == b"",
          "HEAD /download/range.bin: %s" % r.describe())


@suite.case
def download_headers(c):
    r = get_file(c)
    expect_package(r, c.data, "GET /download/range.bin")
    check(r.header("location") is None, "download answer carries Location")


if __name__ == "__main__":
    # many Range requests from one device id: the per-device check limit
    # (tested in server_hardening.py) is off here
    sys.exit(main_with_server(suite, setup, config={"limit_device_burst": "0"}))

#!/usr/bin/env python3
"""The HTTP engine under many clients misbehaving at once (seeded, so a
failure can be replayed with OPENFOTA_CHAOS_SEED): pipelined checks,
downloads and HEADs; ranges; heads cut in the middle; downloads abandoned
after a few bytes; uploads cut mid-body; chunked bodies in random pieces;
Expect: 100-continue then silence; garbage. Meanwhile and afterwards, every
well-formed request gets its exact answer, the server stays up (under the
sanitizer build a memory error kills it), and the device's history counts
every complete download it answered.

usage: server_http_chaos.py /path/to/openfota
"""
import os
import random
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from ofharness import (FW, Suite, check, expect_code, expect_package,  # noqa: E402
                       main_with_server, module_bytes, parse_response, recv_all)
import luatbin  # noqa: E402

suite = Suite("server_http_chaos")
SEED = int(os.environ.get("OPENFOTA_CHAOS_SEED", "20261126"))
SECONDS = float(os.environ.get("OPENFOTA_CHAOS_SECONDS", "8"))
THREADS = 12


class Ctx:
    pass


def setup(srv):
    c = Ctx()
    c.srv = srv
    c.key = srv.add_project("chaos")
    st, _, raw = srv.admin("PATCH", "/admin/v1/projects/" + c.key, {"max_daily_deliveries": 1000})
    check(st == 200, "raising the loop guard for the chaos: %s %r" % (st, raw))
    c.pkg = luatbin.build(luatbin.script_image(300000, seed=7))
    srv.upload_ok(c.key, c.pkg, "2012.1.2")
    c.big = bytes(random.Random(SEED).getrandbits(8) for _ in range(600000))
    st, _, raw = srv.admin("PUT", "/admin/v1/files/chaos.bin", raw=c.big)
    check(st in (200, 201), "file upload: %s %r" % (st, raw))
    c.latest = ("/api/site/firmware_upgrade?imei=860000000000001&project_key=%s"
                "&firmware_name=%s&version=2012.001.002" % (c.key, FW))
    c.old = c.latest.replace("2012.001.002", "2012.001.001")
    return c


def read_n(s, n_responses, timeout=10, heads=()):
    """Reads n keep-alive responses (HEAD answers carry no body)."""
    buf = b""
    out = []
    deadline = time.time() + timeout
    while len(out) < n_responses:
        r, rest = parse_response(buf, head_request=len(out) in heads)
        if r is not None:
            cl = r.header("content-length")
            if len(out) in heads or cl is None or len(r.body) >= int(cl):
                if cl is not None and len(out) not in heads and len(r.body) > int(cl):
                    rest = r.body[int(cl):] + rest
                    r.body = r.body[:int(cl)]
                out.append(r)
                buf = rest
                continue
        left = deadline - time.time()
        if left <= 0:
            break
        s.settimeout(left)
        try:
            d = s.recv(1 << 16)
        except socket.timeout:
            break
        if not d:
            break
        buf += d
    return out


def get(path, extra=b""):
    return b"GET " + path.encode() + b" HTTP/1.1\r\nHost: a\r\n" + extra + b"\r\n"


class Worker(threading.Thread):
    def __init__(self, c, seed):
        super().__init__(daemon=True)
        self.c = c
        self.rnd = random.Random(seed)
        self.errors = []
        self.done = 0
        self.imei = "8610000%08d" % (seed % 100000000)  # never the device of c.latest

    def run(self):
        deadline = time.time() + SECONDS
        acts = [self.pipelined, self.cut_head, self.abandon_download, self.cut_upload,
                self.chunked_report, self.expect_then_silence, self.garbage, self.ranges]
        while time.time() < deadline and not self.errors:
            try:
                self.rnd.choice(acts)()
                self.done += 1
            except (OSError, AssertionError) as e:
                self.errors.append("%s: %r" % (type(e).__name__, e))
            except Exception as e:  # noqa: BLE001 - reported as a failure
                self.errors.append("%s: %s" % (type(e).__name__, e))

    def conn(self):
        return self.c.srv.connect(timeout=10)

    def pipelined(self):
        c = self.c
        reqs, heads, want = [], [], []
        for i in range(self.rnd.randint(1, 5)):
            k = self.rnd.randint(0, 2)
            if k == 0:
                reqs.append(get(c.latest))
                want.append("27")
            elif k == 1:
                reqs.append(get("/download/chaos.bin"))
                want.append("big")
            else:
                reqs.append(b"HEAD /download/chaos.bin HTTP/1.1\r\nHost: a\r\n\r\n")
                heads.append(i)
                want.append("head")
        data = b"".join(reqs)
        with self.conn() as s:
            # sent in random pieces
            pos = 0
            while pos < len(data):
                n = self.rnd.randint(1, len(data) - pos)
                s.sendall(data[pos:pos + n])
                pos += n
            rs = read_n(s, len(reqs), heads=tuple(heads))
        assert len(rs) == len(reqs), "pipelined %d requests, %d answers" % (len(reqs), len(rs))
        for r, w in zip(rs, want):
            if w == "27":
                assert r.code() == 27, "check answer %s" % r.describe()
            elif w == "big":
                assert r.status == 200 and r.body == self.c.big, "download: %s" % r.status
            else:
                assert r.status == 200 and r.header("content-length") == str(len(self.c.big)) and not r.body, \
                    "HEAD: %s" % r.describe()

    def ranges(self):
        a = self.rnd.randint(0, len(self.c.big) - 1)
        b = self.rnd.randint(a, len(self.c.big) - 1)
        with self.conn() as s:
            s.sendall(get("/download/chaos.bin", b"Range: bytes=%d-%d\r\n" % (a, b)))
            rs = read_n(s, 1)
        assert rs and rs[0].status == 206 and rs[0].body == self.c.big[a:b + 1], "range %d-%d" % (a, b)

    def cut_head(self):
        data = module_bytes(self.c.srv.port, self.c.latest)
        with self.conn() as s:
            s.sendall(data[:self.rnd.randint(1, len(data) - 2)])
            if self.rnd.random() < 0.5:
                time.sleep(self.rnd.random() * 0.05)

    def abandon_download(self):
        with self.conn() as s:
            s.sendall(module_bytes(self.c.srv.port, self.c.old.replace("860000000000001", self.imei)))
            s.settimeout(5)
            s.recv(self.rnd.randint(1, 70000))
            if self.rnd.random() < 0.5:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")

    def cut_upload(self):
        body = b"u" * self.rnd.randint(10, 200000)
        with self.conn() as s:
            s.sendall(b"PUT /admin/v1/files/cut%d.bin HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer %s\r\n"
                      b"Content-Length: %d\r\n\r\n" % (self.rnd.randint(0, 9), self.c.srv.token.encode(),
                                                       len(body)))
            s.sendall(body[:self.rnd.randint(0, len(body) - 1)])

    def chunked_report(self):
        body = b'{"imei":"%s","status":"ok"}' % self.imei.encode()
        parts, pos = [], 0
        while pos < len(body):
            n = self.rnd.randint(1, len(body) - pos)
            parts.append(b"%x\r\n%s\r\n" % (n, body[pos:pos + n]))
            pos += n
        data = (b"POST /api/v1/device/status HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" +
                b"".join(parts) + b"0\r\n\r\n" + get(self.c.latest))
        with self.conn() as s:
            s.sendall(data)
            rs = read_n(s, 2)
        assert len(rs) == 2 and rs[0].status < 500 and rs[1].code() == 27, \
            "chunked report + check: %r" % [r.describe() for r in rs]

    def expect_then_silence(self):
        with self.conn() as s:
            s.sendall(b"PUT /admin/v1/files/never.bin HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer %s\r\n"
                      b"Content-Length: 5000\r\nExpect: 100-continue\r\n\r\n" % self.c.srv.token.encode())
            s.settimeout(5)
            first = s.recv(100)
            assert first.startswith(b"HTTP/1.1 100 Continue"), "no 100 Continue: %r" % first

    def garbage(self):
        junk = bytes(self.rnd.getrandbits(8) for _ in range(self.rnd.randint(1, 3000)))
        with self.conn() as s:
            try:
                s.sendall(junk + b"\r\n\r\n")
                s.settimeout(3)
                s.recv(4096)
            except OSError:
                pass


@suite.case
def many_misbehaving_clients(c):
    ws = [Worker(c, SEED + i) for i in range(THREADS)]
    for w in ws:
        w.start()
    for w in ws:
        w.join(SECONDS + 60)
    errs = [e for w in ws for e in w.errors]
    check(not errs, "seed %d: %s" % (SEED, "; ".join(errs[:5])))
    check(c.srv.alive(), "the server died; log:\n%s" % c.srv.log_text())
    total = sum(w.done for w in ws)
    check(total > THREADS * 5, "only %d client actions in %.0f s" % (total, SECONDS))


@suite.case
def still_exact_afterwards(c):
    r = c.srv.raw(module_bytes(c.srv.port, c.latest))
    expect_code(r, 27, "a check after the chaos")
    r = c.srv.raw(module_bytes(c.srv.port, c.old.replace("860000000000001", "860000000000777")))
    expect_package(r, c.pkg, "a delivery after the chaos")
    r = c.srv.get("/download/chaos.bin")
    check(r.status == 200 and r.body == c.big, "static file after the chaos: %s" % r.status)
    st, obj, raw = c.srv.admin("GET", "/admin/v1/projects")
    check(st == 200, "admin after the chaos: %s %r" % (st, raw))


if __name__ == "__main__":
    sys.exit(main_with_server(suite, setup, config={"connection_timeout": "3", "limit_device_burst": "0", "limit_address_rate": "0", "limit_new_devices_rate": "0"}))

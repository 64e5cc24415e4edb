#!/usr/bin/env python3
"""Issue 11, safe on the public internet: what an attacker on the network
can no longer do to the update server. Each case failed before its fix.

usage: server_hardening.py /path/to/openfota
"""
import hashlib
import hmac
import json
import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from ofharness import (FW, Server, Suite, check, expect_code, expect_package,  # noqa: E402
                       main_with_server, module_bytes, parse_response, recv_all)
import luatbin  # noqa: E402

suite = Suite("server_limits")
DEVICE_CLIENT = sys.argv[2] if len(sys.argv) > 2 else None


class Ctx:
    pass


def imei(n):
    return "86%013d" % n


def setup(srv):
    c = Ctx()
    c.srv = srv
    c.key = srv.add_project("harden")
    c.pkg = luatbin.build(luatbin.script_image(20000, seed=11))
    srv.upload_ok(c.key, c.pkg, "2012.001.002")
    return c


def history(c, dev):
    st, obj, raw = c.srv.admin("GET", "/admin/v1/devices/%s" % dev)
    check(st == 200 and obj, "GET /admin/v1/devices/%s: %s %r" % (dev, st, raw[:300]))
    return obj.get("history", [])


def wait_history(c, dev, pred, what, timeout=5.0):
    deadline = time.time() + timeout
    h = []
    while time.time() < deadline:
        h = history(c, dev)
        if any(pred(e) for e in h):
            return h
        time.sleep(0.2)
    check(False, "%s: not in the history of %s: %s" % (what, dev, json.dumps(h)[:1500]))


def report(c, body, headers=()):
    data = json.dumps(body, ensure_ascii=False).encode() if not isinstance(body, bytes) else body
    req = ("POST /api/v1/device/status HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n"
           "Content-Type: application/json\r\nContent-Length: %d\r\n" % (c.srv.port, len(data)))
    for k, v in headers:
        req += "%s: %s\r\n" % (k, v)
    return c.srv.raw(req.encode("latin-1") + b"\r\n" + data)


@suite.case
def notes_not_utf8_stay_in_history(c):
    dev = imei(600)
    expect_code(c.srv.module_check(dev, c.key, FW, "2012.001.002"), 27, "first check (latest)")
    # a bad version with byte 0xFF (code 4, recorded for known devices)
    q = "imei=%s&project_key=%s&firmware_name=%s&version=2012.\xff.001" % (dev, c.key, FW)
    r = c.srv.raw(module_bytes(c.srv.port, "/api/site/firmware_upgrade?" + q))
    expect_code(r, 4, "version with byte 0xFF")
    # a Chinese reason longer than the note: cut in the middle of a character
    reason = "升级包校验失败请检查服务器上的升级包是否完整以及设备剩余空间是否足够谢谢"
    r = report(c, {"id": dev, "version": "2012.001.002", "state": "failed", "reason": reason, "sha256": ""})
    check(r.status in (202, 204), "report with a long Chinese reason: %s" % r.describe())
    h = wait_history(c, dev, lambda e: e["code"] == 4, "the code 4 event of a version with byte 0xFF")
    wait_history(c, dev, lambda e: e["decision"] == "report" and "升级包" in (e["note"] or ""),
                 "the report with a Chinese reason cut to the note's length")
    check(any("\ufffd" in (e["note"] or "") for e in h if e["code"] == 4),
          "the bad byte is not shown as U+FFFD: %s" % json.dumps(h)[:800])


def check_from(c, srv, dev, source="127.0.0.1", headers=(), key=None, version="2012.001.001", method="GET"):
    """One libfota2 check from a given loopback source address."""
    q = "imei=%s&project_key=%s&firmware_name=%s&version=%s" % (dev, key or c.key, FW, version)
    req = "%s /api/site/firmware_upgrade?%s HTTP/1.1\r\nConnection: Close\r\nHost: 127.0.0.1:%d\r\n" % (
        method, q, srv.port)
    for k, v in headers:
        req += "%s: %s\r\n" % (k, v)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(10)
    s.bind((source, 0))
    s.connect(("127.0.0.1", srv.port))
    with s:
        s.sendall((req + "\r\n").encode("latin-1"))
        buf, _ = recv_all(s, 10)
    r, _ = parse_response(buf, method == "HEAD")
    check(r is not None, "no answer to a check from %s: %r" % (source, buf[:200]))
    return r


def expect_429(r, what):
    check(r.status == 429, "%s: expected 429, got %s" % (what, r.describe()))
    ra = r.header("retry-after")
    check(ra is not None and ra.isdigit() and int(ra) >= 1, "%s: Retry-After %r" % (what, ra))
    check(r.code() == 61, "%s: expected code 61, got %s" % (what, r.describe()))


def with_server(c, config, fn):
    srv = Server(c.srv.binary)
    path = os.path.join(srv.data, "limits.conf")
    with open(path, "w") as f:
        for k, v in config.items():
            f.write("%s = %s\n" % (k, v))
    srv.extra += ["--config", path]
    try:
        srv.start()
        key = srv.add_project("limits")
        srv.upload_ok(key, c.pkg, "2012.001.002")
        return fn(srv, key)
    finally:
        srv.cleanup()


@suite.case
def device_burst_gets_429_others_answered(c):
    # the suite's server: burst 10 per device, then one check per 3 s
    dev, other = imei(700), imei(701)
    answered = refused = 0
    for i in range(30):
        r = check_from(c, c.srv, dev, version="2012.001.002")
        if r.status == 429:
            expect_429(r, "check %d of a device over its limit" % (i + 1))
            refused += 1
        else:
            expect_code(r, 27, "check %d of a device within its burst" % (i + 1))
            answered += 1
        if i % 5 == 0:
            expect_code(check_from(c, c.srv, imei(710 + i), version="2012.001.002"), 27,
                        "another device's check while %s is limited" % dev)
    check(answered == 10 and refused == 20, "30 checks at once: %d answered, %d refused (expected 10 and 20)"
          % (answered, refused))
    expect_code(check_from(c, c.srv, other, version="2012.001.002"), 27, "another device after the burst")
    time.sleep(3.2)
    expect_code(check_from(c, c.srv, dev, version="2012.001.002"), 27, "the limited device after 3 s")
    h = wait_history(c, dev, lambda e: e["code"] == 61, "the rate-limited event")
    limited = [e for e in h if e["code"] == 61]
    check(len(limited) == 1 and "20 checks" in limited[0]["note"],
          "expected one rate-limited event counting 20 checks, got %s" % json.dumps(limited))


@suite.case
def address_burst_gets_429_other_address_answered(c):
    cfg = {"limit_address_rate": "1", "limit_address_burst": "50", "limit_device_burst": "0"}

    def run(srv, key):
        t0 = time.time()
        refused = 0
        for i in range(80):
            r = check_from(c, srv, imei(800 + i), key=key, version="2012.001.002")
            if r.status == 429:
                expect_429(r, "check %d from one address over its limit" % (i + 1))
                refused += 1
            else:
                expect_code(r, 27, "check %d from one address" % (i + 1))
            if i % 10 == 0 and i >= 60:
                expect_code(check_from(c, srv, imei(900 + i), source="127.0.0.2", key=key,
                                       version="2012.001.002"), 27,
                            "a check from another address while 127.0.0.1 is limited")
        slack = int(time.time() - t0) + 1
        check(30 - slack <= refused <= 30, "80 checks from one address (burst 50, 1/s, %.1f s): %d refused"
              % (time.time() - t0, refused))
    with_server(c, cfg, run)


@suite.case
def address_limit_behind_trusted_proxy(c):
    # behind a reverse proxy every check comes from its address: the limit
    # must apply to the client address it forwards
    cfg = {"trusted_proxies": "127.0.0.1", "limit_address_rate": "1", "limit_address_burst": "5",
           "limit_device_burst": "0"}

    def run(srv, key):
        statuses = []
        for i in range(8):
            r = check_from(c, srv, imei(8100 + i), key=key, version="2012.001.002",
                           headers=[("X-Forwarded-For", "198.51.100.7")])
            statuses.append(r.status)
        check(statuses.count(429) >= 2, "8 checks from one forwarded client (burst 5): %r" % statuses)
        r = check_from(c, srv, imei(8200), key=key, version="2012.001.002",
                       headers=[("X-Forwarded-For", "198.51.100.8")])
        expect_code(r, 27, "another forwarded client through the same proxy")
    with_server(c, cfg, run)


@suite.case
def new_devices_per_address_limited_unknown_key_creates_none(c):
    cfg = {"limit_new_devices_rate": "1", "limit_new_devices_burst": "20"}

    def run(srv, key):
        st, before, _ = srv.admin("GET", "/admin/v1/status")
        for i in range(200):
            r = check_from(c, srv, imei(5000 + i), key="MADEUPKEY%d" % (i % 3))
            expect_code(r, 25, "made-up device with an unknown key")
        st, after, _ = srv.admin("GET", "/admin/v1/status")
        check(after["devices"] == before["devices"],
              "200 checks with an unknown key created %d devices" % (after["devices"] - before["devices"]))
        refused = 0
        for i in range(40):
            r = check_from(c, srv, imei(6000 + i), key=key, version="2012.001.002")
            if r.status == 429:
                expect_429(r, "new device %d from one address" % (i + 1))
                refused += 1
        check(19 <= refused <= 20, "40 new devices from one address (burst 20): %d refused" % refused)
        # devices already known are not held back by the new-device limit
        expect_code(check_from(c, srv, imei(6000), key=key, version="2012.001.002"), 27, "a known device")
    with_server(c, cfg, run)


def loop_dev(c, dev, headers=(), method="GET"):
    return check_from(c, c.srv, dev, headers=headers, version="2012.001.001", method=method)


@suite.case
def loop_guard_counts_suffix_range_deliveries(c):
    dev = imei(1001)
    n = len(c.pkg)
    for i in range(6):
        r = loop_dev(c, dev, [("Range", "bytes=-%d" % n)])
        check(r.status == 206 and r.body == c.pkg, "suffix range %d: %s" % (i + 1, r.describe()))
    r = loop_dev(c, dev, [("Range", "bytes=-%d" % n)])
    expect_code(r, 40, "7th whole package fetched with a suffix range")


@suite.case
def loop_guard_counts_stale_if_range(c):
    dev = imei(1002)
    for i in range(6):
        r = loop_dev(c, dev, [("Range", "bytes=1-"), ("If-Range", '"0000000000000000"')])
        expect_package(r, c.pkg, "stale If-Range %d (whole package)" % (i + 1))
    r = loop_dev(c, dev, [("Range", "bytes=1-"), ("If-Range", '"0000000000000000"')])
    expect_code(r, 40, "7th whole package fetched with a stale If-Range")


@suite.case
def loop_guard_one_byte_ranges_do_not_ban(c):
    victim = imei(1003)
    for i in range(7):
        r = loop_dev(c, victim, [("Range", "bytes=0-0")])
        check(r.status == 206 and len(r.body) == 1, "one-byte range %d: %s" % (i + 1, r.describe()))
    r = loop_dev(c, victim)
    expect_package(r, c.pkg, "the device's own check after seven one-byte ranges in its name")


@suite.case
def download_cap_per_address(c):
    big = os.urandom(3 << 20)
    cfg = {"downloads_per_address": "2", "limit_device_burst": "0"}

    def run(srv, key):
        srv.upload_ok(key, big, "2012.001.003", firmware="BIG_FW")
        held = []
        try:
            for i in range(2):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                s.settimeout(10)
                s.connect(("127.0.0.1", srv.port))
                q = "imei=%s&project_key=%s&firmware_name=BIG_FW&version=2012.001.001" % (imei(2000 + i), key)
                s.sendall(module_bytes(srv.port, "/api/site/firmware_upgrade?" + q))
                first = s.recv(1024)
                check(first.startswith(b"HTTP/1.1 200"), "download %d did not start: %r" % (i + 1, first[:100]))
                held.append(s)
            q = "imei=%s&project_key=%s&firmware_name=BIG_FW&version=2012.001.001" % (imei(2010), key)
            r = srv.raw(module_bytes(srv.port, "/api/site/firmware_upgrade?" + q))
            check(r.status == 503 and r.code() == 62 and r.header("retry-after"),
                  "third download at once from one address: %s" % r.describe())
            r = check_from(c, srv, imei(2011), source="127.0.0.2", key=key)
            check(r.status == 200, "a download from another address: %s" % r.describe()[:200])
        finally:
            for s in held:
                s.close()
        deadline = time.time() + 10
        while time.time() < deadline:
            r = srv.raw(module_bytes(srv.port, "/api/site/firmware_upgrade?" + q))
            if r.status == 200:
                break
            time.sleep(0.2)
        check(r.status == 200, "download after the others ended: %s" % r.describe()[:200])
    with_server(c, cfg, run)


@suite.case
def project_device_cap(c):
    def run(srv, key):
        st, obj, raw = srv.admin("PATCH", "/admin/v1/projects/%s" % key, {"max_devices": 3})
        check(st == 200 and obj.get("max_devices") == 3, "PATCH max_devices: %s %r" % (st, raw[:300]))
        st, obj, raw = srv.admin("PATCH", "/admin/v1/projects/%s" % key, {"max_devices": -1})
        check(st == 422, "PATCH max_devices -1: %s %r" % (st, raw[:300]))
        codes = []
        for i in range(5):
            r = check_from(c, srv, imei(7000 + i), key=key, version="2012.001.002")
            expect_code(r, 27, "new device %d with a cap of 3" % (i + 1))
            codes.append(r.status)
        check(codes == [404] * 5, "statuses %r" % codes)
        st, status, _ = srv.admin("GET", "/admin/v1/status")
        check(status["devices"] == 3, "a project capped at 3 devices holds %s" % status["devices"])
        st, dv, _ = srv.admin("GET", "/admin/v1/devices/%s" % imei(7004))
        check(st == 404, "the refused 5th device was created: %s" % st)
        expect_code(check_from(c, srv, imei(7000), key=key, version="2012.001.002"), 27, "a device within the cap")
        r = srv.cli("project", "set", key, "--max-devices", "10")
        check(r.returncode == 0 and "10" in r.stdout, "openfota project set --max-devices: %s %s" % (r.stdout, r.stderr))
        check_from(c, srv, imei(7004), key=key, version="2012.001.002")
        st, dv, _ = srv.admin("GET", "/admin/v1/devices/%s" % imei(7004))
        check(st == 200, "a new device after the cap was raised: %s" % st)
    with_server(c, {}, run)


MASTER = bytes(range(1, 33))


def signed_report(srv, dev, body, t_ms=None, key=MASTER, mac=None):
    data = json.dumps(body).encode()
    t = str(t_ms if t_ms is not None else int(time.time() * 1000))
    dk = hmac.new(key, dev.encode(), hashlib.sha256).digest()
    auth = mac or hmac.new(dk, t.encode() + b"\n" + data, hashlib.sha256).hexdigest()
    req = ("POST /api/v1/device/status HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n"
           "Content-Type: application/json\r\nContent-Length: %d\r\nX-Openfota-Time: %s\r\n"
           "X-Openfota-Auth: %s\r\n\r\n" % (srv.port, len(data), t, auth))
    return srv.raw(req.encode() + data)


def plain_report(srv, body):
    data = json.dumps(body).encode()
    req = ("POST /api/v1/device/status HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n"
           "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % (srv.port, len(data)))
    return srv.raw(req.encode() + data)


@suite.case
def forged_reports_cannot_pause_a_rollout(c):
    srv = Server(c.srv.binary)
    kf = os.path.join(srv.data, "push.key")
    with open(kf, "w") as f:
        f.write(MASTER.hex() + "\n")
    os.chmod(kf, 0o600)
    srv.extra += ["--push-key-file", kf]
    try:
        srv.start()
        key = srv.add_project("rollout")
        pkg = srv.upload_ok(key, c.pkg, "2012.001.002")
        st, ro, raw = srv.admin("POST", "/admin/v1/rollouts",
                                {"package": str(pkg["id"]), "stages": [100], "abort_min": 5})
        check(st == 201, "POST /admin/v1/rollouts: %s %r" % (st, raw[:300]))
        rid = ro["id"]
        fake = [imei(3000 + i) for i in range(8)]
        for d in fake:
            r = check_from(c, srv, d, key=key, method="HEAD")
            check(r.status == 200, "HEAD check of a made-up IMEI: %s" % r.describe())
        body = lambda d: {"id": d, "version": "2012.001.002", "state": "failed", "reason": "x", "sha256": ""}
        for d in fake:
            r = plain_report(srv, body(d))
            check(r.status == 204, "unsigned report: %s" % r.describe())
        time.sleep(1.5)
        st, ro, raw = srv.admin("GET", "/admin/v1/rollouts/%s" % rid)
        check(st == 200 and ro["state"] == "running",
              "unsigned failed reports for made-up IMEIs paused the rollout: %r" % raw[:400])
        st, dv, raw = srv.admin("GET", "/admin/v1/devices/%s" % fake[0])
        check(any((e["note"] or "").startswith("unverified: ") for e in dv.get("history", [])),
              "unsigned report not kept as unverified history: %r" % raw[:600])
        # signatures: wrong key, stale time, replay are refused with 401
        d = fake[0]
        check(signed_report(srv, d, body(d), key=bytes(32)).status == 401, "report signed with another key")
        check(signed_report(srv, d, body(d), t_ms=int(time.time() * 1000) - 600000).status == 401,
              "report signed 10 minutes ago")
        t = int(time.time() * 1000)
        r = signed_report(srv, d, body(d), t_ms=t)
        check(r.status == 204, "signed report: %s" % r.describe())
        check(signed_report(srv, d, body(d), t_ms=t).status == 401, "replayed signed report")
        # signed failures from the devices themselves do pause it
        for d in fake[1:]:
            r = signed_report(srv, d, body(d))
            check(r.status == 204, "signed report of %s: %s" % (d, r.describe()))
        deadline = time.time() + 5
        while time.time() < deadline:
            st, ro, raw = srv.admin("GET", "/admin/v1/rollouts/%s" % rid)
            if ro.get("state") == "paused":
                break
            time.sleep(0.2)
        check(ro.get("state") == "paused", "signed failed reports did not pause the rollout: %r" % raw[:400])
        if DEVICE_CLIENT:
            # the device library signs with the key `openfota push key ID` prints
            d = imei(3100)
            check_from(c, srv, d, key=key, method="HEAD")
            kr = srv.cli("push", "key", d, "--key-file", kf)
            dk = kr.stdout.strip().split()[-1] if kr.returncode == 0 and kr.stdout.strip() else ""
            check(len(dk) == 64, "openfota push key %s: %r %r" % (d, kr.stdout, kr.stderr))
            url = srv.url + "/api/v1/device/status"
            out = subprocess.run([DEVICE_CLIENT, "report", url, d, dk, "2012.001.002", "downloading"],
                                 capture_output=True, text=True, timeout=30)
            check('"status":204' in out.stdout, "signed report from the device library: %r %r"
                  % (out.stdout, out.stderr))
            out = subprocess.run([DEVICE_CLIENT, "report", url, d, "00" * 32, "2012.001.002", "failed"],
                                 capture_output=True, text=True, timeout=30)
            check('"status":401' in out.stdout, "report signed with a wrong key: %r" % out.stdout)
            st, dv, raw = srv.admin("GET", "/admin/v1/devices/%s" % d)
            notes = [e["note"] for e in dv.get("history", []) if e["decision"] == "report"]
            check(any(n.startswith("device reports downloading") for n in notes),
                  "the signed report is not in the history as verified: %r" % notes)
    finally:
        srv.cleanup()


if __name__ == "__main__":
    sys.exit(main_with_server(suite, setup, config={"limit_device_interval": "3"}))

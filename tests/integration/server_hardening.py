#!/usr/bin/env python3
"""Issue 11, safe on the public internet: what an attacker on the network
can no longer do to the update server. Each case failed before its fix.

usage: server_hardening.py /path/to/openfota
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from ofharness import (FW, Suite, check, expect_code, expect_package,  # noqa: E402
                       main_with_server, module_bytes)
import luatbin  # noqa: E402

suite = Suite("server_hardening")


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


if __name__ == "__main__":
    sys.exit(main_with_server(suite, setup))

#!/usr/bin/env python3
"""Admin work never holds up device checks: admin requests run on a worker
of their own. The server runs with ONE listening worker (threads = 1), so
without that separation a blocked admin request would stall every check.

An admin write is blocked for the busy timeout (5 s) by another process
holding the database's write lock; meanwhile device checks, on new
connections and on a keep-alive connection opened before, are answered at
once; the admin write ends with 503, and succeeds after the lock is gone.

usage: server_isolation.py /path/to/openfota
"""
import os
import sqlite3
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from ofharness import (FW, Suite, check, expect_code, main_with_server,  # noqa: E402
                       module_bytes, parse_response)
import luatbin  # noqa: E402

suite = Suite("server_isolation")


class Ctx:
    pass


def setup(srv):
    c = Ctx()
    c.srv = srv
    c.key = srv.add_project("iso")
    srv.upload_ok(c.key, luatbin.build(luatbin.script_image(2000, seed=3)), "2012.1.2")
    c.latest = ("/api/site/firmware_upgrade?imei=860000000000001&project_key=%s"
                "&firmware_name=%s&version=2012.001.002" % (c.key, FW))
    return c


def keepalive_check(s, c):
    s.sendall(module_bytes(c.srv.port, c.latest).replace(b"Connection: Close\r\n", b""))
    buf = b""
    while True:
        r, _ = parse_response(buf)
        if r is not None and len(r.body) >= int(r.header("content-length") or 0):
            return r
        d = s.recv(65536)
        check(d, "keep-alive connection closed")
        buf += d


@suite.case
def checks_go_on_while_an_admin_request_is_blocked(c):
    ka = c.srv.connect()
    expect_code(keepalive_check(ka, c), 27, "keep-alive check before the lock")
    db = sqlite3.connect(os.path.join(c.srv.data, "openfota.db"), timeout=30, isolation_level=None,
                         check_same_thread=False)
    db.execute("BEGIN IMMEDIATE")
    result = {}

    def admin_write():
        t0 = time.time()
        result["st"], _, result["raw"] = c.srv.admin("POST", "/admin/v1/projects", {"name": "blocked"})
        result["s"] = time.time() - t0
    t = threading.Thread(target=admin_write)
    t.start()
    try:
        time.sleep(0.5)  # the admin request is now waiting on the lock
        slowest = 0.0
        for i in range(6):
            t0 = time.time()
            if i % 2:
                r = keepalive_check(ka, c)
            else:
                r = c.srv.raw(module_bytes(c.srv.port, c.latest), timeout=10)
            dt = time.time() - t0
            slowest = max(slowest, dt)
            expect_code(r, 27, "check %d while an admin request is blocked" % i)
        check(slowest < 1.5, "a device check took %.2f s while an admin request was blocked on the "
              "database (it must not wait for admin work)" % slowest)
        t.join(20)
        check(result.get("st") == 503, "the blocked admin write: %s %r" % (result.get("st"), result.get("raw")))
    finally:
        db.execute("ROLLBACK")
        db.close()
        ka.close()
    st, obj, raw = c.srv.admin("POST", "/admin/v1/projects", {"name": "after"})
    check(st == 201, "admin write after the lock: %s %r" % (st, raw))


if __name__ == "__main__":
    sys.exit(main_with_server(suite, setup, config={"threads": "1"}))

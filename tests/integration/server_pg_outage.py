#!/usr/bin/env python3
"""The PostgreSQL backend when the database goes away and comes back.

A cluster of its own (scripts/pg.sh; stopping the shared one would disturb
the other suites): the server runs with --db on it; the database is stopped
while the server runs. Admin requests are answered 503 "database
unavailable, retry" at once; device checks go on from memory; when the
database is back, the server reconnects by itself (no restart), admin
writes work again and the checks made during the outage are in the
device's history (the writer kept them queued). A server started while the
database is down refuses to start with a clear message.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from ofharness import FW, PG_ENV, Server, Suite, check  # noqa: E402
import luatbin  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PG = os.path.join(ROOT, "scripts", "pg.sh")
suite = Suite("server_pg_outage")


class Ctx:
    pass


def pg(cmd, d):
    r = subprocess.run([PG, cmd, d], capture_output=True, text=True, timeout=120)
    check(r.returncode == 0, "pg.sh %s: %s %s" % (cmd, r.stdout, r.stderr))
    return r.stdout.strip()


def history(c, dev):
    st, obj, raw = c.srv.admin("GET", "/admin/v1/devices/" + dev)
    return len(obj.get("history", [])) if st == 200 and obj else -1


@suite.case
def admin_503_checks_go_on_history_kept_reconnects(c):
    dev = "860000000000077"
    for v in ("2012.001.001", "2012.001.002"):
        r = c.srv.module_check(dev, c.key, FW, v)
        check(r.status in (200, 404, 409) or r.code() is not None, "check before the outage: %s" % r.describe())
    deadline = time.time() + 10
    while history(c, dev) < 2 and time.time() < deadline:
        time.sleep(0.2)
    before = history(c, dev)
    check(before >= 2, "history before the outage: %d events" % before)

    pg("pause", c.pgdir)
    try:
        t0 = time.time()
        st, obj, raw = c.srv.admin("POST", "/admin/v1/projects", {"name": "during-outage"})
        check(st == 503 and obj and "unavailable" in (obj.get("error", "") + obj.get("hint", "")),
              "admin write with the database down: expected 503 'database unavailable', got %s %r" % (st, raw))
        check(time.time() - t0 < 8, "the 503 took %.1fs" % (time.time() - t0))
        for i in range(6):
            r = c.srv.module_check(dev, c.key, FW, "2012.001.00%d" % (1 + i % 2))
            check(r.status < 500, "device check with the database down: %s" % r.describe())
        time.sleep(1.5)  # the writer tries (and fails) meanwhile
    finally:
        pg("resume", c.pgdir)

    deadline = time.time() + 30
    st = None
    while time.time() < deadline:
        st, obj, raw = c.srv.admin("POST", "/admin/v1/projects", {"name": "after-outage"})
        if st == 201:
            break
        time.sleep(0.5)
    check(st == 201, "admin write after the database came back: %s" % st)
    n = -1
    while time.time() < deadline:
        n = history(c, dev)
        if n >= before + 6:
            break
        time.sleep(0.3)
    check(n >= before + 6, "history after the outage: %d events, expected %d (the 6 checks made during the "
          "outage were lost)" % (n, before + 6))
    log = c.srv.log_text()
    check("connected again" in log, "the log does not say the database connection came back:\n" + log)


@suite.case
def start_refused_when_the_database_is_down(c):
    port = int(open(os.path.join(c.pgdir, "port")).read())
    data = tempfile.mkdtemp(prefix="openfota-pgdown-")
    try:
        r = subprocess.run([c.srv.binary, "serve", "--listen", "127.0.0.1:0", "--data", data, "--db",
                            "postgresql://openfota@127.0.0.1:%d/nosuchdb" % port],
                           capture_output=True, text=True, timeout=30)
        check(r.returncode == 1 and "cannot connect to the database" in r.stderr,
              "start on a missing database: exit %s, stderr %r" % (r.returncode, r.stderr))
    finally:
        shutil.rmtree(data, ignore_errors=True)


def main():
    c = Ctx()
    c.pgdir = tempfile.mkdtemp(prefix="openfota-pgout-")
    srv = None
    rc = 1
    try:
        pg("start", c.pgdir)
        os.environ[PG_ENV] = c.pgdir  # the harness gives the server a database there (--db)
        srv = Server(sys.argv[1])
        c.srv = srv
        srv.start()
        c.key = srv.add_project("outage")
        srv.upload_ok(c.key, luatbin.build(luatbin.script_image(3000, seed=5)), "2012.001.002")
        rc = suite.run(c)
        code = srv.stop()
        if code not in (0, None):
            print("FAIL server exited with %s after SIGTERM" % code)
            rc = 1
    except Exception as e:  # setup failures
        print("FAIL setup: %s" % e)
    finally:
        if rc and srv:
            print("---- server log (tail) ----\n" + srv.log_text())
        if srv:
            srv.cleanup()
        subprocess.run([PG, "stop", c.pgdir], capture_output=True, timeout=120)
        shutil.rmtree(c.pgdir, ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())

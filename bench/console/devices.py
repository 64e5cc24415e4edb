#!/usr/bin/env python3
"""Benchmark (not a test): the console's device table at 100,000 devices.

Creates a project through the admin API, writes N device rows straight into
the store (SQLite, the same columns the server writes), restarts the server
so it loads them, then times GET /admin/v1/devices as the console calls it:
the first page, a filtered page, and a search by part of an ID. Each query
runs R times on one keep-alive connection; prints median and worst, in ms.

usage: devices.py /path/to/openfota [N] [R]
"""
import http.client
import os
import random
import sqlite3
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "integration", "lib"))
from ofharness import FW, Server  # noqa: E402


def main():
    binary = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 100000
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 20
    srv = Server(binary)
    srv.start()
    key = srv.add_project("bench")
    srv.stop()
    db = sqlite3.connect(os.path.join(srv.data, "openfota.db"))
    pid = db.execute("SELECT id FROM projects WHERE key = ?", (key,)).fetchone()[0]
    rnd = random.Random(1)
    now = int(time.time())
    rows = []
    for i in range(n):
        ident = "86%013d" % rnd.randrange(10 ** 13)
        fw = FW if i % 4 else FW + "_B"
        rows.append((ident, pid, fw, 1, 1, 2012, 1, rnd.choice((1, 2, 3)), int(i % 997 == 0), int(i % 1499 == 0),
                     now if i % 1499 == 0 else 0, 0, now // 86400, now - rnd.randrange(86400 * 7), 27,
                     int(i % 211 == 0), 0, 0, 0, 0))
    db.executemany("INSERT OR IGNORE INTO devices VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
    db.commit()
    total = db.execute("SELECT count(*) FROM devices").fetchone()[0]
    db.close()
    srv.start()
    queries = [
        ("first page (sort by ID, 50 rows)", "/admin/v1/devices?limit=50&offset=0&sort=id&order=asc"),
        ("first page sorted by last seen", "/admin/v1/devices?limit=50&sort=last_seen&order=desc"),
        ("filtered page (project, firmware, version, page 3)",
         "/admin/v1/devices?limit=50&offset=100&project=%s&firmware=%s&version=2012.001.002" % (key, FW)),
        ("filtered page (state=failed)", "/admin/v1/devices?limit=50&state=failed"),
        ("search by part of an ID (q=12345)", "/admin/v1/devices?limit=50&q=12345"),
    ]
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=60)
    hdr = {"Authorization": "Bearer " + srv.token}
    print("devices in the table: %d" % total)
    print("| query | matching | median ms | worst ms |")
    print("|---|---|---|---|")
    import json
    for label, path in queries:
        times = []
        matched = 0
        for _ in range(rounds):
            t0 = time.perf_counter()
            conn.request("GET", path, headers=hdr)
            r = conn.getresponse()
            body = r.read()
            times.append((time.perf_counter() - t0) * 1000)
            if r.status != 200:
                print("GET %s: %s %r" % (path, r.status, body[:200]))
                srv.stop()
                return 1
            matched = json.loads(body)["total"]
        print("| %s | %d | %.1f | %.1f |" % (label, matched, statistics.median(times), max(times)))
    conn.close()
    srv.stop()
    srv.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())

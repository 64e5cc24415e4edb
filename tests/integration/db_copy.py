#!/usr/bin/env python3
"""`openfota db copy --from sqlite:DIR --to postgresql://...`: an installation
moved from SQLite to PostgreSQL without loss.

A server on SQLite gets projects (one deleted, so ids have gaps), firmware,
packages, a static file, listed devices, devices with history (one
forbidden), and, written into the file while it is stopped, signed facts,
delta rows and a setting in meta. After the copy every table is compared
row by row (counts and content, ids included). A server on the copy with the
same data folder serves the same packages and numbers new rows after the
copied ids (sequences advanced). A second copy into the now non-empty
database is refused and changes nothing.

The PostgreSQL cluster is the CTest fixture's (OPENFOTA_TEST_PG_CLUSTER =
the folder of `scripts/pg.sh start`).
"""
import os
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import ofharness  # noqa: E402
from ofharness import FW, Server, Suite, check, expect_package  # noqa: E402
import luatbin  # noqa: E402

suite = Suite("db_copy")


class Ctx:
    pass


def imei(n):
    return "86%013d" % n


def sqlite_rows(path, table, cols):
    db = sqlite3.connect(path)
    try:
        rows = db.execute("SELECT %s FROM %s" % (", ".join(cols), table)).fetchall()
    finally:
        db.close()
    return sorted(tuple("<NULL>" if v is None else str(v) for v in r) for r in rows)


def pg_rows(uri, table, cols):
    # one JSON object per row: values with tabs or newlines stay on one line
    import json
    r = subprocess.run(["psql", "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", uri, "-c",
                        "SELECT row_to_json(t) FROM (SELECT %s FROM %s) t" % (", ".join(cols), table)],
                       capture_output=True, text=True, timeout=60)
    check(r.returncode == 0, "psql %s: %s" % (table, r.stderr))
    rows = [json.loads(ln) for ln in r.stdout.splitlines() if ln != ""]
    return sorted(tuple("<NULL>" if o[k] is None else str(o[k]) for k in cols) for o in rows)


def tables(path):
    db = sqlite3.connect(path)
    try:
        names = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'"
                                          " AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        return {n: [r[1] for r in db.execute("PRAGMA table_info(%s)" % n)] for n in names}
    finally:
        db.close()


@suite.case
def every_table_equal_row_by_row(c):
    tabs = tables(c.dbfile)
    for t in ("projects", "firmware", "packages", "files", "listed_devices", "devices", "events",
              "signed_packages", "deltas", "meta"):
        check(t in tabs, "table %s missing from the source" % t)
    for t, cols in tabs.items():
        a = sqlite_rows(c.dbfile, t, cols)
        b = pg_rows(c.uri, t, cols)
        check(len(a) == len(b), "table %s: %d rows in SQLite, %d in PostgreSQL" % (t, len(a), len(b)))
        check(a == b, "table %s differs: first difference %r" % (
            t, next(((x, y) for x, y in zip(a, b) if x != y), None)))
        if t in ("projects", "packages", "events", "devices", "listed_devices", "signed_packages", "deltas"):
            check(len(a) > 0, "table %s is empty: the test copied nothing there" % t)


@suite.case
def server_on_the_copy_serves_the_same_and_numbers_after(c):
    srv = Server(c.binary, data=c.data, extra=["--db", c.uri])
    srv.start()
    try:
        st, obj, raw = srv.admin("GET", "/admin/v1/projects")
        keys = sorted(p["key"] for p in (obj.get("projects") if isinstance(obj, dict) else obj) or [])
        check(keys == sorted(c.keys), "projects on the copy: %r, expected %r" % (keys, sorted(c.keys)))
        r = srv.module_check(imei(500), c.keys[0], FW, "2012.001.001")
        expect_package(r, c.pkg, "device check on the copy")
        st, obj, raw = srv.admin("GET", "/admin/v1/devices/" + imei(3))
        check(st == 200 and obj.get("forbidden") is True and len(obj.get("history", [])) >= 2,
              "forbidden device with history on the copy: %s %r" % (st, raw[:300]))
        st, obj, raw = srv.admin("POST", "/admin/v1/projects", {"name": "after-copy"})
        check(st == 201, "new project on the copy: %s %r" % (st, raw))
        ids = pg_rows(c.uri, "projects", ["id", "name"])
        new = [int(i) for i, n in ids if n == "after-copy"]
        check(new and new[0] > c.max_project_id,
              "new project id %r is not after the copied ids (max %d): the sequence was not advanced"
              % (new, c.max_project_id))
    finally:
        srv.stop()


@suite.case
def copy_into_a_non_empty_database_is_refused(c):
    before = pg_rows(c.uri, "projects", ["id", "key"])
    r = subprocess.run([c.binary, "db", "copy", "--from", "sqlite:" + c.data, "--to", c.uri],
                       capture_output=True, text=True, timeout=120)
    check(r.returncode == 1 and "already holds data" in r.stderr,
          "second copy: exit %s, stderr %r" % (r.returncode, r.stderr))
    check(pg_rows(c.uri, "projects", ["id", "key"]) == before, "the refused copy changed the destination")


@suite.case
def bad_arguments_are_explained(c):
    for args, want in ((["--from", c.data, "--to", c.uri], "sqlite:DIR"),
                       (["--from", "sqlite:" + c.data, "--to", "mysql://x"], "postgresql://"),
                       (["--from", "sqlite:/nonexistent-dir", "--to", c.uri], "no database at")):
        r = subprocess.run([c.binary, "db", "copy"] + args, capture_output=True, text=True, timeout=60)
        check(r.returncode in (1, 2) and want in r.stderr, "db copy %r: exit %s, stderr %r"
              % (args, r.returncode, r.stderr))


def populate(c):
    srv = Server(c.binary, data=c.data)
    srv.start()
    try:
        k1 = srv.add_project("one")
        gone = srv.add_project("gone")
        st, _, raw = srv.admin("DELETE", "/admin/v1/projects/" + gone)
        check(st in (200, 204), "delete project: %s %r" % (st, raw))
        k2 = srv.add_project("two")
        st, _, raw = srv.admin("PATCH", "/admin/v1/projects/" + k2, {"listed_only": True})
        check(st == 200, "patch project: %s %r" % (st, raw))
        st, _, raw = srv.admin("POST", "/admin/v1/projects/%s/devices" % k2, {"ids": [imei(7), imei(8)]})
        check(st in (200, 201), "list devices: %s %r" % (st, raw))
        c.pkg = luatbin.build(luatbin.script_image(5000, seed=11))
        srv.upload_ok(k1, c.pkg, "2012.001.002")
        srv.upload_ok(k2, luatbin.build(luatbin.script_image(4000, seed=12)), "2012.001.003")
        st, _, raw = srv.admin("PUT", "/admin/v1/files/readme.txt", raw=b"hello")
        check(st in (200, 201), "put file: %s %r" % (st, raw))
        for n in range(1, 6):
            srv.module_check(imei(n), k1, FW, "2012.001.001")
            srv.module_check(imei(n), k1, FW, "2012.001.002")
        st, _, raw = srv.admin("POST", "/admin/v1/devices/%s/forbid" % imei(3))
        check(st == 200, "forbid: %s %r" % (st, raw))
        deadline = time.time() + 10
        while time.time() < deadline:
            st, obj, _ = srv.admin("GET", "/admin/v1/devices/" + imei(5))
            if st == 200 and len(obj.get("history", [])) >= 2:
                break
            time.sleep(0.2)
        c.keys = [k1, k2]
    finally:
        code = srv.stop()
        check(code == 0, "source server stop: exit %s" % code)
    # rows the API makes only with signing keys: written directly, as the
    # copy is of rows, not of meanings
    db = sqlite3.connect(c.dbfile)
    pid = db.execute("SELECT MAX(id) FROM packages").fetchone()[0]
    db.execute("INSERT INTO signed_packages (package_id, kind, counter, result_len, result_sha256)"
               " VALUES (?, 2, 7, 12345, ?)", (pid, "ab" * 32))
    db.execute("INSERT INTO deltas VALUES (?, ?, 1, 999, 5000, ?, 1700000000)", (pid - 1, pid, "cd" * 32))
    db.execute("INSERT INTO deltas VALUES (?, ?, 2, 6000, 5000, '', 1700000001)", (pid, pid - 1))
    db.execute("INSERT INTO meta VALUES ('test_setting', ?)", ("tab\tbackslash\\newline\nend",))
    db.commit()
    c.max_project_id = db.execute("SELECT MAX(id) FROM projects").fetchone()[0]
    db.close()


def main():
    if len(sys.argv) < 2:
        print("usage: db_copy.py /path/to/openfota", file=sys.stderr)
        return 2
    cluster = os.environ.get("OPENFOTA_TEST_PG_CLUSTER")
    if not cluster:
        print("db_copy: OPENFOTA_TEST_PG_CLUSTER is not set (the folder of scripts/pg.sh start)")
        return 1
    os.environ[ofharness.PG_ENV] = cluster
    uri = ofharness.pg_new_database()
    os.environ.pop(ofharness.PG_ENV, None)  # the source server runs on SQLite
    c = Ctx()
    c.binary = sys.argv[1]
    c.uri = uri
    import tempfile
    import shutil
    c.data = tempfile.mkdtemp(prefix="openfota-dbcopy-")
    c.dbfile = os.path.join(c.data, "openfota.db")
    rc = 1
    try:
        populate(c)
        r = subprocess.run([c.binary, "db", "copy", "--from", "sqlite:" + c.data, "--to", c.uri],
                           capture_output=True, text=True, timeout=300)
        print(r.stdout, end="")
        check(r.returncode == 0, "db copy: exit %s, stderr %r" % (r.returncode, r.stderr))
        rc = suite.run(c)
    except Exception as e:
        print("FAIL setup: %s" % e)
    finally:
        try:
            ofharness.pg_drop_database(uri)
        except Exception:
            pass
        shutil.rmtree(c.data, ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Schema migrations on both backends.

For every tests/fixtures/schema/<backend>_vN.sql (a database as schema
version N made it, with rows), the current server starts on it: the rows
are there (project, listed device, device with its history, static file),
a new project is added, a new package does not take an id the history
still names, and the database records the latest schema version
— the same on SQLite and PostgreSQL. On PostgreSQL two servers started at
the same moment on one fresh database both come up (the schema is created
under an advisory lock) and the version is recorded once.

The PostgreSQL cluster is the CTest fixture's (OPENFOTA_TEST_PG_CLUSTER).
"""
import glob
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import ofharness  # noqa: E402
from ofharness import Server, Suite, check  # noqa: E402
import luatbin  # noqa: E402

FIX = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures", "schema")
KEY = "v1fixturekey0000000000000000001"
DEV = "860000000000101"
suite = Suite("store_migrate")


class Ctx:
    pass


def fixtures(backend):
    out = []
    for p in glob.glob(os.path.join(FIX, backend + "_v*.sql")):
        out.append((int(re.search(r"_v(\d+)\.sql$", p).group(1)), p))
    return sorted(out)


def psql(uri, *args):
    r = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", uri] + list(args),
                       capture_output=True, text=True, timeout=60)
    check(r.returncode == 0, "psql %r: %s" % (args, r.stderr))
    return r.stdout.strip()


def check_rows(srv, what):
    st, obj, raw = srv.admin("GET", "/admin/v1/projects/" + KEY)
    check(st == 200 and obj.get("name") == "from-v1", "%s: project from the old database: %s %r" % (what, st, raw))
    st, obj, raw = srv.admin("GET", "/admin/v1/devices/" + DEV)
    check(st == 200 and obj.get("forbidden") is True and len(obj.get("history", [])) == 2,
          "%s: device with its 2 history events: %s %r" % (what, st, raw[:300]))
    st, obj, raw = srv.admin("POST", "/admin/v1/projects", {"name": "after-migration"})
    check(st == 201, "%s: a new project after the migration: %s %r" % (what, st, raw))
    obj = srv.upload_ok(KEY, luatbin.build(luatbin.script_image(2000, seed=4)), "2012.001.002")
    check(obj["id"] > 9, "%s: package id %s given although the history names package 9" % (what, obj["id"]))


@suite.case
def sqlite_every_earlier_version(c):
    fx = fixtures("sqlite")
    check(fx, "no SQLite schema fixtures in " + FIX)
    for ver, path in fx:
        data = tempfile.mkdtemp(prefix="openfota-mig-")
        try:
            db = sqlite3.connect(os.path.join(data, "openfota.db"))
            db.executescript(open(path).read())
            db.close()
            srv = Server(c.binary, data=data, extra=["--retention-days", "36500"])  # fixture rows are old
            srv.start()
            try:
                check_rows(srv, "SQLite v%d" % ver)
            finally:
                check(srv.stop() == 0, "server on the migrated SQLite v%d database did not stop cleanly" % ver)
            db = sqlite3.connect(os.path.join(data, "openfota.db"))
            got = int(db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0])
            db.close()
            check(got >= ver, "SQLite v%d: schema_version %d after the migration" % (ver, got))
            c.versions.append(("sqlite", ver, got))
        finally:
            shutil.rmtree(data, ignore_errors=True)


@suite.case
def postgresql_every_earlier_version(c):
    fx = fixtures("postgresql")
    check(fx, "no PostgreSQL schema fixtures in " + FIX)
    for ver, path in fx:
        data = tempfile.mkdtemp(prefix="openfota-mig-")
        uri = ofharness.pg_new_database()
        try:
            psql(uri, "-f", path)
            srv = Server(c.binary, data=data, extra=["--db", uri, "--retention-days", "36500"])
            srv.start()
            try:
                check_rows(srv, "PostgreSQL v%d" % ver)
            finally:
                check(srv.stop() == 0, "server on the migrated PostgreSQL v%d database did not stop cleanly" % ver)
            got = int(psql(uri, "-c", "SELECT value FROM meta WHERE key = 'schema_version'"))
            check(got >= ver, "PostgreSQL v%d: schema_version %d after the migration" % (ver, got))
            c.versions.append(("postgresql", ver, got))
        finally:
            ofharness.pg_drop_database(uri)
            shutil.rmtree(data, ignore_errors=True)


@suite.case
def both_backends_reach_the_same_version(c):
    latest = {b: v for b, _, v in c.versions}
    check(len(latest) == 2 and latest["sqlite"] == latest["postgresql"],
          "latest schema versions differ between the backends: %r" % latest)


@suite.case
def two_servers_starting_together_on_a_fresh_database(c):
    uri = ofharness.pg_new_database()
    dirs = [tempfile.mkdtemp(prefix="openfota-mig2-") for _ in range(2)]
    procs = []
    try:
        # both processes open the store at once; each stops after a clean start
        for d in dirs:
            procs.append(subprocess.Popen([c.binary, "serve", "--listen", "127.0.0.1:0", "--data", d, "--db", uri],
                                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
        import time
        deadline = time.time() + 30
        while time.time() < deadline and not all(os.path.exists(os.path.join(d, "serve.json")) for d in dirs):
            if any(p.poll() is not None for p in procs):
                break
            time.sleep(0.05)
        for p in procs:
            if p.poll() is None:
                p.terminate()
        outs = [p.communicate(timeout=30)[0] for p in procs]
        for p, out in zip(procs, outs):
            check(p.returncode == 0, "a server starting together with another: exit %s\n%s" % (p.returncode, out))
        n = psql(uri, "-c", "SELECT COUNT(*) FROM meta WHERE key = 'schema_version'")
        check(n == "1", "schema_version rows: %s" % n)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
        ofharness.pg_drop_database(uri)
        for d in dirs:
            shutil.rmtree(d, ignore_errors=True)


def main():
    cluster = os.environ.get("OPENFOTA_TEST_PG_CLUSTER")
    if len(sys.argv) < 2 or not cluster:
        print("usage: OPENFOTA_TEST_PG_CLUSTER=DIR store_migrate.py /path/to/openfota")
        return 2
    c = Ctx()
    c.binary = sys.argv[1]
    c.versions = []
    os.environ[ofharness.PG_ENV] = cluster  # for pg_new_database
    base = ofharness.pg_base_uri()
    os.environ.pop(ofharness.PG_ENV, None)  # servers get --db explicitly
    ofharness.pg_base_uri = lambda: base
    return suite.run(c)


if __name__ == "__main__":
    sys.exit(main())

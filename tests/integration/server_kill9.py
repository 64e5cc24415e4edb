#!/usr/bin/env python3
"""kill -9 during a burst of device checks, package uploads and file puts;
restart on the same data folder; the database passes PRAGMA integrity_check
and every upload the server acknowledged (201) is there with the right
sha256, served byte for byte. Three rounds, killed at different moments.

usage: server_kill9.py /path/to/openfota
"""
import glob
import hashlib
import http.client
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from ofharness import (FW, Failure, Server, check, expect_package)  # noqa: E402
import luatbin  # noqa: E402

ROUNDS = 3


def db_files(data):
    out = []
    for pat in ("*.db", "*.sqlite", "*.sqlite3", "*/*.db"):
        out += glob.glob(os.path.join(data, pat))
    return sorted(set(out))


def integrity(data, what):
    dbs = db_files(data)
    check(dbs, "%s: no SQLite database (*.db) in the data folder %s: %r"
          % (what, data, os.listdir(data)))
    for db in dbs:
        r = subprocess.run(["sqlite3", db, "PRAGMA integrity_check;"], capture_output=True,
                           text=True, timeout=60)
        check(r.returncode == 0 and r.stdout.strip() == "ok",
              "%s: PRAGMA integrity_check on %s: %r %r" % (what, db, r.stdout[:500], r.stderr))


def stored_files_sound(data, what):
    """After a restart: no temp file left from the killed uploads, and every
    content-addressed file (named by a SHA-256) holds exactly that content
    (no torn write was renamed into place)."""
    import re
    known = {"admin.token", "serve.json", "serve.lock", "test-server.log", "disk-reserve"}
    hexname = re.compile(r"^[0-9a-f]{64}$")
    for root, _dirs, files in os.walk(data):
        for f in files:
            p = os.path.join(root, f)
            if f in known or f.endswith((".db", "-wal", "-shm", "-journal", ".conf")):
                continue
            if hexname.match(f):
                h = hashlib.sha256()
                with open(p, "rb") as fh:
                    for block in iter(lambda: fh.read(1 << 20), b""):
                        h.update(block)
                check(h.hexdigest() == f, "%s: stored file %s does not hold the content its name "
                      "says (sha256 %s)" % (what, os.path.relpath(p, data), h.hexdigest()))
            else:
                raise Failure("%s: file left in the data folder after restart: %s"
                              % (what, os.path.relpath(p, data)))


class Burst:
    def __init__(self, srv, key, pkg, round_no):
        self.srv = srv
        self.port = srv.port
        self.token = srv.token
        self.key = key
        self.pkg = pkg
        self.round = round_no
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.acked = []        # (kind, name/firmware, sha256, data)
        self.checks_ok = 0
        self.errors = []

    def checker(self, n):
        i = 0
        while not self.stop.is_set():
            i += 1
            try:
                r = self.srv.module_check("86%06d%07d" % (self.round * 100 + n, i % 50), self.key,
                                          FW, "2012.001.001", timeout=5)
                if r.status == 200 and r.body != self.pkg:
                    self.errors.append("check answered 200 with wrong bytes")
                with self.lock:
                    self.checks_ok += 1
            except Exception:
                pass

    def uploader(self, n):
        i = 0
        while not self.stop.is_set():
            i += 1
            fw = "KILL_R%d_U%d_%d" % (self.round, n, i)
            data = luatbin.script_image(random.randint(20000, 200000),
                                        seed=self.round * 100000 + n * 1000 + i)
            q = urllib.parse.urlencode({"firmware": fw, "version": "1.0.1", "filename": "x.img"})
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                conn.request("POST", "/admin/v1/projects/%s/packages?%s" % (self.key, q), body=data,
                             headers={"Authorization": "Bearer " + self.token,
                                      "Content-Type": "application/octet-stream"})
                r = conn.getresponse()
                r.read()
                conn.close()
                if r.status == 201:
                    with self.lock:
                        self.acked.append(("package", fw, hashlib.sha256(data).hexdigest(), data))
            except Exception:
                pass

    def putter(self):
        i = 0
        while not self.stop.is_set():
            i += 1
            name = "kill-r%d-%d.bin" % (self.round, i)
            data = luatbin.script_image(random.randint(1000, 50000), seed=self.round * 7 + i)
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                conn.request("PUT", "/admin/v1/files/" + name, body=data,
                             headers={"Authorization": "Bearer " + self.token,
                                      "Content-Type": "application/octet-stream"})
                r = conn.getresponse()
                r.read()
                conn.close()
                if r.status == 201:
                    with self.lock:
                        self.acked.append(("file", name, hashlib.sha256(data).hexdigest(), data))
            except Exception:
                pass

    def run(self, kill_after):
        threads = [threading.Thread(target=self.checker, args=(n,)) for n in range(4)]
        threads += [threading.Thread(target=self.uploader, args=(n,)) for n in range(3)]
        threads.append(threading.Thread(target=self.putter))
        for t in threads:
            t.daemon = True
            t.start()
        time.sleep(kill_after)
        self.srv.kill9()
        self.stop.set()
        for t in threads:
            t.join(15)


def verify_acked(srv, key, acked, what):
    st, obj, raw = srv.admin("GET", "/admin/v1/packages?project=" + key)
    check(st == 200, "%s: package list: %s %r" % (what, st, raw[:200]))
    listed = {(p["firmware"], p["sha256"]) for p in obj["packages"]}
    for i, (kind, name, sha, data) in enumerate(acked):
        if kind == "package":
            check((name, sha) in listed, "%s: acknowledged upload %s (sha256 %s) is missing after "
                  "kill -9 and restart" % (what, name, sha))
            r = srv.module_check("8699%011d" % i, key, name, "1.0.0")
            expect_package(r, data, "%s: delivery of acknowledged upload %s" % (what, name))
        else:
            r = srv.get("/download/" + name)
            check(r.status == 200 and hashlib.sha256(r.body).hexdigest() == sha,
                  "%s: acknowledged file %s missing or wrong after kill -9: %s"
                  % (what, name, r.describe()))


def main():
    if len(sys.argv) < 2:
        print("usage: server_kill9.py /path/to/openfota", file=sys.stderr)
        return 2
    data = tempfile.mkdtemp(prefix="openfota-kill9-")
    random.seed(1234)
    srv = Server(sys.argv[1], data=data)
    rc = 1
    all_acked = []
    try:
        srv.start()
        key = srv.add_project("kill9")
        pkg = luatbin.build(luatbin.script_image(8000, seed=51))
        srv.upload_ok(key, pkg, "2012.1.2")
        for rnd in range(1, ROUNDS + 1):
            burst = Burst(srv, key, pkg, rnd)
            kill_after = [1.5, 2.7, 0.8][rnd - 1]
            burst.run(kill_after)
            all_acked += burst.acked
            print("round %d: killed -9 after %.1fs; %d checks answered, %d uploads acknowledged"
                  % (rnd, kill_after, burst.checks_ok, len(burst.acked)), flush=True)
            check(not burst.errors, "round %d: %s" % (rnd, burst.errors[:3]))
            check(burst.checks_ok > 0, "round %d: no device check was answered during the burst"
                  % rnd)
            srv = Server(sys.argv[1], data=data)
            srv.start()
            integrity(data, "round %d after restart" % rnd)
            stored_files_sound(data, "round %d after restart" % rnd)
            verify_acked(srv, key, all_acked, "round %d" % rnd)
            print("PASS round %d: database ok, %d acknowledged uploads present" % (rnd, len(all_acked)),
                  flush=True)
        check(any(k == "package" for k, *_ in all_acked), "no upload was acknowledged in any round "
              "(the test proved nothing)")
        code = srv.stop()
        check(code == 0, "server exit status after SIGTERM: %s" % code)
        integrity(data, "after a clean stop")
        print("PASS server_kill9: %d rounds, %d acknowledged uploads all present"
              % (ROUNDS, len(all_acked)))
        rc = 0
    except Failure as e:
        print("FAIL %s" % e)
        print("---- server log (tail) ----\n" + srv.log_text())
    finally:
        try:
            srv.stop()
        except Failure:
            pass
        if os.environ.get("OPENFOTA_KEEP_DATA") is None:
            shutil.rmtree(data, ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())

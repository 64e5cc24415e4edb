"""Running openfota as a service: GET /healthz and GET /readyz without a
token, the systemd notify protocol (READY=1, WATCHDOG=1, STOPPING=1) through
a fake NOTIFY_SOCKET, /readyz turning 503 while the database is locked by
another process, the admin token shown on the first start only, and log
lines with a syslog priority when stderr is the journal.

Usage: ops_health.py /path/to/openfota   (python3 stdlib only)
"""
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from ofharness import Failure, Server, Suite, check  # noqa: E402

suite = Suite("ops_health")


class NotifySocket:
    """A unix datagram socket standing in for systemd's notify socket."""

    def __init__(self, tmp):
        self.path = os.path.join(tmp, "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.msgs = []

    def collect(self, seconds, until=None):
        deadline = time.time() + seconds
        while time.time() < deadline:
            self.sock.settimeout(max(0.01, deadline - time.time()))
            try:
                m = self.sock.recv(4096).decode()
            except socket.timeout:
                break
            self.msgs.append(m)
            if until and until in self.msgs:
                break
        return self.msgs

    def close(self):
        self.sock.close()


def server_with_env(binary, env_extra, data=None):
    srv = Server(binary, data=data)
    old = dict(os.environ)
    os.environ.update(env_extra)
    try:
        srv.start()
    finally:
        os.environ.clear()
        os.environ.update(old)
    return srv


@suite.case
def healthz_and_readyz_answer_without_token(ctx):
    srv = ctx["srv"]
    for path, want in (("/healthz", b'"status":"alive"'), ("/readyz", b'"ready":true')):
        r = srv.get(path)
        check(r.status == 200 and want in r.body, "GET %s without a token: expected 200 with %s, got %s"
              % (path, want, r.describe()))
        check(r.header("cache-control") == "no-store", "GET %s: Cache-Control %r, expected no-store"
              % (path, r.header("cache-control")))
        r = srv.get(path, method="HEAD")
        check(r.status == 200, "HEAD %s: expected 200, got %s" % (path, r.describe()))
        r = srv.get(path, method="POST", headers=[("Content-Length", "0")])
        check(r.status == 405, "POST %s: expected 405, got %s" % (path, r.describe()))
    r = srv.get("/healthzz")
    check(r.status == 404, "GET /healthzz: expected 404, got %s" % r.describe())


@suite.case
def readyz_is_503_while_the_database_is_locked(ctx):
    srv = ctx["srv"]
    db = sqlite3.connect(os.path.join(srv.data, "openfota.db"), timeout=30, isolation_level=None)
    try:
        db.execute("BEGIN EXCLUSIVE")   # another process holds the write lock
        deadline = time.time() + 40
        r = None
        while time.time() < deadline:
            r = srv.get("/readyz")
            if r.status == 503:
                break
            time.sleep(0.5)
        check(r.status == 503 and b'"ready":false' in r.body and b"database" in r.body,
              "GET /readyz with the database locked for 40 s: expected 503 naming the database, got %s"
              % r.describe())
        r = srv.get("/healthz")
        check(r.status == 200, "GET /healthz while the database is locked: expected 200 (alive), got %s"
              % r.describe())
    finally:
        db.execute("ROLLBACK")
        db.close()
    deadline = time.time() + 30
    while time.time() < deadline:
        r = srv.get("/readyz")
        if r.status == 200:
            break
        time.sleep(0.5)
    check(r.status == 200, "GET /readyz after the lock was released: expected 200 again, got %s" % r.describe())


@suite.case
def notify_ready_watchdog_stopping(ctx):
    tmp = tempfile.mkdtemp(prefix="openfota-notify-")
    ns = NotifySocket(tmp)
    srv = None
    try:
        srv = server_with_env(ctx["binary"], {"NOTIFY_SOCKET": ns.path, "WATCHDOG_USEC": "500000"})
        msgs = ns.collect(3)
        check("READY=1" in msgs, "under a fake NOTIFY_SOCKET: no READY=1 (got %r)" % msgs[:10])
        n = msgs.count("WATCHDOG=1")
        check(n >= 4, "WATCHDOG_USEC=500000 for 3 s: expected at least 4 WATCHDOG=1 (one per 250 ms), got %d: %r"
              % (n, msgs[:20]))
        check(msgs.index("READY=1") < msgs.index("WATCHDOG=1"), "WATCHDOG=1 came before READY=1: %r" % msgs[:5])
        code = srv.stop()
        check(code == 0, "server exit status %s after SIGTERM" % code)
        msgs = ns.collect(2, until="STOPPING=1")
        check("STOPPING=1" in msgs, "no STOPPING=1 at stop (got %r)" % msgs[-5:])
    finally:
        if srv:
            srv.cleanup()
        ns.close()
        subprocess.run(["rm", "-rf", tmp])


@suite.case
def watchdog_over_https_only(ctx):
    """With --listen none the watchdog asks /healthz over the HTTPS listener."""
    tmp = tempfile.mkdtemp(prefix="openfota-notify-")
    ns = NotifySocket(tmp)
    srv = None
    try:
        crt, key = os.path.join(tmp, "c.pem"), os.path.join(tmp, "k.pem")
        r = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                            "-nodes", "-keyout", key, "-out", crt, "-days", "2", "-subj", "/CN=localhost"],
                           capture_output=True, timeout=30)
        check(r.returncode == 0, "openssl req: %s" % r.stderr.decode())
        srv = Server(ctx["binary"], extra=["--listen", "none", "--tls-listen", "127.0.0.1:0",
                                           "--tls-cert", crt, "--tls-key", key])
        old = dict(os.environ)
        os.environ.update({"NOTIFY_SOCKET": ns.path, "WATCHDOG_USEC": "400000"})
        try:
            srv.start()
        finally:
            os.environ.clear()
            os.environ.update(old)
        msgs = ns.collect(2)
        check("READY=1" in msgs, "HTTPS only: no READY=1 (got %r)" % msgs[:10])
        n = msgs.count("WATCHDOG=1")
        check(n >= 3, "HTTPS only, WATCHDOG_USEC=400000 for 2 s: expected at least 3 WATCHDOG=1, got %d (%r); log:\n%s"
              % (n, msgs[:10], srv.log_text()))
    finally:
        if srv:
            srv.cleanup()
        ns.close()
        subprocess.run(["rm", "-rf", tmp])


@suite.case
def watchdog_for_another_pid_is_ignored(ctx):
    tmp = tempfile.mkdtemp(prefix="openfota-notify-")
    ns = NotifySocket(tmp)
    srv = None
    try:
        srv = server_with_env(ctx["binary"], {"NOTIFY_SOCKET": ns.path, "WATCHDOG_USEC": "200000",
                                              "WATCHDOG_PID": "1"})
        msgs = ns.collect(1.5)
        check("READY=1" in msgs, "no READY=1 (got %r)" % msgs[:10])
        check("WATCHDOG=1" not in msgs, "WATCHDOG_PID names another process, yet WATCHDOG=1 was sent: %r" % msgs)
    finally:
        if srv:
            srv.cleanup()
        ns.close()
        subprocess.run(["rm", "-rf", tmp])


@suite.case
def admin_token_shown_on_first_start_only(ctx):
    srv = Server(ctx["binary"])
    try:
        srv.start()
        srv.stop()
        first = open(srv.log_path, "rb").read().decode("utf-8", "replace")
        check(srv.token and srv.token in first, "first start: the admin token is not on the first screen:\n" + first)
        os.unlink(srv.log_path)
        srv.start()
        srv.stop()
        second = open(srv.log_path, "rb").read().decode("utf-8", "replace")
        check(srv.token not in second, "second start printed the admin token again:\n" + second)
        check("admin.token" in second, "second start does not say where the token is:\n" + second)
    finally:
        srv.cleanup()


@suite.case
def journald_lines_carry_a_priority(ctx):
    srv = Server(ctx["binary"])
    try:
        open(srv.log_path, "wb").close()   # the file the server's stderr goes to
        st = os.stat(srv.log_path)
        old = os.environ.get("JOURNAL_STREAM")
        os.environ["JOURNAL_STREAM"] = "%d:%d" % (st.st_dev, st.st_ino)
        try:
            srv.start()
        finally:
            if old is None:
                del os.environ["JOURNAL_STREAM"]
            else:
                os.environ["JOURNAL_STREAM"] = old
        srv.stop()
        lines = open(srv.log_path, "rb").read().decode("utf-8", "replace").splitlines()
        logged = [ln for ln in lines if ln.startswith("<")]
        check(any(ln.startswith("<6>INFO listening on") for ln in logged),
              "under journald (JOURNAL_STREAM = stderr): no '<6>INFO listening on' line:\n" + "\n".join(lines[:20]))
        check(not [ln for ln in lines if ln[:4].isdigit() and "Z INFO " in ln],
              "under journald the log lines still carry their own time:\n" + "\n".join(lines[:20]))
    finally:
        srv.cleanup()


def main():
    if len(sys.argv) < 2:
        print("usage: ops_health.py /path/to/openfota", file=sys.stderr)
        return 2
    srv = Server(sys.argv[1])
    rc = 1
    try:
        srv.start()
        rc = suite.run({"srv": srv, "binary": sys.argv[1]})
    except Failure as e:
        print("FAIL setup: %s" % e)
    finally:
        if rc:
            print("---- server log (tail) ----\n" + srv.log_text())
        srv.cleanup()
    return rc


if __name__ == "__main__":
    sys.exit(main())

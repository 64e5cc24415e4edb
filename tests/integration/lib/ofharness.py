"""Harness for the server integration tests: start the real `openfota serve`
on a loopback port in a temp data folder, talk to it with exact bytes over
raw sockets (what a LuatOS module sends), the admin API, and the CLI.

Python standard library only. Every test script takes the path of the
`openfota` binary as its first argument.
"""
import hashlib
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.parse

FW = "FOTA2_DEMO_LuatOS-SoC_Air780EHV"
START_TIMEOUT = 30.0

# PostgreSQL backend: when OPENFOTA_TEST_PG names the folder of a running
# `scripts/pg.sh start DIR` cluster, every Server gets a database of its own
# in it (created at first start, named in DATA/test-db-uri so a restart on
# the same data folder finds it again, dropped at cleanup) and runs with --db.
PG_ENV = "OPENFOTA_TEST_PG"


def pg_base_uri():
    d = os.environ.get(PG_ENV)
    if not d:
        return None
    with open(os.path.join(d, "uri")) as f:
        return f.read().strip()


def pg_psql(uri, sql):
    r = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", uri, "-c", sql],
                       capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise Failure("psql %r: %s" % (sql, r.stderr.strip()))
    return r.stdout


def pg_new_database():
    """A fresh empty database in the test cluster; returns its URI."""
    base = pg_base_uri()
    name = "t_%d_%s" % (os.getpid(), os.urandom(4).hex())
    admin = base.rsplit("/", 1)[0] + "/postgres"
    pg_psql(admin, "CREATE DATABASE %s" % name)
    return base.rsplit("/", 1)[0] + "/" + name


def pg_drop_database(uri):
    admin = uri.rsplit("/", 1)[0] + "/postgres"
    pg_psql(admin, "DROP DATABASE IF EXISTS %s WITH (FORCE)" % uri.rsplit("/", 1)[1])


def backend():
    return "postgresql" if os.environ.get(PG_ENV) else "sqlite"


class Failure(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Failure(msg)


# ---------------------------------------------------------------- responses

class Response:
    def __init__(self, status, reason, headers, body, raw):
        self.status = status
        self.reason = reason
        self.headers = headers      # list of (name lower-case, value)
        self.body = body
        self.raw = raw

    def header(self, name, default=None):
        name = name.lower()
        for k, v in self.headers:
            if k == name:
                return v
        return default

    def header_all(self, name):
        return [v for k, v in self.headers if k == name.lower()]

    def json(self):
        try:
            return json.loads(self.body.decode("utf-8"))
        except Exception:
            return None

    def code(self):
        j = self.json()
        return j.get("code") if isinstance(j, dict) else None

    def describe(self):
        b = self.body[:300]
        return "HTTP %s %s, headers %s, body %r%s" % (
            self.status, self.reason, dict(self.headers), b,
            "..." if len(self.body) > 300 else "")


def parse_response(buf, head_request=False):
    """Parses one response from buf. Returns (Response, rest) or (None, buf)
    when incomplete. A body without length runs to the end of buf."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None, buf
    head = buf[:end].decode("latin-1")
    lines = head.split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/"):
        raise Failure("not an HTTP response: %r" % buf[:200])
    status = int(parts[1])
    reason = parts[2] if len(parts) > 2 else ""
    headers = []
    for ln in lines[1:]:
        if ":" in ln:
            k, v = ln.split(":", 1)
            headers.append((k.strip().lower(), v.strip()))
    rest = buf[end + 4:]
    hd = dict(headers)
    if head_request or status in (204, 304) or 100 <= status < 200:
        return Response(status, reason, headers, b"", buf[:end + 4]), rest
    if "content-length" in hd:
        n = int(hd["content-length"])
        if len(rest) < n:
            return None, buf
        return Response(status, reason, headers, rest[:n], buf[:end + 4 + n]), rest[n:]
    if hd.get("transfer-encoding", "").lower() == "chunked":
        body = b""
        p = 0
        while True:
            e = rest.find(b"\r\n", p)
            if e < 0:
                return None, buf
            size = int(rest[p:e].split(b";")[0], 16)
            if size == 0:
                t = rest.find(b"\r\n\r\n", e)
                if t < 0:
                    return None, buf
                return Response(status, reason, headers, body, buf), rest[t + 4:]
            if len(rest) < e + 2 + size + 2:
                return None, buf
            body += rest[e + 2:e + 2 + size]
            p = e + 2 + size + 2
    return Response(status, reason, headers, rest, buf), b""


def recv_all(sock, timeout):
    """Reads until the peer closes or timeout. Returns (bytes, closed)."""
    sock.settimeout(0.5)
    deadline = time.time() + timeout
    data = bytearray()
    while time.time() < deadline:
        try:
            b = sock.recv(65536)
        except socket.timeout:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return bytes(data), True
        if not b:
            return bytes(data), True
        data += b
    return bytes(data), False


# ------------------------------------------------------------------ server

class Server:
    """One `openfota serve` process on 127.0.0.1:<free port> with its own
    data folder (a temp dir unless given)."""

    def __init__(self, binary, data=None, extra=()):
        self.binary = os.path.abspath(binary)
        self.own_data = data is None
        self.data = data or tempfile.mkdtemp(prefix="openfota-it-")
        self.extra = list(extra)
        self.proc = None
        self.log_path = os.path.join(self.data, "test-server.log")
        self.url = None
        self.port = None
        self.token = None
        self.db = None      # PostgreSQL URI when the suite runs on that backend

    def db_args(self):
        if not os.environ.get(PG_ENV):
            return []
        os.makedirs(self.data, exist_ok=True)
        path = os.path.join(self.data, "test-db-uri")
        if os.path.exists(path):
            with open(path) as f:
                self.db = f.read().strip()
        else:
            self.db = pg_new_database()
            with open(path, "w") as f:
                f.write(self.db + "\n")
        return ["--db", self.db]

    def start(self):
        sj = os.path.join(self.data, "serve.json")
        if os.path.exists(sj):
            os.unlink(sj)   # so the new process's file is the one we read
        dbargs = self.db_args()
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [self.binary, "serve", "--listen", "127.0.0.1:0", "--data", self.data] + dbargs + self.extra,
            stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.time() + START_TIMEOUT
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise Failure("server exited with %s at start; log:\n%s" %
                              (self.proc.returncode, self.log_text()))
            try:
                with open(sj) as f:
                    info = json.load(f)
                url = info.get("url")
                if url:
                    self.url = url.rstrip("/")
                    self.port = urllib.parse.urlsplit(self.url).port
                    with open(os.path.join(self.data, "admin.token")) as f:
                        self.token = f.read().strip()
                    socket.create_connection(("127.0.0.1", self.port), timeout=2).close()
                    return self
            except (OSError, ValueError):
                pass
            time.sleep(0.05)
        raise Failure("server did not write %s with a url within %.0fs; log:\n%s" %
                      (sj, START_TIMEOUT, self.log_text()))

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read()[-4000:].decode("utf-8", "replace")
        except OSError:
            return ""

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=15):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise Failure("server did not stop within %ss of SIGTERM" % timeout)
        if self.proc and hasattr(self, "log"):
            self.log.close()
        return self.proc.returncode if self.proc else None

    def kill9(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        self.log.close()

    def cleanup(self):
        try:
            self.stop()
        finally:
            if self.own_data and os.environ.get("OPENFOTA_KEEP_DATA") is None:
                if self.db:
                    try:
                        pg_drop_database(self.db)
                    except Exception:
                        pass
                shutil.rmtree(self.data, ignore_errors=True)

    # --- raw bytes
    def connect(self, timeout=10):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return s

    def raw(self, data, timeout=10, head_request=False):
        """Sends bytes, reads until close; returns the first Response (or
        raises when nothing parseable came back)."""
        with self.connect(timeout) as s:
            s.sendall(data)
            buf, _ = recv_all(s, timeout)
        r, _ = parse_response(buf, head_request) if buf else (None, b"")
        if r is None:
            raise Failure("no complete HTTP response to %r; got %r" % (data[:200], buf[:200]))
        return r

    def raw_status(self, data, timeout=10):
        """Like raw but returns None when the server just closed."""
        with self.connect(timeout) as s:
            try:
                s.sendall(data)
            except (BrokenPipeError, ConnectionResetError):
                return None
            buf, _ = recv_all(s, timeout)
        if not buf:
            return None
        r, _ = parse_response(buf)
        return r

    def get(self, target, headers=(), method="GET", timeout=10):
        req = "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n" % (
            method, target, self.port)
        for k, v in headers:
            req += "%s: %s\r\n" % (k, v)
        req += "\r\n"
        return self.raw(req.encode("latin-1"), timeout, head_request=(method == "HEAD"))

    def module_check(self, ident, key, fw, version, path="/api/site/firmware_upgrade",
                     id_key="imei", timeout=15):
        """Exactly the bytes libfota2 sends (see the protocol reference)."""
        q = "%s=%s&project_key=%s&firmware_name=%s&version=%s" % (id_key, ident, key, fw, version)
        return self.raw(module_bytes(self.port, path + "?" + q), timeout)

    def stream(self, head, chunks, timeout=15):
        """Sends head then each chunk while a reader collects the answer, so
        an answer sent early (e.g. 413 before the body) is not lost when the
        server stops reading. Returns (Response or None, bytes_sent)."""
        import threading
        s = self.connect(timeout)
        got = bytearray()

        def reader():
            s.settimeout(timeout)
            while True:
                try:
                    d = s.recv(65536)
                except OSError:
                    return
                if not d:
                    return
                got.extend(d)
        t = threading.Thread(target=reader, daemon=True)
        t.start()
        sent = 0
        try:
            s.sendall(head)
            for ch in chunks:
                s.sendall(ch)
                sent += len(ch)
        except OSError:
            pass
        t.join(timeout)
        s.close()
        r = None
        if got:
            r, _ = parse_response(bytes(got))
        return r, sent

    def admin_stream(self, method, path, chunks, length=None, timeout=15):
        """An admin upload sent as a stream (Content-Length when given, else
        chunked); see stream()."""
        head = "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAuthorization: Bearer %s\r\n" \
               "Content-Type: application/octet-stream\r\n" % (method, path, self.port, self.token)
        if length is not None:
            head += "Content-Length: %d\r\n\r\n" % length
        else:
            head += "Transfer-Encoding: chunked\r\n\r\n"
            import itertools
            chunks = itertools.chain((b"%x\r\n" % len(ch) + ch + b"\r\n" for ch in chunks),
                                     [b"0\r\n\r\n"])
        return self.stream(head.encode(), chunks, timeout)

    # --- admin API
    def admin(self, method, path, body=None, raw=None, headers=None, timeout=30):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        h = {"Authorization": "Bearer " + self.token}
        if headers:
            h.update(headers)
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        elif raw is not None:
            data = raw
            h["Content-Type"] = "application/octet-stream"
        conn.request(method, path, body=data, headers=h)
        r = conn.getresponse()
        payload = r.read()
        conn.close()
        try:
            obj = json.loads(payload) if payload else None
        except ValueError:
            obj = None
        return r.status, obj, payload

    def add_project(self, name="demo", **extra):
        body = {"name": name}
        body.update(extra)
        st, obj, raw = self.admin("POST", "/admin/v1/projects", body)
        check(st == 201 and obj and obj.get("key"),
              "POST /admin/v1/projects %r: expected 201 with a key, got %s %r" % (body, st, raw))
        return obj["key"]

    def upload(self, key, data, version, firmware=FW, base_core=None, suffix=None,
               filename="pkg.bin", raw=True):
        """raw=True (raw=1) lets a LuatOS firmware name (FW) take a file that
        is no Luat .bin; Luat and signed files are checked either way."""
        q = {"firmware": firmware, "version": version, "filename": filename}
        if raw:
            q["raw"] = "1"
        if base_core is not None:
            q["base_core"] = str(base_core)
        if suffix is not None:
            q["suffix"] = str(suffix)
        path = "/admin/v1/projects/%s/packages?%s" % (key, urllib.parse.urlencode(q))
        return self.admin("POST", path, raw=data)

    def upload_ok(self, key, data, version, **kw):
        st, obj, raw = self.upload(key, data, version, **kw)
        check(st == 201 and obj, "package upload (version %s, %d bytes): expected 201, got %s %r"
              % (version, len(data), st, raw[:300]))
        check(obj.get("sha256") == hashlib.sha256(data).hexdigest(),
              "upload answer sha256 %r differs from the file's" % obj.get("sha256"))
        return obj

    # --- CLI
    def cli(self, *args, env_extra=None, timeout=60):
        env = dict(os.environ)
        env["OPENFOTA_URL"] = self.url
        env["OPENFOTA_TOKEN"] = self.token
        if env_extra:
            env.update(env_extra)
        return subprocess.run([self.binary] + list(args), capture_output=True, text=True,
                              env=env, timeout=timeout)


def module_bytes(port, target):
    return ("GET %s HTTP/1.1\r\nConnection: Close\r\nHost: 127.0.0.1:%d\r\n\r\n"
            % (target, port)).encode("latin-1")


def expect_code(r, code, what):
    """A 'no upgrade' answer: status >= 300, never a redirect, JSON code."""
    check(r.status >= 300, "%s: expected status >= 300 with code %s, got %s"
          % (what, code, r.describe()))
    check(not (300 <= r.status < 400), "%s: got a redirect (%s); devices do not follow them"
          % (what, r.status))
    check(r.header("location") is None, "%s: answer carries Location" % what)
    check(r.code() == code, "%s: expected JSON code %s, got %s" % (what, code, r.describe()))
    j = r.json()
    check(isinstance(j.get("msg"), str) and j["msg"], "%s: JSON has no msg: %r" % (what, r.body))


def expect_package(r, data, what):
    check(r.status == 200, "%s: expected 200 with the package, got %s" % (what, r.describe()))
    check(r.body == data, "%s: body (%d bytes) differs from the package (%d bytes)"
          % (what, len(r.body), len(data)))
    check(r.header("content-length") == str(len(data)),
          "%s: Content-Length %r, expected %d" % (what, r.header("content-length"), len(data)))
    check(r.header("etag"), "%s: no ETag" % what)
    check((r.header("accept-ranges") or "").lower() == "bytes",
          "%s: Accept-Ranges %r, expected bytes" % (what, r.header("accept-ranges")))


# ------------------------------------------------------------------- suite

def sqlite_only(fn):
    """Marks a case that exercises the SQLite file itself (skipped on the
    PostgreSQL backend); put it under @suite.case."""
    fn.sqlite_only = True
    return fn


class Suite:
    """Named cases run in order against fixtures; prints PASS/FAIL per case
    with the request, expectation and answer; exit status 1 on any failure."""

    def __init__(self, name):
        self.name = name
        self.cases = []

    def case(self, fn):
        self.cases.append(fn)
        return fn

    def run(self, ctx):
        failed = []
        only = os.environ.get("OPENFOTA_CASE")
        print("%s: database backend %s" % (self.name, backend()), flush=True)
        for fn in self.cases:
            if only and only not in fn.__name__:
                continue
            if getattr(fn, "sqlite_only", False) and backend() != "sqlite":
                print("SKIP %s (SQLite only)" % fn.__name__, flush=True)
                continue
            t0 = time.time()
            try:
                fn(ctx)
                print("PASS %s (%.2fs)" % (fn.__name__, time.time() - t0), flush=True)
            except Failure as e:
                failed.append(fn.__name__)
                print("FAIL %s: %s" % (fn.__name__, e), flush=True)
            except Exception:
                failed.append(fn.__name__)
                print("FAIL %s: exception\n%s" % (fn.__name__, traceback.format_exc()), flush=True)
        print("%s: %d case(s), %d failed%s" % (self.name, len(self.cases), len(failed),
                                               (": " + ", ".join(failed)) if failed else ""))
        return 1 if failed else 0


def main_with_server(suite, setup=None, extra=(), config=None):
    """Standard entry: argv[1] = openfota binary. Starts one server (with a
    config file of the given settings, if any), runs setup(server) -> ctx,
    runs the suite, stops the server (a clean stop is itself checked)."""
    if len(sys.argv) < 2:
        print("usage: %s /path/to/openfota" % sys.argv[0], file=sys.stderr)
        return 2
    srv = Server(sys.argv[1], extra=extra)
    if config:
        path = os.path.join(srv.data, "test-serve.conf")
        with open(path, "w") as f:
            for k, v in config.items():
                f.write("%s = %s\n" % (k, v))
        srv.extra += ["--config", path]
    rc = 1
    try:
        srv.start()
        ctx = setup(srv) if setup else srv
        rc = suite.run(ctx)
        if not srv.alive():
            print("FAIL server died during the suite (exit %s); log:\n%s"
                  % (srv.proc.returncode, srv.log_text()))
            rc = 1
        else:
            code = srv.stop()
            if code not in (0, None):
                print("FAIL server exited with %s after SIGTERM; log:\n%s" % (code, srv.log_text()))
                rc = 1
    except Failure as e:
        print("FAIL setup: %s" % e)
        rc = 1
    finally:
        if rc:
            print("---- server log (tail) ----\n" + srv.log_text())
        srv.cleanup()
    return rc

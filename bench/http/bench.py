#!/usr/bin/env python3
"""HTTP benchmark of `openfota serve` side by side with nginx on this machine.

Scenarios (wrk, each run alternately against openfota and nginx, ROUNDS
times, medians reported with the openfota/nginx ratio):
  check-keepalive  the device check answered "no upgrade" (code 27), keep-alive
                   - nginx: a tiny static file of the same size
  check-close      the same with `Connection: close` (what real modules send)
  download-package a 1 MiB package delivered by the device check to a fleet of
                   2,000 devices in turn (1,000 deliveries per device per day
                   allowed, so the loop guard never steps in)
                   - nginx: a static 1 MiB file
  download-static  the same 1 MiB file from /download/<name>
  download-close   download-package with `Connection: close` (a module opens
                   a connection per check) - nginx: the static file, closed
Then the RSS of the server with 10,000 open idle connections (connected and
silent; then after one keep-alive check each).

With --tls the same scenarios run over HTTPS: openfota's own TLS listener
(--tls-listen) against nginx terminating TLS itself, both with one
self-signed EC P-256 certificate made for the run, TLS 1.2/1.3, the same
ECDHE + AES-GCM suites; "-close" scenarios then pay a full handshake per
request on both sides.

usage: bench.py /path/to/openfota [--rounds N] [--duration S] [--connections C] [--tls]
Prints a Markdown report on stdout. Needs wrk and nginx in PATH (or
/usr/sbin/nginx); `scripts/bootstrap.sh --bench` installs them.
"""
import argparse
import json
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
FW = "BENCH_LuatOS-SoC_Air780EHV"
MIB = 1024 * 1024


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_port(port, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("nothing listens on 127.0.0.1:%d after %ds" % (port, timeout))


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for ln in f:
            if ln.startswith("VmRSS:"):
                return int(ln.split()[1])
    return 0


TLS12_CIPHERS = ("ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
                 "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305")


def make_cert(tmp):
    key, crt = os.path.join(tmp, "tls.key"), os.path.join(tmp, "tls.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", key, "-out", crt, "-days", "2", "-subj", "/CN=127.0.0.1"], check=True,
                   capture_output=True)
    return crt, key


class Openfota:
    def __init__(self, binary, tmp, tls=None):
        self.data = os.path.join(tmp, "openfota-data")
        os.makedirs(self.data)
        conf = os.path.join(tmp, "openfota.conf")
        with open(conf, "w") as f:
            f.write("log_level = warn\nmax_connections = 30000\nconnection_timeout = 120\n")
            if tls:
                f.write("tls_listen = 127.0.0.1:0\ntls_cert = %s\ntls_key = %s\n" % tls)
        self.log = open(os.path.join(tmp, "openfota.log"), "wb")
        self.proc = subprocess.Popen([binary, "serve", "--listen", "127.0.0.1:0", "--data", self.data,
                                      "--config", conf], stdout=self.log, stderr=subprocess.STDOUT)
        sj = os.path.join(self.data, "serve.json")
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                with open(sj) as f:
                    info = json.load(f)
                self.url = info["url"].rstrip("/")
                self.tls_url = (info.get("tls_url") or "").rstrip("/")
                break
            except (OSError, ValueError, KeyError):
                time.sleep(0.05)
        else:
            raise SystemExit("openfota did not start (see %s)" % self.log.name)
        self.port = urllib.parse.urlsplit(self.url).port
        with open(os.path.join(self.data, "admin.token")) as f:
            self.token = f.read().strip()
        wait_port(self.port)

    def admin(self, method, path, body=None, raw=None):
        data = json.dumps(body).encode() if body is not None else raw
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Authorization": "Bearer " + self.token,
                                              "Content-Type": "application/json" if body is not None
                                              else "application/octet-stream"})
        with urllib.request.urlopen(req, timeout=60) as r:
            return json.loads(r.read() or b"null")

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class Nginx:
    def __init__(self, tmp, big, tiny, tls=None):
        self.prefix = os.path.join(tmp, "nginx")
        www = os.path.join(self.prefix, "www")
        os.makedirs(www)
        os.makedirs(os.path.join(self.prefix, "logs"))
        with open(os.path.join(www, "big.bin"), "wb") as f:
            f.write(big)
        with open(os.path.join(www, "tiny.json"), "wb") as f:
            f.write(tiny)
        for d in (tmp, self.prefix, www):
            os.chmod(d, 0o755)
        self.port = free_port()
        self.tport = free_port()
        tls_server = ""
        if tls:
            tls_server = """    server {
        listen 127.0.0.1:%d ssl;
        root %s/www;
        ssl_certificate %s;
        ssl_certificate_key %s;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_ciphers %s;
    }
""" % (self.tport, self.prefix, tls[0], tls[1], TLS12_CIPHERS)
        conf = os.path.join(self.prefix, "nginx.conf")
        with open(conf, "w") as f:
            f.write("""
worker_processes %(workers)d;
daemon off;
pid %(p)s/nginx.pid;
error_log %(p)s/logs/error.log warn;
%(user)s
worker_rlimit_nofile 30000;
events { worker_connections 30000; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000000;
    keepalive_timeout 120s;
    client_body_temp_path %(p)s/tmp_body;
    proxy_temp_path %(p)s/tmp_proxy;
    fastcgi_temp_path %(p)s/tmp_fastcgi;
    uwsgi_temp_path %(p)s/tmp_uwsgi;
    scgi_temp_path %(p)s/tmp_scgi;
    default_type application/octet-stream;
    server {
        listen 127.0.0.1:%(port)d;
        root %(p)s/www;
    }
%(tls)s}
""" % {"p": self.prefix, "port": self.port, "workers": os.cpu_count() or 2,
                "user": "user root root;" if os.getuid() == 0 else "", "tls": tls_server})
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        self.proc = subprocess.Popen([nginx, "-p", self.prefix, "-c", conf],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port)
        if tls:
            wait_port(self.tport)

    def stop(self):
        self.proc.send_signal(signal.SIGQUIT)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def wrk(url, duration, conns, threads, headers=(), script=None):
    cmd = ["wrk", "-t%d" % threads, "-c%d" % conns, "-d%ds" % duration]
    for h in headers:
        cmd += ["-H", h]
    if script:
        cmd += ["-s", script]
    cmd.append(url)
    out = subprocess.run(cmd, capture_output=True, text=True).stdout
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    t = re.search(r"Transfer/sec:\s+([\d.]+)([KMG]?B)", out)
    errs = re.search(r"Socket errors: (.*)", out)
    if not m:
        raise SystemExit("wrk gave no figures for %s:\n%s" % (url, out))
    mult = {"B": 1, "KB": 1024, "MB": MIB, "GB": 1024 * MIB}
    bps = float(t.group(1)) * mult[t.group(2)] if t else 0.0
    return float(m.group(1)), bps, (errs.group(1) if errs else ""), " ".join(cmd)


def idle_rss(of, n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < min(hard, n + 1000):
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, n + 1000), hard))
    pid = of.proc.pid
    base = rss_kb(pid)
    socks = []
    failed = 0
    for _ in range(n):
        try:
            socks.append(socket.create_connection(("127.0.0.1", of.port), timeout=5))
        except OSError:
            failed += 1
    time.sleep(2)
    silent = rss_kb(pid)
    # one keep-alive "no upgrade" check on each, then idle again
    req = ("GET /api/site/firmware_upgrade?imei=860000000000001&project_key=%s&firmware_name=%s"
           "&version=1.0.1 HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n" % (of.key, FW, of.port)).encode()
    answered = 0
    for s in socks:
        try:
            s.sendall(req)
        except OSError:
            pass
    for s in socks:
        try:
            s.settimeout(10)
            if s.recv(65536):
                answered += 1
        except OSError:
            pass
    time.sleep(2)
    after = rss_kb(pid)
    # the server still answers a new client
    t0 = time.time()
    ok = True
    try:
        c = socket.create_connection(("127.0.0.1", of.port), timeout=5)
        c.sendall(req.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"))
        ok = c.recv(100).startswith(b"HTTP/1.1")
        c.close()
    except OSError:
        ok = False
    latency = time.time() - t0
    for s in socks:
        s.close()
    return {"connections": len(socks), "failed": failed, "base_kb": base, "silent_kb": silent,
            "after_request_kb": after, "answered": answered, "new_client_ok": ok,
            "new_client_s": latency}


def probe_no_upgrade(url):
    """The body of the 'no upgrade' answer (code 27), to serve the same
    size from nginx."""
    try:
        with urllib.request.urlopen(urllib.request.Request(url), timeout=10) as r:
            raise SystemExit("the no-upgrade check answered %s; expected code 27" % r.status)
    except urllib.error.HTTPError as e:
        body = e.read()
        if json.loads(body).get("code") != 27:
            raise SystemExit("the no-upgrade check answered %r; expected code 27" % body)
        return body


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("openfota")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--duration", type=int, default=5)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--idle", type=int, default=10000)
    ap.add_argument("--tls", action="store_true", help="run the scenarios over HTTPS")
    a = ap.parse_args()
    for tool in ("wrk",):
        if not shutil.which(tool):
            raise SystemExit("%s is not installed: run scripts/bootstrap.sh --bench" % tool)

    tmp = tempfile.mkdtemp(prefix="openfota-bench-")
    of = ng = None
    try:
        big = os.urandom(MIB)
        tls = make_cert(tmp) if a.tls else None
        of = Openfota(os.path.abspath(a.openfota), tmp, tls)
        p = of.admin("POST", "/admin/v1/projects", {"name": "bench"})
        of.key = p["key"]
        of.admin("PATCH", "/admin/v1/projects/" + of.key, {"max_daily_deliveries": 1000})
        q = urllib.parse.urlencode({"firmware": FW, "version": "1.0.1", "filename": "bench.img", "raw": "1"})
        of.admin("POST", "/admin/v1/projects/%s/packages?%s" % (of.key, q), raw=big)
        of.admin("PUT", "/admin/v1/files/big.bin", raw=big)
        check_path = ("/api/site/firmware_upgrade?imei=860000000000001&project_key=%s"
                      "&firmware_name=%s&version=1.0.1" % (of.key, FW))
        tiny = probe_no_upgrade(of.url + check_path)
        ng = Nginx(tmp, big, tiny, tls)
        lua = os.path.join(tmp, "pkg.lua")
        with open(lua, "w") as f:
            f.write(open(os.path.join(HERE, "package.lua")).read()
                    .replace("@KEY@", of.key).replace("@FW@", FW))
        ngu = "http://127.0.0.1:%d" % ng.port
        ofu = of.url
        if a.tls:
            ngu = "https://127.0.0.1:%d" % ng.tport
            ofu = of.tls_url
        scenarios = [
            ("check-keepalive", ofu + check_path, ngu + "/tiny.json", (), None),
            ("check-close", ofu + check_path, ngu + "/tiny.json", ("Connection: close",), None),
            ("download-package", ofu + "/", ngu + "/big.bin", (), lua),
            ("download-static", ofu + "/download/big.bin", ngu + "/big.bin", (), None),
            ("download-close", ofu + "/", ngu + "/big.bin", ("Connection: close",), lua),
        ]
        results = {}
        cmds = {}
        for rnd in range(a.rounds):
            for name, ourl, nurl, hdrs, script in scenarios:
                order = [("openfota", ourl, script), ("nginx", nurl, None)]
                if rnd % 2:
                    order.reverse()
                for who, url, sc in order:
                    rps, bps, errs, cmd = wrk(url, a.duration, a.connections, a.threads, hdrs, sc)
                    results.setdefault((name, who), []).append((rps, bps, errs))
                    cmds[(name, who)] = cmd
                    print("round %d %-17s %-8s %10.0f req/s %8.1f MiB/s %s" %
                          (rnd + 1, name, who, rps, bps / MIB, errs), file=sys.stderr, flush=True)
        idle = idle_rss(of, a.idle) if a.idle else None
        print("idle: %r" % idle, file=sys.stderr)

        cpu = "?"
        for ln in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            if ln.startswith("Model name:"):
                cpu = ln.split(":", 1)[1].strip()
        if a.tls:
            print("Over HTTPS (TLS 1.3 as wrk negotiates it; one EC P-256 certificate for both servers).\n")
        print("Machine: %d CPUs (`nproc`), %s; wrk and both servers share these CPUs. "
              "%d rounds of %d s per scenario and server, alternating which server goes first; "
              "wrk -t%d -c%d. Medians:\n"
              % (os.cpu_count(), cpu, a.rounds, a.duration, a.threads, a.connections))
        print("| scenario | openfota req/s | nginx req/s | ratio | openfota MiB/s | nginx MiB/s | ratio |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for name, *_ in scenarios:
            o = results[(name, "openfota")]
            n = results[(name, "nginx")]
            orps = statistics.median(r[0] for r in o)
            nrps = statistics.median(r[0] for r in n)
            obps = statistics.median(r[1] for r in o) / MIB
            nbps = statistics.median(r[1] for r in n) / MIB
            print("| %s | %.0f | %.0f | %.2f | %.1f | %.1f | %.2f |" %
                  (name, orps, nrps, orps / nrps if nrps else 0, obps, nbps,
                   obps / nbps if nbps else 0))
        print("\nPer-round req/s (openfota / nginx):\n")
        for name, *_ in scenarios:
            print("- %s: %s / %s" % (name,
                                     ", ".join("%.0f" % r[0] for r in results[(name, "openfota")]),
                                     ", ".join("%.0f" % r[0] for r in results[(name, "nginx")])))
        if idle:
            print_idle(idle)
        print("\nwrk commands (openfota side): ")
        for name, *_ in scenarios:
            print("- `%s`" % cmds[(name, "openfota")].replace(of.key, "KEY"))
    finally:
        if ng:
            ng.stop()
        if of:
            of.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def print_idle(idle):
    print("\nIdle connections (RSS of the openfota process, VmRSS):\n")
    print("- before: %.1f MiB" % (idle["base_kb"] / 1024))
    print("- %d connected, silent: %.1f MiB (%d failed to connect)" %
          (idle["connections"], idle["silent_kb"] / 1024, idle["failed"]))
    print("- the same after one keep-alive check each (%d answered): %.1f MiB" %
          (idle["answered"], idle["after_request_kb"] / 1024))
    print("- a new client meanwhile: %s in %.3f s" %
          ("answered" if idle["new_client_ok"] else "NOT answered", idle["new_client_s"]))


if __name__ == "__main__":
    main()

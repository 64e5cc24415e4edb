"""HTTPS in the server, with real clients: curl and openssl s_client against
the TLS listener (TLS 1.0/1.1 refused, 1.2 and 1.3 accepted), a device check
and a whole package over HTTPS byte for byte, a resumed download, keep-alive,
a renewed certificate served after SIGHUP while a download in progress
finishes, --admin-tls-only, HTTPS alone, and a bad key refused at start.
Certificates are made here with the openssl command."""
import hashlib
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from ofharness import Failure, Server, Suite, check, parse_response  # noqa: E402

suite = Suite("server_tls")
IMEI = "861234567890123"
FW = "TLS_FW"


def run(*args, input=None, timeout=30):
    return subprocess.run(list(args), capture_output=True, input=input, timeout=timeout)


def make_cert(d, name, cn="localhost"):
    key, crt = os.path.join(d, name + ".key"), os.path.join(d, name + ".pem")
    r = run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", key, "-out", crt, "-days", "2", "-subj", "/CN=" + cn,
            "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost")
    check(r.returncode == 0, "openssl req: %s" % r.stderr.decode())
    return crt, key


class Ctx:
    pass


def tls_port(srv):
    with open(os.path.join(srv.data, "serve.json")) as f:
        info = json.load(f)
    u = info.get("tls_url")
    check(u, "serve.json has no tls_url: %r" % info)
    return urllib.parse.urlsplit(u).port


def tls_socket(c, ca=None, version=None):
    ctx = ssl.create_default_context(cafile=ca or c.crt)
    if version:
        ctx.minimum_version = version
        ctx.maximum_version = version
    s = socket.create_connection(("127.0.0.1", c.tport), timeout=15)
    return ctx.wrap_socket(s, server_hostname="localhost")


def tls_request(c, target, extra="", keep=False):
    s = tls_socket(c)
    try:
        req = "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s%s\r\n" % (
            target, extra, "" if keep else "Connection: close\r\n")
        s.sendall(req.encode())
        buf = b""
        while True:
            d = s.recv(65536)
            if not d:
                break
            buf += d
        r, _ = parse_response(buf)
        check(r is not None, "no HTTP answer over TLS to %s: %r" % (target, buf[:200]))
        return r
    finally:
        s.close()


def check_target(c, version, imei=IMEI):
    return "/api/site/firmware_upgrade?imei=%s&project_key=%s&firmware_name=%s&version=%s" % (
        imei, c.key, FW, version)


def setup_server(d, extra):
    srv = Server(sys.argv[1], extra=extra)
    srv.start()
    return srv


@suite.case
def protocol_versions(c):
    for flag, ok in (("-tls1", False), ("-tls1_1", False), ("-tls1_2", True), ("-tls1_3", True)):
        # the client's own floor is lowered so that it really offers 1.0/1.1
        r = run("openssl", "s_client", "-connect", "127.0.0.1:%d" % c.tport, flag, "-CAfile", c.crt,
                "-servername", "localhost", *([] if ok else ["-cipher", "DEFAULT@SECLEVEL=0"]), input=b"",
                timeout=20)
        out = r.stdout.decode(errors="replace") + r.stderr.decode(errors="replace")
        agreed = "New, TLSv1." in out and "Cipher is (NONE)" not in out
        check(agreed == ok, "openssl s_client %s: expected %s, got rc %s:\n%s"
              % (flag, "a handshake" if ok else "a refusal", r.returncode, out[-600:]))
        if not ok:
            check("alert protocol version" in out, "openssl s_client %s: the server's refusal is not a "
                  "protocol_version alert:\n%s" % (flag, out[-600:]))
    # the cipher suites on offer for TLS 1.2 are ECDHE + AEAD only
    r = run("openssl", "s_client", "-connect", "127.0.0.1:%d" % c.tport, "-tls1_2", "-cipher", "AES128-SHA",
            "-CAfile", c.crt, input=b"", timeout=20)
    check(r.returncode != 0, "TLS 1.2 with plain-RSA AES128-SHA was accepted")


@suite.case
def check_and_download_over_https(c):
    r = tls_request(c, check_target(c, "1.0.1"))
    check(r.status == 200 and r.body == c.pkg, "HTTPS check of a device on 1.0.1: expected the package (%d "
          "bytes), got %s" % (len(c.pkg), r.describe()))
    r = tls_request(c, check_target(c, "1.0.2", imei="861234567890124"))
    check(r.status == 404 and r.code() == 27, "HTTPS check of a device on the latest: %s" % r.describe())
    # curl, as an operator would fetch it
    out = os.path.join(c.dir, "curl.bin")
    p = run("curl", "-sS", "--cacert", c.crt, "-o", out, "-w", "%{http_code}",
            "https://localhost:%d%s" % (c.tport, check_target(c, "1.0.1", imei="861234567890125")))
    check(p.returncode == 0 and p.stdout == b"200", "curl over HTTPS: rc %s %r %r" % (p.returncode, p.stdout,
                                                                                   p.stderr))
    with open(out, "rb") as f:
        check(f.read() == c.pkg, "curl's download differs from the package")


@suite.case
def resume_over_https(c):
    r = tls_request(c, check_target(c, "1.0.1", imei="861234567890126"), extra="Range: bytes=100000-\r\n")
    check(r.status == 206 and r.body == c.pkg[100000:], "a resumed HTTPS download: %s" % r.describe()[:300])


@suite.case
def keep_alive_over_https(c):
    s = tls_socket(c)
    try:
        n = 5
        for i in range(n):
            s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % check_target(c, "1.0.2", imei="86123456789013%d" % i))
                      .encode())
        buf = b""
        got = 0
        deadline = time.time() + 10
        while got < n and time.time() < deadline:
            d = s.recv(65536)
            if not d:
                break
            buf += d
            while True:
                r, rest = parse_response(buf)
                if r is None or (r.header("content-length") and len(r.body) < int(r.header("content-length"))):
                    break
                check(r.status == 404 and r.code() == 27, "keep-alive answer %d: %s" % (got, r.describe()))
                buf = rest
                got += 1
        check(got == n, "%d pipelined checks on one TLS connection: %d answers" % (n, got))
    finally:
        s.close()


@suite.case
def sighup_renews_certificate(c):
    # a slow download is under way on the old certificate
    s = tls_socket(c)
    s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
               % check_target(c, "1.0.1", imei="861234567890140")).encode())
    first = s.recv(1000)
    check(first.startswith(b"HTTP/1.1 200"), "download on the old certificate: %r" % first[:100])
    old_fp = hashlib.sha256(s.getpeercert(binary_form=True)).hexdigest()
    # the certificate is renewed in place (another CN), then SIGHUP
    crt2, key2 = make_cert(c.dir, "renewed", cn="renewed.example")
    os.replace(crt2, c.crt_path)
    os.replace(key2, c.key_path)
    trusted_before = c.crt
    c.crt = c.crt_path  # the later cases trust the renewed certificate
    c.srv.proc.send_signal(signal.SIGHUP)
    deadline = time.time() + 10
    new_fp, cn = old_fp, None
    while time.time() < deadline and new_fp == old_fp:
        time.sleep(0.1)
        try:
            t = tls_socket(c, ca=c.crt_path)
        except ssl.SSLCertVerificationError:
            # SIGHUP not handled yet: the old certificate is still served
            t = tls_socket(c, ca=trusted_before)
        new_fp = hashlib.sha256(t.getpeercert(binary_form=True)).hexdigest()
        cn = dict(x[0] for x in t.getpeercert()["subject"]).get("commonName")
        t.close()
    check(new_fp != old_fp and cn == "renewed.example",
          "after SIGHUP new connections still get the old certificate (CN %r)" % cn)
    # the old download goes on to the last byte
    buf = first
    while True:
        d = s.recv(65536)
        if not d:
            break
        buf += d
    s.close()
    r, _ = parse_response(buf)
    check(r and r.status == 200 and r.body == c.pkg, "the download begun before SIGHUP did not finish whole: %s"
          % (r.describe()[:200] if r else repr(buf[:200])))
    check(c.srv.alive(), "server died on SIGHUP")


@suite.case
def admin_tls_only_and_https_alone(c):
    extra = ["--tls-listen", "127.0.0.1:0", "--tls-cert", c.crt, "--tls-key", c.key_path, "--admin-tls-only"]
    srv = Server(sys.argv[1], extra=extra)
    try:
        srv.start()
        st, obj, raw = srv.admin("GET", "/admin/v1/status")
        check(st == 403 and "HTTPS" in (obj or {}).get("error", ""), "plain admin with --admin-tls-only: %s %r"
              % (st, raw))
        port = tls_port(srv)
        p = run("curl", "-sS", "--cacert", c.crt, "-H", "Authorization: Bearer " + srv.token,
                "https://localhost:%d/admin/v1/status" % port)
        check(p.returncode == 0 and b'"version"' in p.stdout, "HTTPS admin with --admin-tls-only: %r %r"
              % (p.stdout, p.stderr))
        r = srv.get("/api/site/firmware_upgrade?imei=%s&project_key=nokey&firmware_name=x&version=1.0.1" % IMEI)
        check(r.code() == 25, "a plain device check still answers with --admin-tls-only: %s" % r.describe())
    finally:
        srv.stop()
        srv.cleanup()
    # HTTPS alone: serve.json's url is the HTTPS one
    srv = Server(sys.argv[1], extra=["--listen", "none", "--tls-listen", "127.0.0.1:0", "--tls-cert", c.crt,
                                      "--tls-key", c.key_path])
    try:
        srv.start()
        check(srv.url.startswith("https://"), "HTTPS alone: serve.json url %r" % srv.url)
        p = run("curl", "-sS", "--cacert", c.crt, "-H", "Authorization: Bearer " + srv.token,
                "https://localhost:%d/admin/v1/status" % srv.port)
        check(p.returncode == 0 and b'"version"' in p.stdout, "HTTPS alone: %r %r" % (p.stdout, p.stderr))
    finally:
        srv.stop()
        srv.cleanup()


@suite.case
def bad_certificate_refused_at_start(c):
    other_crt, other_key = make_cert(c.dir, "other")
    for crt, key, word in ((c.crt, other_key, "other.key"), (os.path.join(c.dir, "missing.pem"), c.key_path,
                                                                   "missing.pem"),
                           (c.crt, None, "--tls-key")):
        d = tempfile.mkdtemp(prefix="openfota-tls-")
        args = [sys.argv[1], "serve", "--listen", "127.0.0.1:0", "--data", d, "--tls-listen", "127.0.0.1:0",
                "--tls-cert", crt] + (["--tls-key", key] if key else [])
        p = run(*args, timeout=20)
        err = p.stderr.decode()
        check(p.returncode != 0 and word in err, "start with cert %s key %s: expected a refusal naming %r, got rc "
              "%s %r" % (crt, key, word, p.returncode, err))


def main():
    if len(sys.argv) < 2:
        print("usage: server_tls.py /path/to/openfota", file=sys.stderr)
        return 2
    c = Ctx()
    c.dir = tempfile.mkdtemp(prefix="openfota-tls-certs-")
    c.crt, c.key_path = make_cert(c.dir, "server")
    c.crt_path = c.crt
    # the CA the clients trust is a copy, so the renewal test can swap the served files
    ca = os.path.join(c.dir, "trusted.pem")
    with open(c.crt) as f, open(ca, "w") as g:
        g.write(f.read())
    c.crt = ca
    c.srv = Server(sys.argv[1], extra=["--tls-listen", "127.0.0.1:0", "--tls-cert", c.crt_path, "--tls-key",
                                       c.key_path])
    rc = 1
    try:
        c.srv.start()
        c.tport = tls_port(c.srv)
        c.key = c.srv.add_project("tls")
        c.pkg = os.urandom(3 << 20)
        c.srv.upload_ok(c.key, c.pkg, "1.0.2", firmware=FW)
        rc = suite.run(c)
        if not c.srv.alive():
            print("FAIL server died; log:\n" + c.srv.log_text())
            rc = 1
        elif c.srv.stop() not in (0, None):
            print("FAIL server did not stop cleanly; log:\n" + c.srv.log_text())
            rc = 1
    except Failure as e:
        print("FAIL setup: %s" % e)
    finally:
        if rc:
            print("---- server log (tail) ----\n" + c.srv.log_text())
        c.srv.cleanup()
    return rc


if __name__ == "__main__":
    sys.exit(main())

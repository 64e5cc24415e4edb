"""openfota behind a real nginx that terminates HTTPS, with the very config
file the docs ship (docs/nginx/openfota-tls.conf; host, ports and paths
replaced): device checks and a whole package through it byte for byte, a
resumed download, and the client address — believed from nginx
(--trusted-proxies), ignored from anyone else — as the audit log shows it."""
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from ofharness import Failure, Server, Suite, check, parse_response  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DOC_CONF = os.path.join(HERE, "..", "..", "docs", "nginx", "openfota-tls.conf")
suite = Suite("server_nginx")
FW = "NGINX_FW"


class Ctx:
    pass


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def nginx_binary():
    for p in ("/usr/sbin/nginx", shutil.which("nginx") or ""):
        if p and os.access(p, os.X_OK):
            return p
    return None


def request(c, target, src, via_nginx=True, extra="", method="GET", body=b""):
    """One request from source address src, over HTTPS to nginx or plain
    HTTP straight to openfota; the whole answer."""
    raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    raw.settimeout(15)
    raw.bind((src, 0))
    if via_nginx:
        raw.connect(("127.0.0.1", c.nport))
        ctx = ssl.create_default_context(cafile=c.crt)
        s = ctx.wrap_socket(raw, server_hostname="localhost")
    else:
        raw.connect(("127.0.0.1", c.srv.port))
        s = raw
    try:
        head = "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n%s" % (method, target, extra)
        if body or method in ("POST", "PUT"):
            head += "Content-Length: %d\r\n" % len(body)
        s.sendall(head.encode() + b"\r\n" + body)
        buf = b""
        while True:
            d = s.recv(65536)
            if not d:
                break
            buf += d
        r, _ = parse_response(buf)
        check(r is not None, "no answer to %s via %s: %r" % (target, "nginx" if via_nginx else "direct", buf[:200]))
        return r
    finally:
        s.close()


def target(c, imei, version):
    return "/api/site/firmware_upgrade?imei=%s&project_key=%s&firmware_name=%s&version=%s" % (imei, c.key, FW,
                                                                                                version)


def last_audit(c):
    st, obj, raw = c.srv.admin("GET", "/admin/v1/audit?limit=1")
    check(st == 200 and obj["entries"], "audit: %s %r" % (st, raw))
    return obj["entries"][0]


@suite.case
def download_through_nginx(c):
    r = request(c, target(c, "861234567890123", "1.0.1"), "127.0.0.9")
    check(r.status == 200 and r.body == c.pkg, "a package through nginx over HTTPS: %s" % r.describe()[:300])
    r = request(c, target(c, "861234567890124", "1.0.2"), "127.0.0.9")
    check(r.status == 404 and r.code() == 27, "already latest through nginx: %s" % r.describe())
    r = request(c, target(c, "861234567890125", "1.0.1"), "127.0.0.9", extra="Range: bytes=70000-\r\n")
    check(r.status == 206 and r.body == c.pkg[70000:], "a resumed download through nginx: %s" % r.describe()[:300])


@suite.case
def client_address_from_nginx(c):
    auth = "Authorization: Bearer %s\r\n" % c.srv.token
    r = request(c, "/admin/v1/files/a.txt", "127.0.0.9", extra=auth, method="PUT", body=b"hello")
    check(r.status == 201, "admin upload through nginx: %s" % r.describe())
    e = last_audit(c)
    check(e["addr"] == "127.0.0.9", "through nginx the audit log names %r, not the client 127.0.0.9" % e["addr"])
    # what a client puts in X-Forwarded-For is replaced by nginx
    r = request(c, "/admin/v1/files/a.txt", "127.0.0.9", extra=auth + "X-Forwarded-For: 6.6.6.6\r\n",
                method="DELETE")
    check(r.status == 204, "admin delete through nginx: %s" % r.describe())
    e = last_audit(c)
    check(e["addr"] == "127.0.0.9", "a forged X-Forwarded-For through nginx was believed: %r" % e["addr"])


@suite.case
def forged_header_from_elsewhere_ignored(c):
    auth = "Authorization: Bearer %s\r\n" % c.srv.token
    r = request(c, "/admin/v1/files/b.txt", "127.0.0.5", via_nginx=False, method="PUT", body=b"x",
                extra=auth + "X-Forwarded-For: 6.6.6.6\r\nX-Real-IP: 7.7.7.7\r\n")
    check(r.status == 201, "direct admin upload: %s" % r.describe())
    e = last_audit(c)
    check(e["addr"] == "127.0.0.5", "a peer that is no trusted proxy had its X-Forwarded-For believed: %r"
          % e["addr"])


def main():
    if len(sys.argv) < 2:
        print("usage: server_nginx.py /path/to/openfota", file=sys.stderr)
        return 2
    ngx = nginx_binary()
    if ngx is None:
        print("FAIL setup: nginx is not installed (scripts/bootstrap.sh installs nginx-light)")
        return 1
    c = Ctx()
    c.dir = tempfile.mkdtemp(prefix="openfota-nginx-")
    os.chmod(c.dir, 0o755)
    key, c.crt = os.path.join(c.dir, "key.pem"), os.path.join(c.dir, "cert.pem")
    r = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-keyout", key, "-out", c.crt, "-days", "2", "-subj", "/CN=localhost",
                        "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"], capture_output=True)
    if r.returncode:
        print("FAIL setup: openssl req: %s" % r.stderr.decode())
        return 1
    c.srv = Server(sys.argv[1], extra=["--trusted-proxies", "127.0.0.1"])
    nginx = None
    rc = 1
    try:
        c.srv.start()
        c.nport = free_port()
        with open(DOC_CONF) as f:
            conf = f.read()
        for old, new in (("listen 443 ssl;", "listen 127.0.0.1:%d ssl;" % c.nport),
                         ("server 127.0.0.1:8080;", "server 127.0.0.1:%d;" % c.srv.port),
                         ("/etc/letsencrypt/live/fota.example.com/fullchain.pem", c.crt),
                         ("/etc/letsencrypt/live/fota.example.com/privkey.pem", key)):
            check(old in conf, "docs/nginx/openfota-tls.conf no longer holds %r" % old)
            conf = conf.replace(old, new)
        tmp = os.path.join(c.dir, "tmp")
        os.mkdir(tmp)
        os.chmod(tmp, 0o777)
        main_conf = os.path.join(c.dir, "nginx.conf")
        with open(main_conf, "w") as f:
            f.write("daemon off;\nworker_processes 1;\npid %s/nginx.pid;\nerror_log %s/error.log;\n"
                    "events { worker_connections 256; }\nhttp {\n access_log off;\n"
                    " client_body_temp_path %s/body;\n proxy_temp_path %s/proxy;\n"
                    " fastcgi_temp_path %s/f;\n uwsgi_temp_path %s/u;\n scgi_temp_path %s/s;\n%s\n}\n"
                    % (c.dir, c.dir, tmp, tmp, tmp, tmp, tmp, conf))
        nginx = subprocess.Popen([ngx, "-p", c.dir, "-c", main_conf], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", c.nport), timeout=1).close()
                break
            except OSError:
                if nginx.poll() is not None:
                    raise Failure("nginx exited: %s" % nginx.stderr.read().decode())
                time.sleep(0.05)
        c.key = c.srv.add_project("nginx")
        c.pkg = os.urandom(1 << 20)
        c.srv.upload_ok(c.key, c.pkg, "1.0.2", firmware=FW)
        rc = suite.run(c)
        if c.srv.stop() not in (0, None):
            print("FAIL server did not stop cleanly")
            rc = 1
    except Failure as e:
        print("FAIL setup: %s" % e)
    finally:
        if nginx:
            nginx.terminate()
            try:
                nginx.wait(10)
            except subprocess.TimeoutExpired:
                nginx.kill()
        if rc:
            print("---- server log (tail) ----\n" + c.srv.log_text())
            try:
                with open(os.path.join(c.dir, "error.log")) as f:
                    print("---- nginx error log ----\n" + f.read()[-2000:])
            except OSError:
                pass
        c.srv.cleanup()
        shutil.rmtree(c.dir, ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())

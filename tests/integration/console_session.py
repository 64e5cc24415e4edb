#!/usr/bin/env python3
"""Console sessions and assets against the real server (python3 stdlib):
the login cookie is HttpOnly + SameSite=Strict and carries a random id, not
the token; a state-changing admin request by cookie without the session's
anti-forgery token (or from another origin) is refused; logout ends the
session; the Bearer token keeps working; assets carry their security
headers and ETags; GET /admin/v1/devices pages, filters, sorts, searches.

usage: console_session.py /path/to/openfota
"""
import http.client
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from ofharness import FW, Suite, check, main_with_server  # noqa: E402

suite = Suite("console_session")


def req(srv, method, path, body=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=15)
    h = dict(headers or {})
    data = None
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        h.setdefault("Content-Type", "application/json")
    conn.request(method, path, body=data, headers=h)
    r = conn.getresponse()
    payload = r.read()
    hdrs = r.getheaders()
    conn.close()
    try:
        obj = json.loads(payload) if payload else None
    except ValueError:
        obj = None
    return r.status, dict((k.lower(), v) for k, v in hdrs), obj, payload


def login(srv):
    st, h, obj, raw = req(srv, "POST", "/console/login", {"token": srv.token},
                          {"Origin": srv.url})
    check(st == 200, "login: expected 200, got %s %r" % (st, raw))
    cookie = h.get("set-cookie", "")
    sid = cookie.split(";")[0].split("=", 1)[1]
    return sid, obj["csrf"], cookie


@suite.case
def root_redirects_to_login(srv):
    st, h, _, _ = req(srv, "GET", "/")
    check(st == 303 and h.get("location") == "/login", "GET / without session: %s %r" % (st, h))
    st, h, _, raw = req(srv, "GET", "/login")
    check(st == 200 and h["content-type"].startswith("text/html"), "GET /login: %s %r" % (st, h))
    check(b'name="token"' in raw and b'type="submit"' in raw, "login form has no token input or submit button")
    for name, want in (("content-security-policy", "default-src 'self'"), ("x-content-type-options", "nosniff"),
                       ("x-frame-options", "DENY"), ("referrer-policy", "no-referrer")):
        check(want in h.get(name, ""), "GET /login: header %s %r lacks %r" % (name, h.get(name), want))
    check("frame-ancestors 'none'" in h["content-security-policy"], "CSP lacks frame-ancestors")


@suite.case
def assets_etag_and_types(srv):
    for path, ct in (("/assets/app.js", "text/javascript"), ("/assets/app.css", "text/css"),
                     ("/assets/i18n/zh-CN.json", "application/json"),
                     ("/assets/vendor/uPlot.iife.min.js", "text/javascript")):
        st, h, _, raw = req(srv, "GET", path)
        check(st == 200 and h["content-type"].startswith(ct), "%s: %s %r" % (path, st, h.get("content-type")))
        check(h.get("etag") and h.get("cache-control") == "no-cache", "%s: no ETag/Cache-Control %r" % (path, h))
        st2, h2, _, raw2 = req(srv, "GET", path, headers={"If-None-Match": h["etag"]})
        check(st2 == 304 and raw2 == b"", "%s with If-None-Match: expected 304, got %s" % (path, st2))
    st, _, _, _ = req(srv, "GET", "/assets/../admin.token")
    check(st == 404, "asset path with ..: expected 404, got %s" % st)
    st, _, _, _ = req(srv, "GET", "/assets/index.html")
    check(st == 404, "/assets/index.html must not bypass the session redirect: %s" % st)


@suite.case
def cookie_flags(srv):
    sid, csrf, cookie = login(srv)
    parts = [p.strip() for p in cookie.split(";")]
    check(parts[0].startswith("openfota_session="), "cookie name: %r" % cookie)
    check("HttpOnly" in parts, "cookie not HttpOnly: %r" % cookie)
    check("SameSite=Strict" in parts, "cookie not SameSite=Strict: %r" % cookie)
    check("Secure" not in parts, "plain-http cookie marked Secure: %r" % cookie)
    check(srv.token not in cookie and len(sid) == 64, "cookie must be a random id, not the token: %r" % cookie)
    check(csrf != sid and len(csrf) == 64, "CSRF token must differ from the session id")
    st, h, _, _ = req(srv, "POST", "/console/login", {"token": srv.token},
                      {"X-Forwarded-Proto": "https"})
    check("Secure" in h.get("set-cookie", ""), "cookie over https lacks Secure: %r" % h.get("set-cookie"))
    st, h, _, raw = req(srv, "GET", "/", headers={"Cookie": "openfota_session=" + sid})
    check(st == 200 and b'id="view"' in raw, "GET / with session: %s" % st)


@suite.case
def wrong_token_refused(srv):
    st, h, obj, raw = req(srv, "POST", "/console/login", {"token": "0" * 64})
    check(st == 401 and obj and "wrong admin token" in obj["error"], "wrong token: %s %r" % (st, raw))
    check("set-cookie" not in h, "a refused login set a cookie")
    st, h, _, _ = req(srv, "POST", "/console/login", b"token=" + b"0" * 64,
                      {"Content-Type": "application/x-www-form-urlencoded"})
    check(st == 303 and h.get("location") == "/login?failed=1", "wrong token by form: %s %r" % (st, h))
    st, h, _, _ = req(srv, "POST", "/console/login", ("token=" + srv.token).encode(),
                      {"Content-Type": "application/x-www-form-urlencoded"})
    check(st == 303 and h.get("location") == "/" and "HttpOnly" in h.get("set-cookie", ""),
          "right token by form: %s %r" % (st, h))
    st, _, obj, raw = req(srv, "POST", "/console/login", {"token": srv.token},
                          {"Origin": "http://evil.example"})
    check(st == 403, "login from another origin: expected 403, got %s %r" % (st, raw))
    st, _, _, _ = req(srv, "POST", "/console/login", b"x" * 5000, {"Content-Type": "application/json"})
    check(st == 413, "oversized login body: expected 413, got %s" % st)


@suite.case
def csrf_required_for_changes(srv):
    sid, csrf, _ = login(srv)
    ck = {"Cookie": "openfota_session=" + sid}
    st, _, obj, raw = req(srv, "GET", "/admin/v1/projects", headers=ck)
    check(st == 200 and "projects" in obj, "GET by cookie: %s %r" % (st, raw))
    st, _, obj, raw = req(srv, "POST", "/admin/v1/projects", {"name": "x"}, ck)
    check(st == 403 and "X-CSRF-Token" in obj["error"], "POST by cookie without CSRF: %s %r" % (st, raw))
    st, _, obj, raw = req(srv, "POST", "/admin/v1/projects", {"name": "x"}, dict(ck, **{"X-CSRF-Token": "a" * 64}))
    check(st == 403, "POST by cookie with a wrong CSRF: %s %r" % (st, raw))
    st, _, obj, raw = req(srv, "POST", "/admin/v1/projects", {"name": "x"},
                          dict(ck, **{"X-CSRF-Token": csrf, "Origin": "http://evil.example"}))
    check(st == 403 and "Origin" in obj["error"], "POST with CSRF from another origin: %s %r" % (st, raw))
    st, _, obj, raw = req(srv, "POST", "/admin/v1/projects", {"name": "x"},
                          dict(ck, **{"X-CSRF-Token": csrf, "Sec-Fetch-Site": "cross-site"}))
    check(st == 403, "POST marked cross-site: %s %r" % (st, raw))
    st, _, obj, raw = req(srv, "POST", "/admin/v1/projects", {"name": "by-console"},
                          dict(ck, **{"X-CSRF-Token": csrf, "Origin": srv.url}))
    check(st == 201, "POST by cookie with CSRF and own Origin: %s %r" % (st, raw))
    st, _, obj, raw = req(srv, "GET", "/admin/v1/projects", headers={"Cookie": "openfota_session=" + "f" * 64})
    check(st == 401, "unknown session id: %s %r" % (st, raw))
    # the Bearer token works unchanged, without any CSRF header
    st, obj, raw = srv.admin("POST", "/admin/v1/projects", {"name": "by-bearer"})
    check(st == 201, "POST by Bearer: %s %r" % (st, raw))


@suite.case
def session_keeps_token_role(srv):
    st, obj, raw = srv.admin("POST", "/admin/v1/tokens", {"name": "viewer1", "role": "viewer"})
    check(st == 201 and obj.get("token"), "add a viewer token: %s %r" % (st, raw))
    st, h, sess, raw = req(srv, "POST", "/console/login", {"token": obj["token"]})
    check(st == 200 and sess["token"] == "viewer1" and sess["role"] == "viewer", "viewer login: %s %r" % (st, raw))
    sid = h["set-cookie"].split(";")[0].split("=", 1)[1]
    ck = {"Cookie": "openfota_session=" + sid}
    st, _, _, raw = req(srv, "GET", "/admin/v1/devices?limit=1", headers=ck)
    check(st == 200, "viewer session reads: %s %r" % (st, raw))
    st, _, o, raw = req(srv, "POST", "/admin/v1/projects", {"name": "nope"},
                        dict(ck, **{"X-CSRF-Token": sess["csrf"], "Origin": srv.url}))
    check(st == 403 and o.get("role_needed"), "viewer session writes: expected 403 naming the role, got %s %r"
          % (st, raw))
    st, obj, raw = srv.admin("GET", "/admin/v1/audit?limit=50")
    check(st == 200 and any(e["detail"] == "console login" and e["token"] == "viewer1" for e in obj["entries"]),
          "console login not in the audit log: %r" % raw[:400])


@suite.case
def logout_ends_session(srv):
    sid, csrf, _ = login(srv)
    ck = {"Cookie": "openfota_session=" + sid}
    st, _, obj, _ = req(srv, "GET", "/console/session", headers=ck)
    check(st == 200 and obj["csrf"] == csrf, "GET /console/session: %s" % st)
    st, _, _, raw = req(srv, "POST", "/console/logout", b"", ck)
    check(st == 403, "logout without CSRF: expected 403, got %s %r" % (st, raw))
    st, h, _, raw = req(srv, "POST", "/console/logout", b"", dict(ck, **{"X-CSRF-Token": csrf}))
    check(st == 204 and "Max-Age=0" in h.get("set-cookie", ""), "logout: %s %r" % (st, h))
    st, _, _, _ = req(srv, "GET", "/admin/v1/projects", headers=ck)
    check(st == 401, "admin GET after logout: expected 401, got %s" % st)
    st, h, _, _ = req(srv, "GET", "/", headers=ck)
    check(st == 303, "GET / after logout: expected the login redirect, got %s" % st)


@suite.case
def https_only_console(srv):
    """With --admin-tls-only the console never takes a token over plain HTTP;
    over HTTPS the session cookie is Secure."""
    import shutil
    import ssl
    import subprocess
    import tempfile
    import urllib.parse
    from ofharness import Server
    d = tempfile.mkdtemp(prefix="openfota-console-tls-")
    key, crt = os.path.join(d, "k.pem"), os.path.join(d, "c.pem")
    r = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                        "-nodes", "-keyout", key, "-out", crt, "-days", "2", "-subj", "/CN=localhost",
                        "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"], capture_output=True)
    check(r.returncode == 0, "openssl req: %r" % r.stderr)
    tsrv = Server(srv.binary, extra=["--tls-listen", "127.0.0.1:0", "--tls-cert", crt, "--tls-key", key,
                                     "--admin-tls-only"])
    try:
        tsrv.start()
        st, h, _, _ = req(tsrv, "GET", "/login")
        check(st == 303 and h.get("location", "").startswith("https://"), "plain GET /login: %s %r" % (st, h))
        st, h, obj, raw = req(tsrv, "POST", "/console/login", {"token": tsrv.token})
        check(st == 403 and "HTTPS" in obj["error"] and "set-cookie" not in h, "plain login: %s %r" % (st, raw))
        with open(os.path.join(tsrv.data, "serve.json")) as f:
            port = urllib.parse.urlsplit(json.load(f)["tls_url"]).port
        ctx = ssl.create_default_context(cafile=crt)
        conn = http.client.HTTPSConnection("localhost", port, context=ctx, timeout=15)
        conn.request("POST", "/console/login", body=json.dumps({"token": tsrv.token}),
                     headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        resp.read()
        cookie = resp.getheader("Set-Cookie") or ""
        conn.close()
        check(resp.status == 200 and "; Secure" in cookie and "HttpOnly" in cookie,
              "HTTPS login: %s %r" % (resp.status, cookie))
    finally:
        tsrv.stop()
        tsrv.cleanup()
        shutil.rmtree(d, ignore_errors=True)


@suite.case
def device_list_query(srv):
    key = srv.add_project("fleet")
    srv.upload_ok(key, b"raw package body " * 8, "2012.001.009")
    import luatbin
    pkg = luatbin.build(luatbin.script_image(3000, seed=3))
    up = srv.upload_ok(key, pkg, "2012.001.010", firmware=FW + "_L")
    st, got, raw = srv.admin("GET", "/admin/v1/packages/%d" % up["id"])
    for obj in (up, got):
        lu = obj.get("luat") or {}
        check(lu.get("magic") == "0xEAC37218" and lu.get("common_len") == 3000 and lu.get("sdk_len") == 0
              and lu.get("script_only") is True, "luat header fields: %r" % lu)
    ids = ["86000000000%04d" % i for i in range(30)]
    for i, d in enumerate(ids):
        ver = "2012.001.%03d" % (1 + i % 3)
        r = srv.module_check(d, key, FW, ver)
        check(r.status in (200, 404), "check %s: %s" % (d, r.status))
    st, obj, raw = srv.admin("GET", "/admin/v1/devices?limit=10")
    check(st == 200 and obj["total"] == 30 and len(obj["devices"]) == 10, "page 1: %r" % raw[:200])
    check([d["id"] for d in obj["devices"]] == ids[:10], "default order is by ID")
    st, obj, _ = srv.admin("GET", "/admin/v1/devices?limit=10&offset=25")
    check(obj["total"] == 30 and [d["id"] for d in obj["devices"]] == ids[25:], "last page: %r" % obj)
    st, obj, _ = srv.admin("GET", "/admin/v1/devices?limit=5&order=desc")
    check([d["id"] for d in obj["devices"]] == ids[::-1][:5], "desc order: %r" % obj)
    st, obj, _ = srv.admin("GET", "/admin/v1/devices?q=0002&limit=100")
    check(obj["total"] == 11 and all("0002" in d["id"] for d in obj["devices"]), "q=0002: %r" % obj)
    st, obj, _ = srv.admin("GET", "/admin/v1/devices?version=2012.1.2&limit=100")
    check(obj["total"] == 10 and all(d["version"] == "2012.001.002" for d in obj["devices"]), "version: %r" % obj)
    st, obj, _ = srv.admin("GET", "/admin/v1/devices?firmware=%s&limit=0" % FW)
    check(obj["total"] == 30 and obj["devices"] == [], "firmware + limit=0: %r" % obj)
    st, obj, _ = srv.admin("GET", "/admin/v1/devices?firmware=OTHER")
    check(obj["total"] == 0, "unknown firmware: %r" % obj)
    st, obj, _ = srv.admin("GET", "/admin/v1/devices?sort=version&order=desc&limit=10")
    vs = [d["version"] for d in obj["devices"]]
    check(vs == ["2012.001.003"] * 10, "sort=version desc: %r" % vs)
    st, obj, _ = srv.admin("GET", "/admin/v1/devices?sort=last_seen&limit=3")
    check(st == 200 and len(obj["devices"]) == 3, "sort=last_seen: %s" % st)
    for bad in ("sort=size", "order=up", "version=1.2", "state=odd", "limit=x"):
        st, obj, raw = srv.admin("GET", "/admin/v1/devices?" + bad)
        check(st == 400 and obj.get("error"), "?%s: expected 400, got %s %r" % (bad, st, raw))
    r = srv.cli("device", "list", "--search", "0002", "--sort", "id", "--order", "desc")
    check(r.returncode == 0 and ids[22] in r.stdout and ids[1] not in r.stdout,
          "CLI device list --search: %s %r %r" % (r.returncode, r.stdout[-300:], r.stderr))


if __name__ == "__main__":
    sys.exit(main_with_server(suite))

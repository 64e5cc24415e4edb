#!/usr/bin/python3
"""GET /metrics and GET /admin/v1/stats against the real server.

/metrics is parsed with Prometheus' own text-format parser
(prometheus_client.parser, Debian's python3-prometheus-client: run this
script with /usr/bin/python3). After a known set of device checks (codes 27,
25, 4, 0 and 40), whole deliveries, a download cut short by the device, a
failed upgrade detected at a check and one reported by the device, the
counters must equal exactly what was sent; the bytes equal the packages
delivered plus what the server recorded for the cut download. Without the
admin token /metrics and /admin/v1/stats answer 401.

/admin/v1/stats: the current minute's bucket shows the checks, deliveries,
failed upgrades and the cut download of this run; devices and versions agree
with GET /admin/v1/devices.

usage: server_metrics.py /path/to/openfota
"""
import os
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from ofharness import (FW, Failure, Suite, check, expect_code, expect_package,  # noqa: E402
                       main_with_server, module_bytes, parse_response, recv_all)
import luatbin  # noqa: E402

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:
    print("FAIL prometheus_client is not importable by %s: install python3-prometheus-client "
          "(scripts/bootstrap.sh) and run this test with /usr/bin/python3" % sys.executable)
    sys.exit(1)

suite = Suite("server_metrics")


class Ctx:
    pass


def imei(n):
    return "86%013d" % n


def setup(srv):
    c = Ctx()
    c.srv = srv
    c.pkg_a = luatbin.build(luatbin.script_image(4000, seed=11))
    c.pkg_b = luatbin.build(luatbin.script_image(3000, seed=12))
    # bigger than what loopback socket buffers hold, so the cut is a real cut
    c.pkg_c = luatbin.build(os.urandom(12 << 20))
    c.key_a = srv.add_project("metrics-a")
    c.key_b = srv.add_project("metrics-b")
    c.key_c = srv.add_project("metrics-c")
    st, _, raw = srv.admin("PATCH", "/admin/v1/projects/" + c.key_b, {"max_daily_deliveries": 1})
    check(st == 200, "PATCH max_daily_deliveries: %s %r" % (st, raw))
    srv.upload_ok(c.key_a, c.pkg_a, "2012.1.2")
    srv.upload_ok(c.key_b, c.pkg_b, "2012.1.2")
    srv.upload_ok(c.key_c, c.pkg_c, "2012.1.2")
    return c


def scrape(c, token="ok"):
    hdrs = []
    if token == "ok":
        hdrs.append(("Authorization", "Bearer " + c.srv.token))
    elif token:
        hdrs.append(("Authorization", token))
    return c.srv.get("/metrics", headers=hdrs)


def metrics(c):
    r = scrape(c)
    check(r.status == 200, "GET /metrics with the token: %s" % r.describe())
    ctype = r.header("content-type") or ""
    check(ctype.startswith("text/plain") and "version=0.0.4" in ctype,
          "GET /metrics: Content-Type %r, expected text/plain; version=0.0.4" % ctype)
    fams = {}
    samples = {}
    for fam in text_string_to_metric_families(r.body.decode("utf-8")):
        fams[fam.name] = fam
        for s in fam.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return fams, samples


def val(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def check_url(c, key, ident, version, fw=FW):
    return ("/api/site/firmware_upgrade?imei=%s&project_key=%s&firmware_name=%s&version=%s"
            % (ident, key, fw, version))


def cut_download(c, target):
    """Asks for a package, reads a little of it, then resets the connection."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(10)
    s.connect(("127.0.0.1", c.srv.port))
    s.sendall(module_bytes(c.srv.port, target))
    got = b""
    while len(got) < 32768:
        d = s.recv(8192)
        check(d, "the big package's download ended after %d bytes" % len(got))
        got += d
    check(got.startswith(b"HTTP/1.1 200"), "cut download: expected 200, got %r" % got[:100])
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    s.close()
    return len(got) - (got.find(b"\r\n\r\n") + 4)


def wait_until(what, fn, timeout=10):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        ok, last = fn()
        if ok:
            return last
        time.sleep(0.1)
    raise Failure("%s: not reached within %ss; last %r" % (what, timeout, last))


@suite.case
def metrics_need_the_admin_token(c):
    for tok, what in ((None, "no Authorization"), ("Bearer wrong-token-000000", "a wrong token"),
                      ("Basic " + c.srv.token, "the token as Basic")):
        r = scrape(c, tok)
        check(r.status == 401, "GET /metrics with %s: expected 401, got %s" % (what, r.describe()))
        check(b"openfota_" not in r.body, "the 401 answer carries metrics: %r" % r.body[:200])
    r = c.srv.get("/admin/v1/stats")
    check(r.status == 401, "GET /admin/v1/stats without a token: expected 401, got %s" % r.describe())
    r = c.srv.get("/metrics", headers=[("Authorization", "Bearer " + c.srv.token)], method="POST")
    check(r.status == 405, "POST /metrics: expected 405, got %s" % r.describe())
    # the least role, viewer, may scrape and read the stats; a revoked token may not
    st, obj, raw = c.srv.admin("POST", "/admin/v1/tokens", {"name": "prometheus", "role": "viewer"})
    check(st == 201 and obj and obj.get("token"), "POST /admin/v1/tokens (viewer): %s %r" % (st, raw))
    viewer = "Bearer " + obj["token"]
    r = scrape(c, viewer)
    check(r.status == 200 and b"openfota_checks_total" in r.body,
          "GET /metrics with a viewer token: expected 200 with metrics, got %s" % r.describe())
    r = c.srv.get("/admin/v1/stats", headers=[("Authorization", viewer)])
    check(r.status == 200 and "minutes" in (r.json() or {}),
          "GET /admin/v1/stats with a viewer token: %s" % r.describe())
    st, _, raw = c.srv.admin("DELETE", "/admin/v1/tokens/prometheus")
    check(st == 204, "DELETE /admin/v1/tokens/prometheus: %s %r" % (st, raw))
    r = scrape(c, viewer)
    check(r.status == 401, "GET /metrics with a revoked token: expected 401, got %s" % r.describe())


NAMES = {
    # family name as the parser gives it (counters lose _total): type
    "openfota_checks": "counter",
    "openfota_deliveries": "counter",
    "openfota_downloads_cut": "counter",
    "openfota_bytes_sent": "counter",
    "openfota_check_duration_seconds": "histogram",
    "openfota_writer_queue_depth": "gauge",
    "openfota_writer_commit_seconds": "histogram",
    "openfota_push_connections": "gauge",
    "openfota_rollouts": "gauge",
    "openfota_devices": "gauge",
}


@suite.case
def metrics_named_and_typed(c):
    fams, samples = metrics(c)
    for name, typ in NAMES.items():
        check(name in fams, "family %s missing; have %s" % (name, sorted(fams)))
        check(fams[name].type == typ, "%s: type %s, expected %s" % (name, fams[name].type, typ))
    for st in ("running", "paused", "cancelled"):
        check(("openfota_rollouts", (("state", st),)) in samples, "openfota_rollouts{state=%r} missing" % st)
    for st in ("banned", "forbidden", "failed"):
        check(("openfota_devices", (("state", st),)) in samples, "openfota_devices{state=%r} missing" % st)
    for h in ("openfota_check_duration_seconds", "openfota_writer_commit_seconds"):
        check(val(samples, h + "_bucket", le="+Inf") == val(samples, h + "_count"),
              "%s: +Inf bucket differs from _count" % h)


@suite.case
def counters_match_what_was_sent(c):
    srv = c.srv
    # run the checks in one minute, so that the stats' current minute holds them all
    if time.time() % 60 > 40:
        time.sleep(61 - time.time() % 60)
    before_stats = srv.admin("GET", "/admin/v1/stats")[1]
    _, b0 = metrics(c)
    n = {}

    def sent(code):
        n[code] = n.get(code, 0) + 1
    for i in range(5):  # already on the latest version
        expect_code(srv.module_check(imei(100 + i), c.key_a, FW, "2012.1.2"), 27, "latest")
        sent(27)
    for i in range(2):
        expect_code(srv.module_check(imei(200 + i), "no-such-project", FW, "2012.1.1"), 25, "unknown project")
        sent(25)
    expect_code(srv.module_check(imei(300), c.key_a, FW, "not-a-version"), 4, "bad version")
    sent(4)
    for i in range(3):  # whole deliveries
        expect_package(srv.module_check(imei(400 + i), c.key_a, FW, "2012.1.1"), c.pkg_a, "delivery %d" % i)
        sent(0)
    # project B allows one delivery a day: the device gets it, comes back on
    # the old version (a failed upgrade) and is banned (code 40)
    expect_package(srv.module_check(imei(500), c.key_b, FW, "2012.1.1"), c.pkg_b, "delivery in B")
    sent(0)
    expect_code(srv.module_check(imei(500), c.key_b, FW, "2012.1.1"), 40, "second delivery in B")
    sent(40)
    # the device itself reports a failed upgrade
    body = b'{"id":"%s","version":"2012.1.2","state":"failed","reason":"test"}' % imei(400).encode()
    r = srv.raw(b"POST /api/v1/device/status HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
                b"Connection: close\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
    check(r.status == 204, "status report failed: %s" % r.describe())
    # a download the device cuts short
    received = cut_download(c, check_url(c, c.key_c, imei(600), "2012.1.1"))
    sent(0)
    st, _, raw = srv.admin("POST", "/admin/v1/devices/%s/forbid" % imei(100))
    check(st in (200, 204), "forbid: %s %r" % (st, raw))

    total = sum(n.values())
    deliveries = 4
    b1 = {}

    def cut_counted():
        b1.clear()
        b1.update(metrics(c)[1])
        d = val(b1, "openfota_downloads_cut_total") - val(b0, "openfota_downloads_cut_total")
        return d == 1, "openfota_downloads_cut_total went up by %s" % d
    wait_until("the cut download counted once", cut_counted)
    for code, k in sorted(n.items()):
        got = val(b1, "openfota_checks_total", code=str(code)) - val(b0, "openfota_checks_total", code=str(code))
        check(got == k, "openfota_checks_total{code=\"%d\"} went up by %s, %d such checks were sent" % (code, got, k))
    others = sum(v for (nm, lb), v in b1.items() if nm == "openfota_checks_total") - \
        sum(v for (nm, lb), v in b0.items() if nm == "openfota_checks_total")
    check(others == total, "openfota_checks_total went up by %s in all, %d checks were sent" % (others, total))
    d = val(b1, "openfota_deliveries_total") - val(b0, "openfota_deliveries_total")
    check(d == deliveries, "openfota_deliveries_total went up by %s, expected %d" % (d, deliveries))
    d = val(b1, "openfota_check_duration_seconds_count") - val(b0, "openfota_check_duration_seconds_count")
    check(d == total, "openfota_check_duration_seconds_count went up by %s, expected %d" % (d, total))
    d = val(b1, "openfota_failed_upgrades_total") - val(b0, "openfota_failed_upgrades_total")
    check(d == 2, "openfota_failed_upgrades_total went up by %s, expected 2 (one detected, one reported)" % d)
    # the bytes: three packages of A, one of B, and what the server says the cut download took
    hist = srv.admin("GET", "/admin/v1/devices/%s?history=5" % imei(600))[1]["history"]
    cut_ev = [e for e in hist if e.get("code") == 0 and not e.get("complete")]
    check(len(cut_ev) == 1, "history of the cut download's device: %r" % hist)
    cut_bytes = cut_ev[0]["bytes_sent"]
    check(received <= cut_bytes < len(c.pkg_c),
          "the cut download is recorded with %d bytes; the device read %d of %d" % (cut_bytes, received, len(c.pkg_c)))
    want = 3 * len(c.pkg_a) + len(c.pkg_b) + cut_bytes
    d = val(b1, "openfota_bytes_sent_total") - val(b0, "openfota_bytes_sent_total")
    check(d == want, "openfota_bytes_sent_total went up by %d, expected %d (3 x %d + %d + %d cut)"
          % (d, want, len(c.pkg_a), len(c.pkg_b), cut_bytes))
    for st, k in (("banned", 1), ("forbidden", 1), ("failed", 1)):
        got = val(b1, "openfota_devices", state=st)
        check(got == k, "openfota_devices{state=%r} is %s, expected %d" % (st, got, k))
    check(val(b1, "openfota_writer_commit_seconds_count") > 0, "no writer commit was timed")

    # the console's overview: this minute's bucket holds exactly this run
    st, stats, raw = srv.admin("GET", "/admin/v1/stats")
    check(st == 200 and isinstance(stats, dict), "GET /admin/v1/stats: %s %r" % (st, raw[:300]))
    check(set(stats) == {"now", "minutes", "devices", "versions"}, "stats keys: %r" % sorted(stats))
    check(abs(stats["now"] - time.time()) < 5, "stats now %r is not the time" % stats["now"])
    mins = stats["minutes"]
    check(len(mins) == 60, "stats: %d minutes, expected 60" % len(mins))
    for i, m in enumerate(mins):
        check(set(m) == {"t", "checks", "deliveries", "failed", "cut"}, "minute keys: %r" % m)
        check(m["t"] % 60 == 0, "minute %r does not start a minute" % m)
        if i:
            check(m["t"] == mins[i - 1]["t"] + 60, "minutes not consecutive: %r" % mins[i - 1:i + 1])
    cur = mins[-1]
    check(cur["t"] == stats["now"] // 60 * 60, "the last minute %r is not the current one (now %d)"
          % (cur, stats["now"]))
    prev = before_stats["minutes"][-1]
    base = prev if prev["t"] == cur["t"] else {"checks": 0, "deliveries": 0, "failed": 0, "cut": 0}
    for k, want_k in (("checks", total), ("deliveries", deliveries), ("failed", 2), ("cut", 1)):
        check(cur[k] - base[k] == want_k, "stats: the current minute's %s went up by %d, expected %d: %r"
              % (k, cur[k] - base[k], want_k, cur))
    all_checks = sum(m["checks"] for m in mins)
    check(all_checks == sum(v for (nm, lb), v in b1.items() if nm == "openfota_checks_total"),
          "stats: %d checks in the last hour, /metrics counts %s since start"
          % (all_checks, sum(v for (nm, lb), v in b1.items() if nm == "openfota_checks_total")))

    # devices and versions agree with the device list
    devs = srv.admin("GET", "/admin/v1/devices")[1]["devices"]
    dv = stats["devices"]
    check(dv == {"total": len(devs), "banned": sum(1 for x in devs if x["banned"]),
                 "forbidden": sum(1 for x in devs if x["forbidden"]),
                 "failed": sum(1 for x in devs if x["failed_upgrades"] > 0)},
          "stats devices %r do not match the device list (%d devices)" % (dv, len(devs)))
    check(dv["banned"] == 1 and dv["forbidden"] == 1 and dv["failed"] == 1, "stats devices: %r" % dv)
    want_v = {}
    for x in devs:
        if x["project"] and x["firmware"] and x["version"]:
            k = (x["project"], x["firmware"], x["version"])
            want_v[k] = want_v.get(k, 0) + 1
    got_v = {(v["project"], v["firmware"], v["version"]): v["devices"] for v in stats["versions"]}
    check(len(got_v) == len(stats["versions"]), "stats versions repeat a group: %r" % stats["versions"])
    check(got_v == want_v, "stats versions %r, the device list says %r" % (got_v, want_v))
    check(got_v.get((c.key_a, FW, "2012.001.002")) == 5 and got_v.get((c.key_a, FW, "2012.001.001")) == 3,
          "stats versions of project A: %r" % got_v)

    # `openfota status` sums it up
    r = srv.cli("status")
    check(r.returncode == 0, "openfota status: exit %s\n%s%s" % (r.returncode, r.stdout, r.stderr))
    hour = [ln for ln in r.stdout.splitlines() if ln.startswith("last hour:")]
    want_h = "%d checks, %d deliveries, 2 failed upgrades, 1 downloads cut" % (all_checks, deliveries)
    check(hour and hour[0].split(":", 1)[1].strip() == want_h,
          "openfota status: expected 'last hour: %s', got:\n%s" % (want_h, r.stdout))
    check("device states:     1 banned, 1 forbidden, 1 with a failed upgrade" in r.stdout,
          "openfota status: device states line missing or wrong:\n%s" % r.stdout)


if __name__ == "__main__":
    sys.exit(main_with_server(suite, setup))

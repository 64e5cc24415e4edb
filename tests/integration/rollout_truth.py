#!/usr/bin/env python3
"""Rollouts that tell the truth, with the real server (stdlib only).

usage: rollout_truth.py OPENFOTA_BINARY SCENARIO
  held      devices a staged rollout holds back get HTTP 404 with code 60
            (not 27) and a history note saying which hold (stage, rate cap,
            paused); the simulator's libfota2 profile counts them as held,
            not failed
  webhooks  rollout.paused, rollout.finished and device.banned are POSTed to
            a local receiver, signed (X-Openfota-Signature: sha256=HMAC of
            the raw body); a receiver failing its first tries gets the event
            on a retry; an event that keeps failing is dropped after
            --webhook-tries tries (logged); https:// URLs are refused at start
  drafts    a package uploaded as a draft (package add --draft) is offered to
            no device until a rollout of it starts (then to its devices) or
            it is released (package release ID)
"""
import hashlib
import hmac
import http.server
import json
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import ofharness  # noqa: E402

FW = ofharness.FW
CHECK = "/api/site/firmware_upgrade?"


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def need(cond, msg):
    if not cond:
        fail(msg)


def admin(srv, method, path, body=None, want=(200,)):
    st, obj, raw = srv.admin(method, "/admin/v1" + path, body)
    need(st in want, "%s %s: expected %s, got %d %r" % (method, path, want, st, raw[:400]))
    return obj


def check(srv, dev, key, version):
    return srv.get("%simei=%s&project_key=%s&firmware_name=%s&version=%s" % (CHECK, dev, key, FW, version))


def history_note(srv, dev, want, timeout=10):
    """Waits for the history writer, returns the newest note containing want."""
    deadline = time.time() + timeout
    notes = []
    while time.time() < deadline:
        d = admin(srv, "GET", "/devices/%s?history=5" % dev)
        notes = [e.get("note") or "" for e in d.get("history", [])]
        for n in notes:
            if want in n:
                return n
        time.sleep(0.1)
    fail("device %s: no history note with %r; notes %r" % (dev, want, notes))


def rollout(srv, pkg, stages, **extra):
    body = {"package": str(pkg), "stages": stages}
    body.update(extra)
    return admin(srv, "POST", "/rollouts", body, want=(201,))


def scenario_held(binary):
    srv = ofharness.Server(binary, extra=["--push-rate", "0.01"])  # one token, then the cap
    try:
        srv.start()
        # a 1% stage: nearly every device is held back by the stage
        key = srv.add_project("held-stage")
        pkg = srv.upload_ok(key, os.urandom(4096), "2012.001.001")
        r1 = rollout(srv, pkg["id"], [1, 100])
        held = None
        for i in range(50):
            dev = "86000000010%04d" % i
            r = check(srv, dev, key, "2012.001.000")
            if r.status == 404 and r.code() == 60:
                held = dev
                break
        need(held, "no device of 50 was held back by a 1% stage with code 60")
        ofharness.expect_code(r, 60, "held by stage")
        need(r.status == 404, "held answer status %d, expected 404 (libfota2: no upgrade)" % r.status)
        need("(stage)" in r.json()["msg"], "message does not say stage: %r" % r.json()["msg"])
        need(not r.body.startswith(b"\x00") and r.header("content-type") == "application/json",
             "held answer must be a JSON error, never a package")
        note = history_note(srv, held, "held back: stage")
        need(r1["id"] in note, "history note %r does not name the rollout" % note)

        # the rate cap: a 100% stage, the one token goes to the first device
        key2 = srv.add_project("held-rate")
        pkg2 = srv.upload_ok(key2, os.urandom(4096), "2012.001.001")
        r2 = rollout(srv, pkg2["id"], [100])
        first = check(srv, "860000000200001", key2, "2012.001.000")
        need(first.status == 200, "first device of a 100%% stage: %s" % first.describe())
        second = check(srv, "860000000200002", key2, "2012.001.000")
        ofharness.expect_code(second, 60, "held by the rate cap")
        need("rate cap" in second.json()["msg"], "message does not say rate cap: %r" % second.json()["msg"])
        history_note(srv, "860000000200002", "held back: rate cap")

        # paused: a new device is held for that
        admin(srv, "POST", "/rollouts/%s/pause" % r2["id"], {"reason": "test"})
        third = check(srv, "860000000200003", key2, "2012.001.000")
        ofharness.expect_code(third, 60, "held by a paused rollout")
        history_note(srv, "860000000200003", "held back: paused")

        # a project without a rollout still says 27 for "already latest"
        latest = check(srv, "860000000200001", key2, "2012.001.001")
        ofharness.expect_code(latest, 27, "already latest")

        # the simulator's libfota2 profile: held, not failed
        out = subprocess.run([binary, "sim", "--url", srv.url + CHECK, "--project-key", key, "--firmware", FW,
                              "--version", "2012.001.000", "--devices", "40", "--schedule", "once", "--json",
                              "--expect", "none-failed", "--expect", "held>=30"],
                             capture_output=True, text=True, timeout=120)
        need(out.returncode == 0, "sim exit %d:\n%s\n%s" % (out.returncode, out.stdout[-2000:], out.stderr[-2000:]))
        s = json.loads(out.stdout.strip().splitlines()[-1])
        need(s["failed"] == 0 and s["held"] >= 30 and s["codes"].get("60", 0) >= 30,
             "sim summary: %r" % {k: s.get(k) for k in ("failed", "held", "upgraded", "codes")})
        print("held: stage/rate cap/paused answered 60; sim held %d, failed %d, codes %r"
              % (s["held"], s["failed"], s["codes"]))
    finally:
        srv.cleanup()


class Receiver:
    """A local webhook receiver: answers 500 to the first `fail_first`
    requests, then 200 (or 500 forever when always_fail is set)."""

    def __init__(self, fail_first):
        self.fail_first = fail_first
        self.always_fail = False
        self.got = []      # (headers dict, raw body, status answered)
        self.lock = threading.Lock()
        rec = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                with rec.lock:
                    fail_now = rec.always_fail or len(rec.got) < rec.fail_first
                    st = 500 if fail_now else 200
                    rec.got.append(({k.lower(): v for k, v in self.headers.items()}, body, st))
                self.send_response(st)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.port = self.httpd.server_address[1]
        self.t = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.t.start()

    def delivered(self, event):
        with self.lock:
            return [(h, b) for h, b, st in self.got if st == 200 and h.get("x-openfota-event") == event]

    def wait(self, event, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            d = self.delivered(event)
            if d:
                return d[0]
            time.sleep(0.1)
        with self.lock:
            seen = [(h.get("x-openfota-event"), st) for h, b, st in self.got]
        fail("webhook %s not delivered within %ds; requests seen: %r" % (event, timeout, seen))

    def stop(self):
        self.httpd.shutdown()


def verify(secret, headers, body, event):
    sig = headers.get("x-openfota-signature", "")
    want = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    need(hmac.compare_digest(sig, want), "%s: signature %r, expected %r" % (event, sig, want))
    need(headers.get("content-type") == "application/json", "%s: content type %r" % (event, headers))
    j = json.loads(body)
    need(j["event"] == event and isinstance(j["time"], int) and j["id"] == headers.get("x-openfota-delivery"),
         "%s: body %r" % (event, j))
    return j


def scenario_webhooks(binary):
    # only http:// is accepted
    bad = subprocess.run([binary, "serve", "--listen", "127.0.0.1:0", "--data", "/nonexistent-openfota",
                          "--webhook-url", "https://127.0.0.1:1/hook"], capture_output=True, text=True, timeout=30)
    need(bad.returncode != 0 and "http://" in (bad.stderr + bad.stdout),
         "an https:// webhook URL must be refused with a message: rc %d %r" % (bad.returncode, bad.stderr))

    rec = Receiver(fail_first=2)
    secret = os.urandom(16).hex().encode()
    srv = ofharness.Server(binary)
    os.makedirs(srv.data, exist_ok=True)
    spath = os.path.join(srv.data, "hook.secret")
    with open(spath, "wb") as f:
        f.write(secret + b"\n")
    os.chmod(spath, 0o600)
    srv.extra = ["--webhook-url", "http://127.0.0.1:%d/hook" % rec.port, "--webhook-secret-file", spath,
                 "--webhook-tries", "3"]
    try:
        srv.start()
        # rollout.paused: the receiver fails twice, the third try gets it
        key = srv.add_project("hooks")
        pkg = srv.upload_ok(key, os.urandom(4096), "2012.001.001")
        r = rollout(srv, pkg["id"], [100], promote_percent=100)
        t0 = time.time()
        admin(srv, "POST", "/rollouts/%s/pause" % r["id"], {"reason": "field reports"})
        h, body = rec.wait("rollout.paused")
        took = time.time() - t0
        j = verify(secret, h, body, "rollout.paused")
        need(j["data"]["rollout"] == r["id"] and j["data"]["reason"] == "field reports" and not j["data"]["by_rule"],
             "rollout.paused data %r" % j["data"])
        with rec.lock:
            tries = [st for hh, b, st in rec.got if hh.get("x-openfota-delivery") == j["id"]]
        need(tries == [500, 500, 200], "tries of the paused event: %r (expected two failures, then 200)" % tries)
        need(took >= 2.5, "retries came too fast (%.1fs for 3 tries; back-off 1 s, 2 s)" % took)

        # rollout.finished: the one device of the 100% stage succeeds
        admin(srv, "POST", "/rollouts/%s/resume" % r["id"])
        dev = "860000000300001"
        p = check(srv, dev, key, "2012.001.000")
        need(p.status == 200, "device of the rollout: %s" % p.describe())
        ofharness.expect_code(check(srv, dev, key, "2012.001.001"), 27, "on the target")
        h, body = rec.wait("rollout.finished")
        j = verify(secret, h, body, "rollout.finished")
        need(j["data"]["rollout"] == r["id"] and j["data"]["succeeded"] == 1, "finished data %r" % j["data"])
        st = admin(srv, "GET", "/rollouts/" + r["id"])
        need(isinstance(st.get("finished_at"), int), "rollout finished_at %r" % st.get("finished_at"))

        # device.banned: the loop guard (1 delivery a day) bans the second ask
        key2 = srv.add_project("hooks-ban")
        admin(srv, "PATCH", "/projects/" + key2, {"max_daily_deliveries": 1})
        srv.upload_ok(key2, os.urandom(4096), "2012.001.001")
        bdev = "860000000300002"
        need(check(srv, bdev, key2, "2012.001.000").status == 200, "first delivery")
        ofharness.expect_code(check(srv, bdev, key2, "2012.001.000"), 40, "loop guard")
        h, body = rec.wait("device.banned")
        j = verify(secret, h, body, "device.banned")
        need(j["data"]["device"] == bdev and j["data"]["project"] == key2 and "banned" in j["data"]["reason"],
             "device.banned data %r" % j["data"])

        # a receiver that keeps failing: dropped after 3 tries, logged
        with rec.lock:
            rec.always_fail = True
            before = len(rec.got)
        admin(srv, "POST", "/rollouts/%s/cancel" % r["id"])
        deadline = time.time() + 20
        while time.time() < deadline and "dropped after 3 tries" not in srv.log_text():
            time.sleep(0.2)
        need("dropped after 3 tries" in srv.log_text(), "no 'dropped after 3 tries' in the log:\n" + srv.log_text())
        time.sleep(1.5)
        with rec.lock:
            after = [(hh.get("x-openfota-event"), s) for hh, b, s in rec.got[before:]]
        need(after == [("rollout.cancelled", 500)] * 3, "tries of the failing event: %r" % after)
        wh = admin(srv, "GET", "/status")["webhooks"]
        need(wh and wh["failed"] == 1 and wh["delivered"] == 3 and wh["retries"] >= 4 and wh["waiting"] == 0,
             "status webhooks counters: %r" % wh)
        print("webhooks: paused (after 2 failures, %.1fs), finished, banned delivered and signed; "
              "a failing event dropped after 3 tries" % took)
    finally:
        srv.cleanup()
        rec.stop()


def add_draft(srv, key, version, data):
    path = os.path.join(srv.data, "draft-%s.bin" % version)
    with open(path, "wb") as f:
        f.write(data)
    out = srv.cli("package", "add", "--project", key, "--firmware", FW, "--version", version, "--raw", "--draft",
                  path, "--json")
    need(out.returncode == 0, "package add --draft: %s %s" % (out.stdout, out.stderr))
    j = json.loads(out.stdout)
    need(j["draft"] is True, "package add --draft answered %r" % j)
    return j


def scenario_drafts(binary):
    srv = ofharness.Server(binary)
    try:
        srv.start()
        key = srv.add_project("drafts")
        old = srv.upload_ok(key, os.urandom(2048), "2012.001.001")
        need(old["draft"] is False, "an ordinary upload is not a draft: %r" % old)
        draft_data = os.urandom(3000)
        d = add_draft(srv, key, "2012.001.002", draft_data)
        # no rollout: nobody is offered the draft
        r = check(srv, "860000000400001", key, "2012.001.000")
        need(r.status == 200 and r.header("x-openfota-version") == "2012.001.001",
             "device on 000 must get the released 001, not the draft: %s" % r.describe())
        ofharness.expect_code(check(srv, "860000000400002", key, "2012.001.001"), 27, "only a draft is newer")
        got = admin(srv, "GET", "/packages/%s" % d["id"])
        need(got["draft"] is True, "GET package: draft %r" % got.get("draft"))
        # a rollout of the draft offers it to its devices
        ro = rollout(srv, d["id"], [100], promote_percent=0)
        r = check(srv, "860000000400002", key, "2012.001.001")
        need(r.status == 200 and r.body == draft_data, "the rollout of a draft must offer it: %s" % r.describe())
        # cancelled: the draft is out of reach again
        admin(srv, "POST", "/rollouts/%s/cancel" % ro["id"])
        r = check(srv, "860000000400003", key, "2012.001.001")
        need(r.status >= 300, "a cancelled rollout's draft must not be offered: %s" % r.describe())

        # release (another project, no rollout): offered to every eligible device
        key2 = srv.add_project("drafts-release")
        d2 = add_draft(srv, key2, "2012.001.002", draft_data)
        ofharness.expect_code(check(srv, "860000000400004", key2, "2012.001.001"), 27, "draft before release")
        out = srv.cli("package", "release", str(d2["id"]))
        need(out.returncode == 0 and "released" in out.stdout, "package release: %s %s" % (out.stdout, out.stderr))
        need(admin(srv, "GET", "/packages/%s" % d2["id"])["draft"] is False, "released package still a draft")
        r = check(srv, "860000000400004", key2, "2012.001.001")
        need(r.status == 200 and r.body == draft_data, "released package not offered: %s" % r.describe())
        admin(srv, "POST", "/packages/999999/release", want=(404,))
        st, obj, raw = srv.admin("POST", "/admin/v1/projects/%s/packages?firmware=%s&version=2012.001.003&raw=1&draft=maybe"
                                 % (key2, FW), raw=b"x" * 10)
        need(st == 422 and "draft" in obj["error"], "a bad draft argument: %d %r" % (st, raw[:200]))
        # the draft flag survives a restart (store column)
        srv.stop()
        srv.start()
        need(admin(srv, "GET", "/packages/%s" % d["id"])["draft"] is True, "draft flag lost at restart")
        need(admin(srv, "GET", "/packages/%s" % d2["id"])["draft"] is False, "release lost at restart")
        print("drafts: offered only through its rollout, or after release")
    finally:
        srv.cleanup()


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    binary, scenario = sys.argv[1], sys.argv[2]
    {"held": scenario_held, "webhooks": scenario_webhooks, "drafts": scenario_drafts}[scenario](binary)
    print("PASS " + scenario)
    return 0


if __name__ == "__main__":
    sys.exit(main())

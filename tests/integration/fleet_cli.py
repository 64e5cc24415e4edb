#!/usr/bin/env python3
"""`openfota push` and `openfota rollout` against a recording stand-in for the
admin API (stdlib only; the real server is exercised by fleet_e2e.py).

usage: fleet_cli.py OPENFOTA_BINARY

Checks what each command sends (method, path, JSON body, bearer token), how
it finds the server (--url/--token, OPENFOTA_URL/OPENFOTA_TOKEN, --data DIR
with serve.json and admin.token), what it prints, and its exit status: 0 on
success, 1 when the server refuses (its error and hint are shown), 2 on a
usage error (nothing is sent).
"""
import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading

TOKEN = "t0ken"
ROLLOUT = {"id": "r1", "project": "demo", "firmware": "FW", "package": "7", "target_version": "2012.001.001",
           "state": "paused", "stage": 1, "percent": 1.0, "last_stage": False,
           "pause_reason": "abort rule: 4 of 5 finished devices failed (80% >= 20%, minimum 5) in stage 1 (1%)",
           "paused_by_rule": True, "next_stage_at": None, "abort_ratio": 0.2, "abort_min": 5,
           "stages": [{"index": 1, "name": "1%", "percent": 1.0, "status": "current",
                       "devices": {"offered": 3, "downloading": 0, "downloaded": 1, "succeeded": 1, "failed": 4,
                                   "silent": 0, "looping": 0, "banned": 0}}],
           "devices": {}, "finished": 5, "failures": 4}
PUSH = {"id": "p1", "targets": 2, "rate_per_s": 50.0,
        "states": {"queued": 2, "sent": 0, "published": 0, "waiting": 0, "checked": 0, "expired": 0,
                   "superseded": 0, "failed": 0}}

seen = []


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def handle_any(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        seen.append((self.command, self.path, json.loads(body) if body else None,
                     self.headers.get("Authorization")))
        if self.headers.get("Authorization") != "Bearer " + TOKEN:
            return self.reply(401, {"error": "missing or wrong admin token", "hint": "use the right one"})
        p = self.path
        if p.startswith("/admin/v1/rollouts/nope"):
            return self.reply(404, {"error": "no such rollout", "hint": "list rollouts: openfota rollout list"})
        if p == "/admin/v1/rollouts/r1/resume":
            return self.reply(409, {"error": "the rollout was cancelled", "hint": "start a new one"})
        if p.startswith("/admin/v1/rollouts"):
            if p.startswith("/admin/v1/rollouts?"):
                return self.reply(200, {"rollouts": [ROLLOUT]})
            return self.reply(201 if self.command == "POST" and p == "/admin/v1/rollouts" else 200, ROLLOUT)
        if p == "/admin/v1/push" and self.command == "POST":
            return self.reply(202, PUSH)
        if p.startswith("/admin/v1/push/rate"):
            return self.reply(200, {"per_s": 120.0, "burst": 120.0, "tokens": 1, "granted": 0, "denied": 0})
        if p.startswith("/admin/v1/push"):
            return self.reply(200, {"rate": {"per_s": 50.0, "burst": 50.0, "granted": 3}, "tcp": None,
                                    "mqtt": None, "open_targets": 0, "pushes": [PUSH]})
        return self.reply(404, {"error": "no route", "hint": ""})

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any

    def reply(self, status, obj):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


failures = 0


def check(cond, msg):
    global failures
    if not cond:
        failures += 1
        print("FAIL: " + msg, file=sys.stderr)


def run(binary, args, env=None, want=0):
    seen.clear()
    e = dict(os.environ)
    e.pop("OPENFOTA_URL", None)
    e.pop("OPENFOTA_TOKEN", None)
    e.update(env or {})
    p = subprocess.run([binary] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=e, timeout=30)
    out = p.stdout.decode() + p.stderr.decode()
    check(p.returncode == want, "openfota %s: exit %d, expected %d\n%s" % (" ".join(args), p.returncode, want, out))
    return out


def main():
    binary = sys.argv[1]
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    url = "http://127.0.0.1:%d" % srv.server_address[1]
    conn = ["--url", url, "--token", TOKEN]
    tmp = tempfile.mkdtemp(prefix="of-fleet-cli-")
    try:
        out = run(binary, ["push", "860000000000009", "860000000000010", "--ttl", "2h"] + conn)
        check(seen == [("POST", "/admin/v1/push", {"devices": ["860000000000009", "860000000000010"],
                                                   "ttl_s": 7200}, "Bearer " + TOKEN)], "push sent %r" % seen)
        check("push p1: 2 device(s)" in out and "50/s" in out, "push output:\n" + out)

        run(binary, ["push", "--project", "demo", "--firmware", "FW"] + conn)
        check(seen and seen[0][2] == {"project": "demo", "firmware": "FW"}, "group push sent %r" % seen)

        # usage errors send nothing
        for bad in (["push"], ["push", "8600", "--project", "demo"], ["push", "--firmware", "FW"],
                    ["push", "8600", "--ttl", "soon"], ["rollout", "start"], ["rollout", "start", "--package", "7",
                    "--stages", "1,x"], ["rollout", "promote"], ["rollout", "frobnicate", "r1"],
                    ["rollout", "start", "--package", "7", "--abort-ratio", "3"],
                    ["rollout", "start", "--package", "7", "--promote-percent", "101"],
                    ["rollout", "start", "--package", "7", "--promote-min", "-2"]):
            run(binary, bad + conn, want=2)
            check(seen == [], "usage error %r still sent %r" % (bad, seen))

        out = run(binary, ["push", "rate", "120"] + conn)
        check(seen and seen[0][:3] == ("PUT", "/admin/v1/push/rate", {"per_s": 120.0}), "rate sent %r" % seen)
        check("120/s" in out, "rate output:\n" + out)

        out = run(binary, ["push", "status"] + conn)
        check(seen and seen[0][:2] == ("GET", "/admin/v1/push"), "status sent %r" % seen)
        check("tcp push port: off" in out, "status output:\n" + out)

        out = run(binary, ["rollout", "start", "--package", "7", "--stages", "1,10,50,100", "--stage-interval",
                           "30m", "--test-devices", "860000000000001,860000000000002", "--abort-ratio", "0.1",
                           "--abort-min", "10"] + conn)
        check(seen and seen[0][:3] == ("POST", "/admin/v1/rollouts", {
            "package": "7", "stages": [1.0, 10.0, 50.0, 100.0], "stage_interval_s": 1800,
            "test_devices": ["860000000000001", "860000000000002"], "abort_ratio": 0.1, "abort_min": 10}),
            "rollout start sent %r" % seen)

        run(binary, ["rollout", "start", "--package", "7", "--promote-percent", "90", "--promote-min", "25"] + conn)
        check(seen and seen[0][2] == {"package": "7", "promote_percent": 90.0, "promote_min": 25},
              "rollout start with a promotion threshold sent %r" % seen)

        out = run(binary, ["rollout", "status", "r1"] + conn)
        check(seen and seen[0][:2] == ("GET", "/admin/v1/rollouts/r1"), "status sent %r" % seen)
        check("paused: abort rule: 4 of 5" in out, "status does not show the pause reason:\n" + out)
        check("1%" in out and "current" in out, "status does not show the stage table:\n" + out)

        for action in ("promote", "pause", "cancel"):
            run(binary, ["rollout", action, "r1"] + conn)
            check(seen and seen[0][:2] == ("POST", "/admin/v1/rollouts/r1/" + action), "%s sent %r" % (action, seen))
        run(binary, ["rollout", "pause", "r1", "--reason", "field reports"] + conn)
        check(seen and seen[0][2] == {"reason": "field reports"}, "pause reason sent %r" % seen)

        out = run(binary, ["rollout", "resume", "r1"] + conn, want=1)
        check("409" in out and "the rollout was cancelled" in out and "start a new one" in out,
              "a refusal must show the server's error and hint:\n" + out)
        out = run(binary, ["rollout", "status", "nope"] + conn, want=1)
        check("no such rollout" in out, "404 output:\n" + out)

        run(binary, ["rollout", "devices", "r1", "--status", "failed"] + conn)
        check(seen and seen[0][1] == "/admin/v1/rollouts/r1/devices?limit=1000&status=failed",
              "devices sent %r" % seen)

        # finding the server: environment, then the data folder
        run(binary, ["rollout", "list"], env={"OPENFOTA_URL": url, "OPENFOTA_TOKEN": TOKEN})
        check(seen and seen[0][3] == "Bearer " + TOKEN, "environment lookup sent %r" % seen)
        with open(os.path.join(tmp, "serve.json"), "w") as f:
            json.dump({"url": url, "pid": 1}, f)
        with open(os.path.join(tmp, "admin.token"), "w") as f:
            f.write(TOKEN + "\n")
        run(binary, ["rollout", "list", "--data", tmp])
        check(seen and seen[0][3] == "Bearer " + TOKEN, "data-folder lookup sent %r" % seen)
        out = run(binary, ["push", "status", "--data", os.path.join(tmp, "missing")], want=1)
        check("serve.json" in out, "a missing data folder must be explained:\n" + out)
        out = run(binary, ["push", "status", "--url", "http://127.0.0.1:1", "--token", TOKEN], want=1)
        check("cannot reach" in out or "answered" in out, "an unreachable server must be explained:\n" + out)
    finally:
        srv.shutdown()
        shutil.rmtree(tmp)
    if failures:
        sys.exit(1)
    print("ok")


if __name__ == "__main__":
    main()

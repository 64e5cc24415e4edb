#!/usr/bin/env python3
"""End-to-end checks of `openfota sim` against the real server (stdlib only).

usage: sim_e2e.py OPENFOTA_BINARY SCENARIO
  upgrade   1,000 libfota2 devices upgrade 2012.001.000 -> 2012.001.001, then
            every one of them is told "already latest" (code 27)
  resume    agent devices with 10% injected connection resets all finish with
            the package's SHA-256, resuming with Range/If-Range
  noboot    a package that never boots: each device gets it six times, then
            code 40 (banned), not endless downloads

Starts `openfota serve --listen 127.0.0.1:0 --data TMP`, waits for
TMP/serve.json, creates a project and a package through the admin API
(docs/api.md), runs the simulator with --json and checks the last line.
"""
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import luatbin  # noqa: E402

FIRMWARE = "FOTA2_DEMO_LuatOS-SoC_Air780EHV"


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


class Server:
    def __init__(self, binary, data):
        self.data = data
        self.log = open(os.path.join(data, "serve.log"), "wb")
        self.proc = subprocess.Popen([binary, "serve", "--listen", "127.0.0.1:0", "--data", data,
                                      # thousands of simulated devices from one address
                                      "--limit-device-burst", "0", "--limit-address-rate", "0", "--limit-new-devices-rate", "0"],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        info = os.path.join(data, "serve.json")
        deadline = time.time() + 30
        self.url = None
        while time.time() < deadline:
            if self.proc.poll() is not None:
                fail("openfota serve exited with %s before listening; log:\n%s"
                     % (self.proc.returncode, self.tail()))
            try:
                with open(info) as f:
                    self.url = json.load(f)["url"].rstrip("/")
                break
            except (OSError, ValueError, KeyError):
                time.sleep(0.1)
        if not self.url:
            fail("openfota serve wrote no serve.json within 30 s")
        with open(os.path.join(data, "admin.token")) as f:
            self.token = f.read().strip()

    def tail(self):
        self.log.flush()
        try:
            with open(os.path.join(self.data, "serve.log"), "rb") as f:
                return f.read()[-3000:].decode("utf-8", "replace")
        except OSError:
            return ""

    def admin(self, method, path, body=None, ctype="application/json"):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        req = urllib.request.Request(self.url + "/admin/v1" + path, data=body, method=method)
        req.add_header("Authorization", "Bearer " + self.token)
        if body is not None:
            req.add_header("Content-Type", ctype)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                raw = r.read()
                return json.loads(raw) if raw else None
        except urllib.error.HTTPError as e:
            fail("%s %s -> %d %s" % (method, path, e.code, e.read()[:500]))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def check_url(srv):
    status = srv.admin("GET", "/status") or {}
    url = status.get("check_url") or (srv.url + "/api/site/firmware_upgrade?")
    if not url.endswith("?") and not url.endswith("&"):
        url += "?"
    return url


def run_sim(binary, args, timeout=100):
    cmd = [binary, "sim", "--json", "--no-progress"] + args
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    out = p.stdout.decode("utf-8", "replace").strip().splitlines()
    if not out:
        fail("sim printed nothing; stderr:\n" + p.stderr.decode("utf-8", "replace")[-2000:])
    try:
        summary = json.loads(out[-1])
    except ValueError:
        fail("the last line of sim's stdout is not JSON: %r" % out[-1][:300])
    return p.returncode, summary, "\n".join(out[:-1]) + "\n" + p.stderr.decode("utf-8", "replace")[-2000:]


def expect(cond, what, summary, text):
    if not cond:
        fail("%s\nsummary: %s\n%s" % (what, json.dumps(summary), text))


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    binary, scenario = sys.argv[1], sys.argv[2]
    tmp = tempfile.mkdtemp(prefix="of-sim-e2e-")
    srv = None
    try:
        srv = Server(binary, tmp)
        key = srv.admin("POST", "/projects", {"name": "sim-e2e-" + scenario})["key"]
        url = check_url(srv)
        common = ["--url", url, "--project-key", key, "--firmware", FIRMWARE,
                  "--version", "2012.001.000", "--concurrency", "64", "--timeout", "30s"]
        if scenario == "upgrade":
            pkg = luatbin.build(os.urandom(64 * 1024))  # LuatOS modules take only Luat .bin packages
            srv.admin("POST", "/projects/%s/packages?firmware=%s&version=2012.001.001&filename=app.bin"
                      % (key, FIRMWARE), pkg, "application/octet-stream")
            n = 1000
            rc, s, text = run_sim(binary, common + ["--devices", str(n), "--profile", "libfota2",
                                                    "--expect", "all-upgraded"])
            expect(rc == 0, "sim exit status %d (expectations not met)" % rc, s, text)
            expect(s["devices"] == n and s["upgraded"] == n, "not all %d devices upgraded" % n, s, text)
            expect(s["failed"] == 0 and s["banned"] == 0, "failed or banned devices", s, text)
            expect(s["packages"] == n and s["max_packages_per_device"] == 1,
                   "each device should get the package exactly once", s, text)
            expect(s["codes"].get("27", 0) == n,
                   "every device should end with code 27 (already latest)", s, text)
            expect(s["bytes"] == n * len(pkg), "bytes received != devices x package size", s, text)
        elif scenario == "resume":
            pkg = os.urandom(256 * 1024)
            sha = hashlib.sha256(pkg).hexdigest()
            srv.admin("POST", "/projects/%s/packages?firmware=%s&version=2012.001.001&filename=app.bin&raw=1"
                      % (key, FIRMWARE), pkg, "application/octet-stream")
            n = 200
            rc, s, text = run_sim(binary, common + ["--devices", str(n), "--profile", "agent",
                                                    "--reset-rate", "0.1", "--seed", "11",
                                                    "--expect-sha256", sha, "--expect", "all-upgraded"])
            expect(rc == 0, "sim exit status %d (expectations not met)" % rc, s, text)
            expect(s["upgraded"] == n, "not all agent devices upgraded", s, text)
            expect(s["sha256_ok"] == n and s["sha256_bad"] == 0,
                   "every device must finish with the package's SHA-256", s, text)
            expect(s["resets"] >= 1, "no connection reset was injected", s, text)
            expect(s["resumes"] >= s["resets"] - s["restarts"] and s["resumes"] >= 1,
                   "cut downloads were not resumed", s, text)
            expect(s["restarts"] == 0, "the package did not change, yet downloads restarted", s, text)
        elif scenario == "noboot":
            pkg = luatbin.build(os.urandom(16 * 1024))
            srv.admin("POST", "/projects/%s/packages?firmware=%s&version=2012.001.001&filename=app.bin"
                      % (key, FIRMWARE), pkg, "application/octet-stream")
            n = 50
            report = os.path.join(tmp, "devices.jsonl")
            rc, s, text = run_sim(binary, common + ["--devices", str(n), "--no-boot",
                                                    "--expect", "all-banned", "--report", report])
            expect(rc == 0, "sim exit status %d (expectations not met)" % rc, s, text)
            expect(s["banned"] == n, "every device should be banned (code 40)", s, text)
            expect(s["max_packages_per_device"] == 6 and s["packages"] == 6 * n,
                   "each device should get the package exactly six times, then code 40", s, text)
            expect(s["codes"].get("40", 0) == n, "code 40 should end each device's loop", s, text)
            banned = srv.admin("GET", "/devices?project=%s&state=banned&limit=1000" % key)
            expect(len(banned.get("devices", [])) == n,
                   "the server should list %d banned devices" % n, s, text)
            ours = set(json.loads(l)["imei"] for l in open(report))
            theirs = set(d["id"] for d in banned["devices"])
            expect(ours == theirs, "the server's banned devices are not the simulated ones", s, text)
        else:
            fail("unknown scenario " + scenario)
        print("ok: %s: %s" % (scenario, json.dumps(s)))
    finally:
        if srv:
            srv.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""The simulator against a scripted server (sim_fake_server.py), stdlib only.

usage: sim_fake_check.py OPENFOTA_BINARY SCENARIO
  table     every row of the libfota2 result table (refused, closed before /
            inside the head, empty 200, redirect, timeout, oversized head)
  wire      the exact request bytes, distinct IMEIs with valid Luhn digits
  resume    agent resume after injected resets, SHA-256 of every package
  loop      a package that never boots, against a server that bans after 6
  luat      the version a Luat .bin header carries becomes the device's core
  periodic  time compression: --period 4h --time-scale 3600
  psm       the PSM window: 15 s simulated for an answer, then sleep a period
  faults    slow links, power cuts and packages that sometimes do not boot
  cli       exit statuses: unmet expectation, usage error, non-loopback refusal
These complement the end-to-end checks against the real server (sim_e2e.py).
"""
import hashlib
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


class Fake:
    def __init__(self, tmp, *args):
        self.portfile = os.path.join(tmp, "fake-%d.json" % time.monotonic_ns())
        self.proc = subprocess.Popen([sys.executable, os.path.join(HERE, "sim_fake_server.py"),
                                      "--port-file", self.portfile] + list(args))
        deadline = time.time() + 15
        while time.time() < deadline:
            try:
                with open(self.portfile) as f:
                    self.port = json.load(f)["port"]
                return
            except (OSError, ValueError):
                if self.proc.poll() is not None:
                    fail("fake server exited")
                time.sleep(0.05)
        fail("fake server did not start")

    def url(self, path="/api/site/firmware_upgrade?"):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


def sim(binary, args, timeout=100):
    p = subprocess.run([binary, "sim", "--json", "--no-progress"] + args, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout)
    lines = p.stdout.decode().strip().splitlines()
    if not lines:
        fail("no output; stderr: " + p.stderr.decode()[-1500:])
    return p.returncode, json.loads(lines[-1]), p.stderr.decode()


def base(url, n=4, version="2012.001.000"):
    return ["--url", url, "--project-key", "KEY", "--firmware", "FW", "--version", version,
            "--devices", str(n)]


def luhn_ok(s):
    total = 0
    for i, ch in enumerate(reversed(s)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def luat_bin(core, script):
    common_md5 = hashlib.md5(script).digest()
    main_version = [0, 0, 0, 0, core]
    body = struct.pack("<5I", *main_version) + struct.pack("<I", 0) + struct.pack("<5I", 0, 0, 0, 0, 0)
    body += struct.pack("<II", len(script), 0) + common_md5 + b"\0" * 16
    crc = zlib.crc32(body) ^ 0xFFFFFFFF
    return struct.pack("<II", 0xEAC37218, crc) + body + script


def main():
    binary, scenario = sys.argv[1], sys.argv[2]
    tmp = tempfile.mkdtemp(prefix="of-sim-fake-")
    fakes = []

    def fake(*a):
        f = Fake(tmp, *a)
        fakes.append(f)
        return f

    try:
        pkg_path = os.path.join(tmp, "pkg.bin")
        pkg = os.urandom(200 * 1024)
        with open(pkg_path, "wb") as f:
            f.write(pkg)
        if scenario == "table":
            rows = [("close-early", "3"), ("close-head", "3"), ("empty", "4"), ("redirect", "4"),
                    ("hang", "4"), ("bighead", "4")]
            for mode, want in rows:
                fk = fake("--mode", mode)
                rc, s, err = sim(binary, base(fk.url(), 2) + ["--max-retries", "0", "--timeout", "1s",
                                                             "--expect", "any"])
                if s["results"][want] != 2 or s["checks"] != 2:
                    fail("mode %s: want result %s for both checks, got %s" % (mode, want, s["results"]))
                if mode == "hang" and s["timeouts"] != 2:
                    fail("hang: timeouts not counted: %s" % s)
                fk.stop()
            # refused: a port nobody listens on
            so = socket.socket()
            so.bind(("127.0.0.1", 0))
            port = so.getsockname()[1]
            so.close()
            rc, s, err = sim(binary, base("http://127.0.0.1:%d/upgrade?" % port, 2) + ["--max-retries", "1"])
            if s["results"]["1"] != 4 or s["failed"] != 2 or rc == 0:
                fail("refused: want result 1 for 4 checks, 2 failed, exit != 0: %s rc=%d" % (s, rc))
        elif scenario == "wire":
            log = os.path.join(tmp, "req.log")
            fk = fake("--package", pkg_path, "--latest", "2012.001.001", "--log", log)
            report = os.path.join(tmp, "devices.jsonl")
            rc, s, err = sim(binary, base(fk.url(), 5) + ["--expect", "all-upgraded", "--report", report])
            if rc != 0 or s["upgraded"] != 5:
                fail("wire: %s" % s)
            rows = [json.loads(l) for l in open(report)]
            if len(rows) != 5 or any(r["state"] != "upgraded" or r["from"] != "2012.001.000" or
                                     r["version"] != "2012.001.001" or r["packages"] != 1 or
                                     r["last_code"] != 27 for r in rows):
                fail("device report: %s" % rows)
            reqs = [json.loads(l) for l in open(log)]
            pat = re.compile(r"GET /api/site/firmware_upgrade\?imei=(\d{15})&project_key=KEY&firmware_name=FW"
                             r"&version=(2012\.001\.00[01]) HTTP/1\.1\r\nHost: 127\.0\.0\.1:%d\r\n"
                             r"Connection: Close\r\n\r\n$" % fk.port)
            imeis = set()
            for r in reqs:
                m = pat.match(r)
                if not m:
                    fail("request bytes differ from libfota2's: %r" % r)
                if not luhn_ok(m.group(1)):
                    fail("IMEI with a wrong check digit: " + m.group(1))
                imeis.add(m.group(1))
            if len(reqs) != 10 or len(imeis) != 5:
                fail("want 10 requests from 5 IMEIs, got %d from %d" % (len(reqs), len(imeis)))
            if imeis != set(r["imei"] for r in rows):
                fail("the device report names other IMEIs than the requests")
            # a "###" URL is used as-is; a once-run ends at the first install
            log2 = os.path.join(tmp, "raw.log")
            fk2 = fake("--package", pkg_path, "--latest", "none", "--log", log2)
            rc, s, err = sim(binary, ["--url", "###" + fk2.url("/download/app.bin"), "--devices", "3",
                                      "--expect", "all-upgraded"])
            raw = [json.loads(l) for l in open(log2)]
            want = "GET /download/app.bin HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: Close\r\n\r\n" % fk2.port
            if rc != 0 or s["checks"] != 3 or raw != [want] * 3:
                fail("### URL: %s %r" % (s, raw[:1]))
        elif scenario == "resume":
            fk = fake("--package", pkg_path, "--latest", "2012.001.001")
            sha = hashlib.sha256(pkg).hexdigest()
            rc, s, err = sim(binary, base(fk.url(), 100) + ["--profile", "agent", "--reset-rate", "0.3",
                                                           "--seed", "5", "--expect-sha256", sha,
                                                           "--expect", "all-upgraded"])
            if rc != 0 or s["sha256_ok"] != 100 or s["resets"] < 5 or s["resumes"] < s["resets"]:
                fail("resume: %s\n%s" % (s, err))
            # a wrong expected hash is caught, never applied
            rc, s, err = sim(binary, base(fk.url(), 3) + ["--profile", "agent", "--max-retries", "1",
                                                         "--expect-sha256", "0" * 64])
            if rc == 0 or s["sha256_bad"] != 6 or s["upgraded"] != 0:
                fail("wrong hash accepted: %s" % s)
        elif scenario == "loop":
            fk = fake("--package", pkg_path, "--latest", "2012.001.001", "--max-deliveries", "6")
            rc, s, err = sim(binary, base(fk.url(), 30) + ["--no-boot", "--expect", "all-banned"])
            if rc != 0 or s["banned"] != 30 or s["max_packages_per_device"] != 6 or s["looping"] != 30:
                fail("loop: %s" % s)
            # without a server-side ban the simulator still stops (bounded)
            fk2 = fake("--package", pkg_path, "--latest", "2012.001.001")
            rc, s, err = sim(binary, base(fk2.url(), 3) + ["--no-boot", "--max-checks", "10"])
            if rc == 0 or s["failed"] != 3 or s["max_packages_per_device"] != 10:
                fail("unbounded loop: %s" % s)
        elif scenario == "luat":
            lp = os.path.join(tmp, "luat.bin")
            with open(lp, "wb") as f:
                f.write(luat_bin(2013, os.urandom(4000)))
            fk = fake("--package", lp, "--latest", "2013.001.001")
            rc, s, err = sim(binary, base(fk.url(), 3) + ["--expect", "all-upgraded", "--expect", "latest=0"])
            if rc != 0 or s["codes"].get("27") != 3:
                fail("luat header version not used: %s\n%s" % (s, err))
            # a Luat .bin whose script part does not match its MD5 is refused
            # while "writing", as a module would: result 4, old version kept
            bad = bytearray(luat_bin(2013, os.urandom(4000)))
            bad[-1] ^= 0xFF
            bp = os.path.join(tmp, "bad.bin")
            with open(bp, "wb") as f:
                f.write(bytes(bad))
            fkb = fake("--package", bp, "--latest", "2013.001.001")
            rc, s, err = sim(binary, base(fkb.url(), 3) + ["--max-retries", "1"])
            if rc == 0 or s["luat_bad"] != 6 or s["upgraded"] != 0 or s["failed"] != 3:
                fail("corrupt Luat package accepted: %s" % s)
            # the same check holds across agent resumes
            rc, s, err = sim(binary, base(fk.url(), 50) + ["--profile", "agent", "--reset-rate", "0.5",
                                                          "--seed", "2", "--expect", "all-upgraded"])
            if rc != 0 or s["luat_bad"] != 0 or s["resumes"] < 5:
                fail("valid Luat package refused after resume: %s" % s)
            # the X-Openfota-Version header wins over --target-version for raw packages
            fk2 = fake("--package", pkg_path, "--latest", "2012.001.007", "--announce", "2012.001.007")
            rc, s, err = sim(binary, base(fk2.url(), 3) + ["--target-version", "2012.001.002"])
            if rc != 0 or s["upgraded"] != 3 or s["codes"].get("27") != 3:
                fail("X-Openfota-Version not used: %s" % s)
            # without either, --target-version
            fk3 = fake("--package", pkg_path, "--latest", "2012.003.004")
            rc, s, err = sim(binary, base(fk3.url(), 3) + ["--target-version", "2012.003.004"])
            if rc != 0 or s["codes"].get("27") != 3:
                fail("--target-version not used: %s" % s)
        elif scenario == "periodic":
            fk = fake("--latest", "2012.001.000")
            t0 = time.time()
            rc, s, err = sim(binary, base(fk.url(), 20) + ["--period", "4h", "--time-scale", "3600",
                                                          "--jitter", "0", "--duration", "10s"])
            el = time.time() - t0
            # checks at 0, 4 and 8 real seconds (the run ends at 10 s)
            if s["checks"] != 60 or s["latest"] != 20 or not (9.5 < el < 30):
                fail("periodic: want 60 checks in ~10 s, got %s in %.1f s" % (s["checks"], el))
        elif scenario == "psm":
            fk = fake("--mode", "hang")
            t0 = time.time()
            rc, s, err = sim(binary, base(fk.url(), 10) + ["--schedule", "psm", "--period", "4h",
                                                          "--time-scale", "3600", "--jitter", "0",
                                                          "--duration", "6s", "--timeout", "30s",
                                                          "--expect", "any"])
            # wakes at 0 and 4 s; each check is cut after 15 simulated seconds
            # (about 4 ms), not after the 30 s request timeout
            if s["checks"] != 20 or s["timeouts"] != 20 or time.time() - t0 > 25:
                fail("psm: want 20 checks, all cut by the PSM window: %s" % s)
        elif scenario == "faults":
            fk = fake("--package", pkg_path, "--latest", "2012.001.001")
            t0 = time.time()
            rc, s, err = sim(binary, base(fk.url(), 4) + ["--slow-rate", "1", "--slow-bps", "100000",
                                                         "--expect", "all-upgraded"])
            el = time.time() - t0
            if rc != 0 or s["slow_devices"] != 4 or el < 1.5:
                fail("slow links: 200 KiB at 100 KB/s must take about 2 s: %.2f s %s" % (el, s))
            rc, s, err = sim(binary, base(fk.url(), 200) + ["--profile", "agent", "--seed", "3",
                                                           "--power-cut-rate", "0.3",
                                                           "--no-boot-rate", "0.3",
                                                           "--expect", "all-upgraded"])
            if rc != 0 or s["power_cuts"] < 20 or s["boot_failures"] < 20 or \
                    s["packages"] != 200 + s["power_cuts"] + s["boot_failures"]:
                fail("power cuts / no-boot: every failed apply must be followed by a new download: %s" % s)
        elif scenario == "cli":
            fk = fake("--package", pkg_path, "--latest", "2012.001.001")
            rc, s, err = sim(binary, base(fk.url(), 2) + ["--expect", "upgraded=3"])
            if rc != 1 or s["expect_met"] is not False:
                fail("unmet expectation must exit 1: rc=%d %s" % (rc, s))
            p = subprocess.run([binary, "sim", "--url", fk.url(), "--devices", "x"], capture_output=True)
            if p.returncode != 2 or b"--devices" not in p.stderr:
                fail("usage error must exit 2 and name the option: %r" % p.stderr)
            p = subprocess.run([binary, "sim"] + base("http://192.0.2.1:8080/upgrade?", 1),
                               capture_output=True, timeout=20)
            if p.returncode == 0 or b"loopback" not in p.stderr:
                fail("a non-loopback server must be refused: %r" % p.stderr)
            p = subprocess.run([binary, "sim", "--help"], capture_output=True)
            if p.returncode != 0 or b"--profile" not in p.stdout:
                fail("--help")
        else:
            fail("unknown scenario " + scenario)
        print("ok: " + scenario)
    finally:
        for f in fakes:
            if f.proc.poll() is None:
                f.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""End-to-end: the device library against the real server (stdlib only).

usage: device_e2e.py OPENFOTA_BINARY CLIENT_BINARY SCENARIO
  libfota2  a device on fota_request() checks with 2012.001.000, receives the
            package (result 0, its SHA-256), then checks with 2012.001.001 and
            is told "already latest" (result 4, JSON code 27)
  agent     fota_download() through a proxy that cuts the first download after
            100 KiB: the device resumes with Range/If-Range, ends with the
            package's SHA-256 and activates it
  agent_delta
            two signed releases (openfota package keygen/sign), a server with
            a signing key and Retry-After 1; a device running release 1 calls
            fota_download once with the signed-package + delta installers: the
            library sends X-Openfota-Agent, waits out the 503 code 43 answers
            while the server makes the delta (no retry loop in the client),
            installs the signed delta (fewer bytes than the full package) and
            activates release 2
"""
import hashlib
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sim_e2e import Server, check_url, fail  # noqa: E402  (same harness as the simulator's tests)

FIRMWARE = "FOTA2_DEMO_LuatOS-SoC_Air780EHV"
IMEI = "862419074072001"


def client(binary, mode, url, key, version, slots):
    p = subprocess.run([binary, mode, url, key, FIRMWARE, version, IMEI, slots],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    try:
        return json.loads(p.stdout.decode().strip().splitlines()[-1])
    except (ValueError, IndexError):
        fail("client printed no JSON: %r %r" % (p.stdout[-500:], p.stderr[-500:]))


class CuttingProxy:
    """Forwards to the server; the first response is cut after `cut` bytes."""

    def __init__(self, host, port, cut):
        self.target = (host, port)
        self.cut = cut
        self.requests = []
        self.ls = socket.socket()
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(8)
        self.port = self.ls.getsockname()[1]
        threading.Thread(target=self.run, daemon=True).start()

    def run(self):
        n = 0
        while True:
            try:
                c, _ = self.ls.accept()
            except OSError:
                return
            threading.Thread(target=self.one, args=(c, n == 0), daemon=True).start()
            n += 1

    def one(self, c, cut):
        s = socket.create_connection(self.target)
        req = b""
        while b"\r\n\r\n" not in req:
            d = c.recv(4096)
            if not d:
                break
            req += d
        self.requests.append(req.decode("latin1"))
        s.sendall(req)
        sent = 0
        while True:
            d = s.recv(8192)
            if not d:
                break
            if cut and sent + len(d) > self.cut:
                c.sendall(d[: self.cut - sent])
                c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                break
            c.sendall(d)
            sent += len(d)
        c.close()
        s.close()


def agent_delta(binary, cli, tmp):
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
    from ofharness import Server as HServer  # noqa: E402

    fw, family, hwid = "MCU_DEMO_openfota", "DemoMCU", "board-rev-b"

    def run(cmd):
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        if p.returncode:
            fail("%s: exit %d\n%s%s" % (cmd[:3], p.returncode, p.stdout.decode(), p.stderr.decode()))

    key, pub = os.path.join(tmp, "k.pem"), os.path.join(tmp, "k.pub.pem")
    run([binary, "package", "keygen", key])
    rnd = random.Random(11)
    v1 = bytes(rnd.getrandbits(8) for _ in range(120 * 1024))
    v2 = bytearray(v1)
    for _ in range(40):
        v2[rnd.randrange(len(v2))] = rnd.getrandbits(8)
    v2[5000:5000] = bytes(rnd.getrandbits(8) for _ in range(700))
    v2 = bytes(v2)
    pkgs = []
    for i, (img, ver) in enumerate(((v1, "1.0.1"), (v2, "1.0.2"))):
        src, out = os.path.join(tmp, "v%d.bin" % (i + 1)), os.path.join(tmp, "r%d.ofpk" % (i + 1))
        with open(src, "wb") as f:
            f.write(img)
        run([binary, "package", "sign", "--key", key, "--family", family, "--suffix", "1", "--hw-id", hwid,
             "--version", ver, "--counter", str(i + 1), src, "-o", out])
        with open(out, "rb") as f:
            pkgs.append(f.read())
    srv = HServer(binary, data=os.path.join(tmp, "srv"),
                  extra=["--signing-key", key, "--delta-retry-after", "1"])
    os.makedirs(srv.data)
    srv.start()
    try:
        project = srv.add_project("device-e2e-delta")
        st, _, raw = srv.admin("POST", "/admin/v1/projects/%s/firmware" % project, {"name": fw, "suffix": 1})
        if st != 201:
            fail("firmware add: %s %r" % (st, raw))
        for data in pkgs:
            st, _, raw = srv.admin("POST", "/admin/v1/projects/%s/packages?firmware=%s&filename=r.ofpk"
                                   % (project, fw), raw=data)
            if st != 201:
                fail("upload of a signed release: %s %r" % (st, raw))
        proxy = CuttingProxy("127.0.0.1", srv.port, 1 << 40)  # records, never cuts
        url = "http://127.0.0.1:%d/api/site/firmware_upgrade?" % proxy.port
        slots = os.path.join(tmp, "slots")
        p = subprocess.run([cli, "agent-delta", url, project, fw, "1.0.1", IMEI, slots, os.path.join(tmp, "v1.bin"),
                            pub, family, "1", hwid, "1"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=100)
        try:
            r = json.loads(p.stdout.decode().strip().splitlines()[-1])
        except (ValueError, IndexError):
            fail("client printed no JSON: %r %r" % (p.stdout[-500:], p.stderr[-500:]))
        why = "%s\nclient stderr: %s\nrequests: %s\nserver log:\n%s" % (
            r, p.stderr.decode()[-500:], [q.split("\r\n\r\n")[0] for q in proxy.requests], srv.log_text())
        if r["result"] != 0 or r["sha256"] != hashlib.sha256(v2).hexdigest() or r["len"] != len(v2):
            fail("the agent should install release 2 from the delta: %s" % why)
        if r["body"] >= len(pkgs[1]):
            fail("the agent got %d bytes: the full package is %d, a delta should be smaller: %s"
                 % (r["body"], len(pkgs[1]), why))
        if r["waits"] < 1 or r["waited_ms"] != 1000 * r["waits"] or len(proxy.requests) != r["waits"] + 1:
            fail("the agent should have waited Retry-After (1 s) after each code 43 and checked again: %s" % why)
        if not all("\r\nX-Openfota-Agent: signed,delta\r\n" in q for q in proxy.requests):
            fail("every check should carry X-Openfota-Agent: %s" % why)
        with open(os.path.join(slots, "slot%d.bin" % r["slot"]), "rb") as f:
            if f.read(len(v2)) != v2:
                fail("slot %d does not hold release 2" % r["slot"])
        return r
    finally:
        srv.cleanup()


def main():
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    binary, cli, scenario = sys.argv[1:4]
    tmp = tempfile.mkdtemp(prefix="of-dev-e2e-")
    srv = None
    try:
        if scenario == "agent_delta":
            r = agent_delta(binary, cli, tmp)
            print("ok: %s: %s" % (scenario, json.dumps(r)))
            return
        srv = Server(binary, tmp)
        key = srv.admin("POST", "/projects", {"name": "device-e2e-" + scenario})["key"]
        url = check_url(srv)
        pkg = os.urandom(300 * 1024)
        sha = hashlib.sha256(pkg).hexdigest()
        srv.admin("POST", "/projects/%s/packages?firmware=%s&version=2012.001.001&filename=app.bin&raw=1"
                  % (key, FIRMWARE), pkg, "application/octet-stream")
        slots = os.path.join(tmp, "slots")
        if scenario == "libfota2":
            r = client(cli, "libfota2", url, key, "2012.001.000", slots)
            if r["result"] != 0 or r["sha256"] != sha or r["len"] != len(pkg):
                fail("first check should deliver the package: %s" % r)
            r = client(cli, "libfota2", url, key, "2012.001.001", slots)
            if r["result"] != 4 or r["status"] < 300 or r["code"] != 27:
                fail("a device on the target version should get result 4 with code 27: %s" % r)
        elif scenario == "agent":
            host, port = url.split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)
            proxy = CuttingProxy(host, int(port), 100 * 1024)
            purl = url.replace("%s:%s" % (host, port), "127.0.0.1:%d" % proxy.port, 1)
            r = client(cli, "agent", purl, key, "2012.001.000", slots)
            if r["result"] != 0 or r["sha256"] != sha:
                fail("agent download should finish with the package's SHA-256: %s\nrequests: %s"
                     % (r, proxy.requests))
            if len(proxy.requests) < 2 or "Range: bytes=" not in proxy.requests[1] \
                    or "If-Range: " not in proxy.requests[1]:
                fail("the second request should resume with Range/If-Range: %s" % proxy.requests)
        else:
            fail("unknown scenario " + scenario)
        print("ok: %s: %s" % (scenario, json.dumps(r)))
    finally:
        if srv:
            srv.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

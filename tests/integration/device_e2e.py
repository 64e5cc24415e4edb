#!/usr/bin/env python3
"""End-to-end: the device library against the real server (stdlib only).

usage: device_e2e.py OPENFOTA_BINARY CLIENT_BINARY SCENARIO
  libfota2  a device on fota_request() checks with 2012.001.000, receives the
            package (result 0, its SHA-256), then checks with 2012.001.001 and
            is told "already latest" (result 4, JSON code 27)
  agent     fota_download() through a proxy that cuts the first download after
            100 KiB: the device resumes with Range/If-Range, ends with the
            package's SHA-256 and activates it
"""
import hashlib
import json
import os
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


def main():
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    binary, cli, scenario = sys.argv[1:4]
    tmp = tempfile.mkdtemp(prefix="of-dev-e2e-")
    srv = None
    try:
        srv = Server(binary, tmp)
        key = srv.admin("POST", "/projects", {"name": "device-e2e-" + scenario})["key"]
        url = check_url(srv)
        pkg = os.urandom(300 * 1024)
        sha = hashlib.sha256(pkg).hexdigest()
        srv.admin("POST", "/projects/%s/packages?firmware=%s&version=2012.001.001&filename=app.bin"
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

#!/usr/bin/env python3
"""Delta serving for openfota signed packages, with the real binaries.

keygen and sign two releases of a generated firmware-like image (openfota
package keygen / sign), upload both, start the server with the signing key,
check as a device on release 1: first 503 code 43 with Retry-After, then (by
polling) a 200 whose body is a signed delta package that `openfota package
verify --pub` accepts and whose payload `openfota delta apply` turns release
1 into release 2 byte for byte. A device on an unknown base gets the full
package; a release that shares nothing with its base gets the full package
after the delta was found not smaller (and that is recorded); the index
survives a restart; removing a release drops its deltas; tampered or
foreign-key uploads are refused.

usage: server_delta.py /path/to/openfota
"""
import hashlib
import json
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from ofharness import Failure, Server, Suite, check, expect_code  # noqa: E402

# many checks of a few device ids from one address: no flood limits here
NOLIMITS = ["--limit-device-burst", "0", "--limit-address-rate", "0", "--limit-new-devices-rate", "0"]

FW = "MCU_DEMO_openfota"
FAMILY = "DemoMCU"
HWID = "board-rev-b"
IMEI1 = "860000000000011"
IMEI2 = "860000000000022"
IMEI3 = "860000000000033"
IMEI4 = "860000000000044"
IMEI5 = "860000000000055"
IMEI6 = "860000000000066"
POLL_S = 90

suite = Suite("server_delta")


def firmware_like(n, seed):
    """Code-like bytes: 32-bit words from a small vocabulary with address-like
    fields, a string table and zero padding."""
    rnd = random.Random(seed)
    vocab = [rnd.getrandbits(32) & 0xFFFF0FFF for _ in range(400)]
    out = bytearray()
    while len(out) < n * 3 // 4:
        w = rnd.choice(vocab) | (rnd.getrandbits(4) << 12)
        out += struct.pack("<I", w)
    words = [b"init", b"flash", b"uart", b"error", b"timeout", b"ok", b"retry", b"boot"]
    while len(out) < n * 15 // 16:
        out += b" ".join(rnd.choice(words) for _ in range(rnd.randint(2, 6))) + b"\0"
    out += b"\0" * (n - len(out))
    return bytes(out[:n])


def edited(img, seed):
    """Release 2: a few byte edits, an insertion, a moved block."""
    rnd = random.Random(seed)
    b = bytearray(img)
    for _ in range(60):
        b[rnd.randrange(len(b))] = rnd.getrandbits(8)
    at = len(b) // 3
    b[at:at] = firmware_like(1500, seed + 1)
    blk = bytes(b[40000:44000])
    del b[40000:44000]
    b[90000:90000] = blk
    return bytes(b)


class Ctx:
    pass


def run(cmd, what, ok=(0,)):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    check(p.returncode in ok, "%s: exit %s\n%s%s" % (what, p.returncode, p.stdout, p.stderr))
    return p


def sign(c, image_path, version, counter, out, key=None):
    run([c.bin, "package", "sign", "--key", key or c.key, "--family", FAMILY, "--suffix", "1",
         "--hw-id", HWID, "--version", version, "--counter", str(counter), image_path, "-o", out],
        "package sign %s" % version)
    with open(out, "rb") as f:
        return f.read()


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def upload_api(c, data, version=None):
    q = {"firmware": FW, "filename": "release.ofpk"}
    if version:
        q["version"] = version
    path = "/admin/v1/projects/%s/packages?%s" % (c.project, urllib.parse.urlencode(q))
    return c.srv.admin("POST", path, raw=data)


def check_as(c, imei, version, headers=()):
    q = "imei=%s&project_key=%s&firmware_name=%s&version=%s" % (imei, c.project, FW, version)
    return c.srv.get("/api/site/firmware_upgrade?" + q, headers=headers, timeout=30)


def poll_200(c, imei, version, headers=()):
    """Checks until the answer is no longer 43; returns that answer."""
    deadline = time.time() + POLL_S
    while True:
        r = check_as(c, imei, version, headers)
        if r.status != 503 or r.code() != 43:
            return r
        check(time.time() < deadline, "still code 43 after %ss of polling" % POLL_S)
        time.sleep(0.3)


def setup(srv, c):
    c.srv = srv
    c.project = srv.add_project("deltas")
    st, obj, raw = srv.admin("POST", "/admin/v1/projects/%s/firmware" % c.project,
                             {"name": FW, "suffix": 1})
    check(st == 201, "firmware add: %s %r" % (st, raw))


@suite.case
def uploads_are_checked(c):
    # release 1 through the CLI (with --version), release 2 through the API (version from the manifest)
    p = c.srv.cli("package", "add", "--project", c.project, "--firmware", FW, "--version", "1.0.1",
                  c.r1_path)
    check(p.returncode == 0, "package add r1: exit %s\n%s%s" % (p.returncode, p.stdout, p.stderr))
    st, obj, raw = c.srv.admin("GET", "/admin/v1/packages?project=" + c.project)
    check(st == 200 and len(obj["packages"]) == 1, "list after r1: %s %r" % (st, raw))
    k1 = obj["packages"][0]
    check(k1["kind"] == "signed", "r1 kind %r, expected signed" % k1["kind"])
    check(k1["signed"]["kind"] == "full" and k1["signed"]["counter"] == 1, "r1 signed facts %r" % k1)
    check(k1["signed"]["result_sha256"] == hashlib.sha256(c.v1).hexdigest(), "r1 result sha %r" % k1)
    c.id1 = k1["id"]
    st, obj, raw = upload_api(c, c.r2)
    check(st == 201, "upload r2 without version: %s %r" % (st, raw))
    check(obj["version"] == "1.000.002" and obj["kind"] == "signed", "r2 row %r" % obj)
    c.id2 = obj["id"]
    # refusals: tampered payload, foreign key, version contradicting the manifest
    bad = bytearray(c.r2)
    bad[272 + 1000] ^= 0x40
    st, obj, raw = upload_api(c, bytes(bad))
    check(st == 422 and "payload_sha256" in obj["error"], "tampered payload: %s %r" % (st, raw))
    st, obj, raw = upload_api(c, c.r_foreign)
    check(st == 422 and "key_id" in obj["error"], "foreign key: %s %r" % (st, raw))
    st, obj, raw = upload_api(c, c.r2, version="1.0.7")
    check(st == 422 and "version" in obj["error"], "wrong version: %s %r" % (st, raw))
    st, obj, raw = upload_api(c, c.r2[:-3])
    check(st == 422, "truncated: %s %r" % (st, raw))
    st, obj, raw = c.srv.admin("GET", "/admin/v1/packages?project=" + c.project)
    check(len(obj["packages"]) == 2, "refused uploads left rows: %r" % raw)


@suite.case
def delta_is_generated_then_served(c):
    r = check_as(c, IMEI1, "1.0.1")
    expect_code(r, 43, "first check on release 1")
    check(r.status == 503, "code 43 must come with 503, got %s" % r.status)
    check(r.header("retry-after") == "1", "Retry-After %r, expected 1 (config)" % r.header("retry-after"))
    r = poll_200(c, IMEI1, "1.0.1")
    check(r.status == 200, "after generation: %s" % r.describe())
    check(r.header("x-openfota-version") == "1.000.002",
          "X-Openfota-Version %r" % r.header("x-openfota-version"))
    body = r.body
    check(body[:4] == b"OFPK", "body is not a signed package: %r" % body[:16])
    check(body[16 + 104] == 2, "manifest kind %d, expected 2 (delta)" % body[16 + 104])
    check(len(body) <= 0.8 * len(c.r2), "delta package %d bytes, full %d" % (len(body), len(c.r2)))
    dpath = os.path.join(c.tmp, "d.ofpk")
    write(dpath, body)
    run([c.bin, "package", "verify", "--pub", c.pub, dpath], "package verify of the delta")
    run([c.bin, "package", "verify", "--pub", c.pub, "--family", FAMILY, "--suffix", "1", "--hw-id", HWID,
         "--installed-counter", "1", "--slot-size", "1000000", "--installed", c.v1_path, dpath],
        "package verify of the delta against release 1 (install policy)")
    plen = struct.unpack_from("<Q", body, 16 + 112)[0]
    patch = os.path.join(c.tmp, "d.patch")
    write(patch, body[272:272 + plen])
    out = os.path.join(c.tmp, "v2.out")
    run([c.bin, "delta", "apply", c.v1_path, patch, out], "delta apply")
    with open(out, "rb") as f:
        check(f.read() == c.v2, "delta apply did not give release 2 byte for byte")
    c.delta_len = len(body)
    print("  delta package %d bytes, full package %d bytes" % (len(body), len(c.r2)))
    # an agent on release 1 gets the cached delta at once
    r = check_as(c, IMEI2, "1.0.1", headers=[("X-Openfota-Agent", "1")])
    check(r.status == 200 and r.body[:4] == b"OFPK" and r.body[16 + 104] == 2,
          "agent on release 1: %s" % r.describe())
    # the library's capability list: with "delta" the delta, without it the full package
    r = check_as(c, "860000000000077", "1.0.1", headers=[("X-Openfota-Agent", "signed,delta")])
    check(r.status == 200 and r.body[16 + 104] == 2, "agent 'signed,delta': %s" % r.describe())
    r = check_as(c, "860000000000088", "1.0.1", headers=[("X-Openfota-Agent", "signed")])
    check(r.status == 200 and r.body == c.r2, "agent 'signed' (cannot install deltas) must get the full "
          "package: %s" % r.describe())
    # a Range resume of the delta (a device whose first download was cut)
    r = check_as(c, IMEI5, "1.0.1", headers=[("Range", "bytes=100-")])
    check(r.status == 206 and r.body == body[100:], "resume of the delta: %s" % r.describe())


@suite.case
def unknown_base_gets_full(c):
    r = check_as(c, IMEI3, "1.0.0")
    check(r.status == 200 and r.body == c.r2, "device on 1.0.0 (no stored release): %s" % r.describe())
    check(r.header("x-openfota-version") == "1.000.002", "X-Openfota-Version on a full package")


@suite.case
def admin_lists_deltas(c):
    st, obj, raw = c.srv.admin("GET", "/admin/v1/packages/%d/deltas" % c.id2)
    check(st == 200, "deltas of r2: %s %r" % (st, raw))
    ds = obj["deltas"]
    check(len(ds) == 1 and ds[0]["base"] == c.id1 and ds[0]["target"] == c.id2 and ds[0]["state"] == "ready"
          and ds[0]["size"] == c.delta_len, "deltas of r2: %r" % ds)
    st, obj, raw = c.srv.admin("GET", "/admin/v1/packages/%d" % c.id1)
    check(st == 200 and len(obj.get("deltas", [])) == 1, "package show of r1 lists its delta: %r" % raw)
    c.delta_sha = ds[0]["sha256"]
    check(os.path.exists(os.path.join(c.srv.data, "blobs", "sha256", c.delta_sha[:2], c.delta_sha)),
          "delta blob not in the data folder")


@suite.case
def not_smaller_gets_full(c):
    st, obj, raw = upload_api(c, c.r3)
    check(st == 201, "upload r3: %s %r" % (st, raw))
    c.id3 = obj["id"]
    r = check_as(c, IMEI4, "1.0.2")
    expect_code(r, 43, "first check on release 2 for release 3")
    r = poll_200(c, IMEI4, "1.0.2")
    check(r.status == 200 and r.body == c.r3, "release 3 shares nothing: expected the full package, got %s"
          % r.describe())
    st, obj, raw = c.srv.admin("GET", "/admin/v1/packages/%d/deltas" % c.id3)
    ds = [d for d in obj["deltas"] if d["base"] == c.id2]
    check(len(ds) == 1 and ds[0]["state"] == "not_smaller" and ds[0]["sha256"] is None,
          "the not-smaller delta is recorded: %r" % obj)
    # and it is not made again: the next check is a full package at once
    r = check_as(c, IMEI4, "1.0.2")
    check(r.status == 200 and r.body == c.r3, "second check: %s" % r.describe())


@suite.case
def restart_keeps_the_index_and_delete_drops_deltas(c):
    c.srv.stop()
    c.srv.start()
    # release 3 is newest now; release 1 devices are offered 1.0.3: remove r3 to test the r1 -> r2 delta again
    st, _, raw = c.srv.admin("DELETE", "/admin/v1/packages/%d" % c.id3)
    check(st == 204, "remove r3: %s %r" % (st, raw))
    r = check_as(c, IMEI6, "1.0.1")
    check(r.status == 200 and len(r.body) == c.delta_len and r.body[16 + 104] == 2,
          "after a restart the delta is served at once: %s" % r.describe())
    # a device back on release 1 after a complete delta (a failed upgrade) gets the full package
    r = check_as(c, IMEI1, "1.0.1")
    check(r.status == 200 and r.body == c.r2, "failed upgrade: expected the full package, got %s" % r.describe())
    st, _, raw = c.srv.admin("DELETE", "/admin/v1/packages/%d" % c.id1)
    check(st == 204, "remove r1: %s %r" % (st, raw))
    st, obj, raw = c.srv.admin("GET", "/admin/v1/packages/%d/deltas" % c.id2)
    check(st == 200 and obj["deltas"] == [], "deltas of r2 after removing r1: %r" % raw)
    check(not os.path.exists(os.path.join(c.srv.data, "blobs", "sha256", c.delta_sha[:2], c.delta_sha)),
          "the delta blob was not removed with its release")


@suite.case
def full_while_generating_but_agents_wait(c):
    """A second server with delta_while_generating = full: the first check of a
    libfota2-style device on a release gets the full package at once (the
    delta is queued); an agent's first check on another pair gets 43."""
    srv2 = Server(c.bin, extra=["--signing-key", c.key, "--delta-while-generating", "full"] + NOLIMITS)
    try:
        srv2.start()
        c2 = Ctx()
        c2.srv = srv2
        setup(srv2, c2)
        for data in (c.r1, c.r2, c.r3):
            st, obj, raw = upload_api(c2, data)
            check(st == 201, "upload to the second server: %s %r" % (st, raw))
        r = check_as(c2, IMEI1, "1.0.1")
        check(r.status == 200 and r.body == c.r3, "libfota2 device while generating: expected the full "
              "package, got %s" % r.describe())
        r = check_as(c2, IMEI2, "1.0.2", headers=[("X-Openfota-Agent", "1")])
        expect_code(r, 43, "agent while generating")
        r = check_as(c2, IMEI3, "1.0.2?", headers=())  # not a version: refused, nothing queued
        check(r.status == 400, "bad version: %s" % r.describe())
        q = "imei=%s&project_key=%s&firmware_name=%s&version=1.0.2&agent=1" % (IMEI4, c2.project, FW)
        r = srv2.get("/api/site/firmware_upgrade?" + q, timeout=30)
        check((r.status == 503 and r.code() == 43) or r.status == 200,
              "agent=1 in the query: %s" % r.describe())
        check(r.status != 200 or r.body == c.r3, "agent=1: a 200 must be the full package (not smaller)")
    finally:
        srv2.cleanup()


def main():
    if len(sys.argv) < 2:
        print("usage: %s /path/to/openfota" % sys.argv[0], file=sys.stderr)
        return 2
    c = Ctx()
    c.bin = os.path.abspath(sys.argv[1])
    c.tmp = tempfile.mkdtemp(prefix="openfota-delta-")
    srv = None
    rc = 1
    try:
        c.key = os.path.join(c.tmp, "k.pem")
        c.pub = os.path.join(c.tmp, "k.pub.pem")
        run([c.bin, "package", "keygen", c.key], "package keygen")
        other = os.path.join(c.tmp, "other.pem")
        run([c.bin, "package", "keygen", other], "package keygen (other)")
        c.v1 = firmware_like(160 * 1024, 7)
        c.v2 = edited(c.v1, 8)
        c.v3 = bytes(random.Random(9).getrandbits(8) for _ in range(len(c.v2)))
        c.v1_path = os.path.join(c.tmp, "v1.bin")
        write(c.v1_path, c.v1)
        for name, img in (("v2.bin", c.v2), ("v3.bin", c.v3)):
            write(os.path.join(c.tmp, name), img)
        c.r1_path = os.path.join(c.tmp, "r1.ofpk")
        c.r1 = sign(c, c.v1_path, "1.0.1", 1, c.r1_path)
        c.r2 = sign(c, os.path.join(c.tmp, "v2.bin"), "1.0.2", 2, os.path.join(c.tmp, "r2.ofpk"))
        c.r3 = sign(c, os.path.join(c.tmp, "v3.bin"), "1.0.3", 3, os.path.join(c.tmp, "r3.ofpk"))
        c.r_foreign = sign(c, os.path.join(c.tmp, "v2.bin"), "1.0.2", 2, os.path.join(c.tmp, "rf.ofpk"),
                           key=other)
        srv = Server(c.bin, extra=["--signing-key", c.key, "--delta-retry-after", "1"] + NOLIMITS)
        srv.start()
        setup(srv, c)
        rc = suite.run(c)
        if not srv.alive():
            print("FAIL server died during the suite; log:\n%s" % srv.log_text())
            rc = 1
        elif srv.stop() not in (0, None):
            print("FAIL server did not stop cleanly; log:\n%s" % srv.log_text())
            rc = 1
    except Failure as e:
        print("FAIL setup: %s" % e)
        rc = 1
    finally:
        if srv is not None:
            if rc:
                print("---- server log (tail) ----\n" + srv.log_text())
            srv.cleanup()
        shutil.rmtree(c.tmp, ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())

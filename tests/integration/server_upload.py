#!/usr/bin/env python3
"""bad-inputs.md, group "Uploads and package builder": the size cap (413,
also for an endless chunked upload), a client that disconnects mid-upload
(no package row, no file left), every broken Luat .bin variant refused with a
message naming the field, and the admin API's other refusals.

The server runs with upload_max = 1M (config file).

usage: server_upload.py /path/to/openfota
"""
import hashlib
import os
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from ofharness import FW, Suite, check, main_with_server  # noqa: E402
import luatbin  # noqa: E402

suite = Suite("server_upload")
CAP = 1024 * 1024
IGNORED = ("test-server.log", "test-serve.conf", "serve.json", "serve.lock")


class Ctx:
    pass


def setup(srv):
    c = Ctx()
    c.srv = srv
    c.key = srv.add_project("upload")
    c.common = luatbin.script_image(3000, seed=31)
    c.sdk = luatbin.script_image(2000, seed=32)
    return c


def files_snapshot(c):
    """Files under the data folder, except the database's own journal files
    and the test's log/config."""
    out = {}
    for root, _dirs, files in os.walk(c.srv.data):
        for f in files:
            if f in IGNORED or f.endswith(("-wal", "-shm", "-journal")):
                continue
            p = os.path.join(root, f)
            try:
                out[os.path.relpath(p, c.srv.data)] = os.path.getsize(p)
            except OSError:
                pass
    return out


def data_bytes(c):
    return sum(files_snapshot(c).values())


def package_count(c):
    st, obj, raw = c.srv.admin("GET", "/admin/v1/packages?project=" + c.key)
    check(st == 200, "package list: %s %r" % (st, raw))
    return len(obj["packages"])


def upload_path(c, version="2012.1.2", firmware=FW, **extra):
    q = {"firmware": firmware, "version": version, "filename": "p.bin", "raw": "1"}
    q.update(extra)
    return "/admin/v1/projects/%s/packages?%s" % (c.key, urllib.parse.urlencode(q))


def refused(c, data, field_words, what, version="2012.1.2", **kw):
    before = package_count(c)
    st, obj, raw = c.srv.upload(c.key, data, version, **kw)
    check(st == 422, "%s: expected 422, got %s %r" % (what, st, raw[:300]))
    msg = ((obj or {}).get("error", "") + " " + (obj or {}).get("hint", "")).lower()
    check(any(w.lower() in msg for w in field_words),
          "%s: the message does not name the field (%s): %r" % (what, "/".join(field_words), msg))
    check(package_count(c) == before, "%s: a package row was added" % what)


# ---------------------------------------------------------------- size cap

@suite.case
def over_cap_with_content_length_413(c):
    before_files = files_snapshot(c)
    n = CAP + 1
    r, sent = c.srv.admin_stream("POST", upload_path(c, firmware="OVERCAP"),
                                 (bytes(min(65536, n - i)) for i in range(0, n, 65536)), length=n)
    check(r is not None and r.status == 413, "upload of %d bytes (Content-Length) with a %d-byte "
          "cap: expected 413, got %s" % (n, CAP, r.describe() if r else "no answer"))
    time.sleep(0.5)
    check(files_snapshot(c) == before_files, "files left after a 413: %r"
          % (set(files_snapshot(c)) - set(before_files)))


@suite.case
def at_cap_accepted(c):
    data = luatbin.script_image(CAP, seed=33)
    obj = c.srv.upload_ok(c.key, data, "2012.1.3", firmware="RAW_AT_CAP")
    check(obj["size"] == CAP and obj["kind"] == "raw", "upload at the cap: %r" % obj)


@suite.case
def chunked_over_cap_413(c):
    before_files = files_snapshot(c)
    r, sent = c.srv.admin_stream("POST", upload_path(c, firmware="CHUNKED_OVER"),
                                 (bytes(65536) for _ in range(CAP // 65536 + 8)))
    check(r is not None and r.status == 413, "chunked upload of %d bytes that ends (cap %d): "
          "expected 413, got %s" % (sent, CAP, r.describe() if r else "no answer"))
    time.sleep(0.5)
    check(files_snapshot(c) == before_files, "files left after a chunked 413: %r"
          % (set(files_snapshot(c)) - set(before_files)))


@suite.case
def endless_chunked_upload_413(c):
    before = data_bytes(c)
    before_files = files_snapshot(c)
    r, sent = c.srv.admin_stream("POST", upload_path(c, firmware="ENDLESS"),
                                 (bytes(65536) for _ in range(8 * CAP // 65536)))
    check(r is not None and r.status == 413,
          "endless chunked upload (sent %d bytes, cap %d): expected 413, got %s"
          % (sent, CAP, r.describe() if r else "the connection closed without an answer"))
    time.sleep(0.5)
    check(data_bytes(c) <= before + 64 * 1024, "data folder grew by %d bytes after a refused "
          "endless upload" % (data_bytes(c) - before))
    check(files_snapshot(c) == before_files, "files left after an endless upload: %r"
          % (set(files_snapshot(c)) - set(before_files)))


@suite.case
def file_put_over_cap_413(c):
    n = CAP + 1
    r, sent = c.srv.admin_stream("PUT", "/admin/v1/files/big.bin",
                                 (bytes(min(65536, n - i)) for i in range(0, n, 65536)), length=n)
    check(r is not None and r.status == 413, "PUT /admin/v1/files over the cap: %s"
          % (r.describe() if r else "no answer"))
    check(c.srv.get("/download/big.bin").status == 404, "over-cap file is served")


# ---------------------------------------------------------------- disconnect

def disconnect_mid_upload(c, path, method="POST"):
    before_files = files_snapshot(c)
    before = package_count(c)
    total = 600000
    req = ("%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAuthorization: Bearer %s\r\n"
           "Content-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n"
           % (method, path, c.srv.port, c.srv.token, total)).encode()
    s = c.srv.connect()
    s.sendall(req)
    s.sendall(luatbin.script_image(250000, seed=34))
    time.sleep(0.3)
    s.close()
    # the server notices the close and cleans up; give it a moment
    deadline = time.time() + 10
    while time.time() < deadline:
        if files_snapshot(c) == before_files:
            break
        time.sleep(0.2)
    check(files_snapshot(c) == before_files, "files left after a client disconnected mid-upload "
          "(%s %s): %r" % (method, path, set(files_snapshot(c)) - set(before_files)))
    check(package_count(c) == before, "a package row was added by an interrupted upload")


@suite.case
def disconnect_mid_package_upload(c):
    disconnect_mid_upload(c, upload_path(c, firmware="CUT_FW"))
    st, obj, raw = c.srv.admin("GET", "/admin/v1/projects/%s/firmware" % c.key)
    check(st == 200 and not any(f["name"] == "CUT_FW" for f in obj["firmware"]),
          "interrupted upload left firmware CUT_FW behind: %r" % raw)


@suite.case
def disconnect_mid_file_put(c):
    disconnect_mid_upload(c, "/admin/v1/files/cut.bin", method="PUT")
    check(c.srv.get("/download/cut.bin").status == 404, "interrupted file put is served")


# ---------------------------------------------------------------- Luat .bin

@suite.case
def valid_script_only_vendor_style_accepted(c):
    data = luatbin.build(c.common)
    obj = c.srv.upload_ok(c.key, data, "2012.1.2")
    check(obj["kind"] == "luat", "vendor-style script package kind %r" % obj["kind"])
    check(obj.get("base_core") is None, "script-only package base_core %r" % obj.get("base_core"))


@suite.case
def valid_old_magic_accepted(c):
    data = luatbin.build(c.common, magic=luatbin.MAGIC_OLD)
    obj = c.srv.upload_ok(c.key, data, "2012.1.4", firmware="OLD_MAGIC_FW")
    check(obj["kind"] == "luat", "old-magic package kind %r" % obj["kind"])


@suite.case
def valid_core_package_accepted(c):
    data = luatbin.build(c.common, sdk=c.sdk, main_core=2013, std_core=2012)
    obj = c.srv.upload_ok(c.key, data, "2013.1.2", base_core=2012)
    check(obj["kind"] == "luat" and obj.get("base_core") == 2012, "core package: %r" % obj)


@suite.case
def bad_magic(c):
    # One bit off the family's magic: not a valid module package. Refusing
    # it naming the magic is right; storing it as an opaque raw blob is the
    # documented fallback for non-Luat files; a 'luat' kind would be wrong.
    data = luatbin.build(c.common, magic=0xEAC37219)
    st, obj, raw = c.srv.upload(c.key, data, "2012.1.5", firmware="BADMAGIC_FW")
    if st == 422:
        check(b"magic" in raw.lower(), "bad magic refused without naming it: %r" % raw)
    else:
        check(st == 201 and obj["kind"] == "raw",
              "bad magic: expected 422 naming the magic (or kind raw), got %s %r" % (st, raw))


@suite.case
def bad_header_crc(c):
    refused(c, luatbin.build(c.common, crc_override=0x12345678), ["crc"], "bad header CRC")


@suite.case
def crc_with_final_xor(c):
    # the common mistake: a standard CRC-32 (with the final XOR)
    data = luatbin.build(c.common)
    h = bytearray(data[:92])
    import struct
    import zlib
    struct.pack_into("<I", h, 4, zlib.crc32(bytes(h[8:92])))
    refused(c, bytes(h) + data[92:], ["crc"], "header CRC computed with the final XOR")


@suite.case
def lengths_not_adding_up(c):
    good = luatbin.build(c.common)
    refused(c, good[:-1], ["length", "size", "commondatalen"], "file one byte short")
    refused(c, good + b"\0", ["length", "size", "commondatalen"], "file one byte long")
    refused(c, luatbin.build(c.common, common_len=len(c.common) + 100),
            ["length", "size", "commondatalen"], "CommonDataLen larger than the data")
    refused(c, luatbin.build(c.common, sdk_len=0xFFFFFFFF),
            ["length", "size", "sdkdatalen"], "SDKDataLen 0xFFFFFFFF (overflow)")
    refused(c, luatbin.build(c.common, common_len=0xFFFFFFFF, sdk_len=93),
            ["length", "size", "datalen"], "lengths that wrap around 32 bits")


@suite.case
def truncated_header(c):
    good = luatbin.build(c.common)
    st, obj, raw = c.srv.upload(c.key, good[:60], "2012.1.2", firmware="TRUNC_FW")
    check(st == 422 or (st == 201 and obj["kind"] == "raw"),
          "60 bytes of a Luat header: expected 422 (or raw), got %s %r" % (st, raw))
    check(st != 201 or obj["kind"] != "luat", "truncated header accepted as luat")


@suite.case
def common_md5_mismatch(c):
    refused(c, luatbin.build(c.common, common_md5_override=bytes(16)), ["commonmd5", "md5"],
            "CommonMD5 of zeros")
    bad = bytearray(luatbin.build(c.common))
    bad[200] ^= 1
    refused(c, bytes(bad), ["commonmd5", "md5"], "one flipped bit in CommonData")


@suite.case
def sdk_md5_mismatch(c):
    refused(c, luatbin.build(c.common, sdk=c.sdk, main_core=2013, std_core=2012,
                             sdk_md5_override=b"\x11" * 16),
            ["sdkmd5", "md5"], "SDKMD5 wrong", version="2013.1.2", base_core=2012)
    refused(c, luatbin.build(c.common, sdk=c.sdk, main_core=2013, std_core=2012,
                             sdk_md5_override=bytes(16)),
            ["sdkmd5", "md5"], "SDKMD5 zero with SDKData present", version="2013.1.2",
            base_core=2012)


@suite.case
def header_versions_contradict_declared(c):
    refused(c, luatbin.build(c.common, main_core=2013), ["mainversion", "core"],
            "MainVersion 2013 declared 2012.1.2")
    refused(c, luatbin.build(c.common, sdk=c.sdk, main_core=2013, std_core=2011),
            ["stdversion", "base"], "STDVersion 2011 declared base 2012", version="2013.1.2",
            base_core=2012)
    refused(c, luatbin.build(c.common, sdk=c.sdk, main_core=2013, std_core=2012),
            ["base"], "core part without a declared base core", version="2013.1.2")


@suite.case
def declared_version_malformed(c):
    for v in ("2012.1", "2012.1.1000", "1e9.1.1", "x", "", "18446744073709551616.1.1"):
        refused(c, luatbin.build(c.common), ["version"], "declared version %r" % v, version=v)


@suite.case
def suffix_contradicting_firmware(c):
    c.srv.upload_ok(c.key, luatbin.build(c.common), "2012.1.6", firmware="SUFFIX1_FW", suffix=1)
    refused(c, luatbin.build(c.common), ["suffix"], "suffix 2 on a suffix-1 firmware",
            version="2012.1.7", firmware="SUFFIX1_FW", suffix=2)
    refused(c, luatbin.build(c.common), ["suffix"], "file name _2 on a suffix-1 firmware",
            version="2012.1.7", firmware="SUFFIX1_FW", filename="LuatOS-SoC_V2012_Air780EHV_2.bin")


@suite.case
def zero_byte_upload_refused(c):
    st, obj, raw = c.srv.upload(c.key, b"", "2012.1.8", firmware="EMPTY_FW")
    check(400 <= st < 500, "a zero-byte package (devices treat an empty 200 as failure): "
          "expected 4xx, got %s %r" % (st, raw))


@suite.case
def auth_required(c):
    import http.client
    for hdrs in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic " + c.srv.token},
                 {"Authorization": "Bearer " + c.srv.token + "x"}):
        conn = http.client.HTTPConnection("127.0.0.1", c.srv.port, timeout=10)
        conn.request("POST", upload_path(c, firmware="NOAUTH"), body=luatbin.build(c.common),
                     headers=hdrs)
        r = conn.getresponse()
        r.read()
        conn.close()
        check(r.status == 401, "upload with %r: expected 401, got %s" % (hdrs, r.status))


@suite.case
def unknown_project_404(c):
    st, obj, raw = c.srv.admin("POST", "/admin/v1/projects/NOPE/packages?firmware=X&version=1.1.1",
                               raw=b"data")
    check(st == 404, "upload to an unknown project: expected 404, got %s %r" % (st, raw))


@suite.case
def file_names_with_traversal_refused(c):
    before = files_snapshot(c)
    for name in ("..%2fescape.bin", "%2e%2e%2fescape.bin", ".hidden", "a%2fb", "..", "%00x",
                 "x%5c..%5cy"):
        st, obj, raw = c.srv.admin("PUT", "/admin/v1/files/" + name, raw=b"payload")
        check(st in (400, 404, 422), "PUT /admin/v1/files/%s: expected 400, got %s %r"
              % (name, st, raw))
    parent = os.path.dirname(c.srv.data)
    check(not os.path.exists(os.path.join(parent, "escape.bin")), "a file escaped the data folder")
    check(files_snapshot(c) == before, "refused file names left files: %r"
          % (set(files_snapshot(c)) - set(before)))


@suite.case
def same_content_twice_dedup(c):
    data = luatbin.build(luatbin.script_image(1500, seed=35))
    a = c.srv.upload_ok(c.key, data, "2012.1.9", firmware="DEDUP_FW")
    b = c.srv.upload_ok(c.key, data, "2012.1.10", firmware="DEDUP_FW")
    check(a["sha256"] == b["sha256"] == hashlib.sha256(data).hexdigest(), "dedup sha256")
    st, obj, raw = c.srv.admin("DELETE", "/admin/v1/packages/%s" % a["id"])
    check(st == 204, "delete first of two same-content packages: %s %r" % (st, raw))
    r = c.srv.module_check("860000000009999", c.key, "DEDUP_FW", "2012.001.001")
    check(r.status == 200 and r.body == data, "the second package lost its file when the first "
          "was removed: %s" % r.describe())


if __name__ == "__main__":
    sys.exit(main_with_server(suite, setup, config={"upload_max": "1M"}))

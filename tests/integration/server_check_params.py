#!/usr/bin/env python3
"""bad-inputs.md, group "Device check parameters": every case sent as the
exact bytes of a module, each answered with the documented code (docs/api.md),
never a redirect, never a crash, and the server keeps serving.

usage: server_check_params.py /path/to/openfota
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from ofharness import (FW, Suite, check, expect_code, expect_package,  # noqa: E402
                       main_with_server, module_bytes)
import luatbin  # noqa: E402

suite = Suite("server_check_params")
PATH = "/api/site/firmware_upgrade"


class Ctx:
    pass


def setup(srv):
    c = Ctx()
    c.srv = srv
    c.key = srv.add_project("params")
    c.pkg = luatbin.build(luatbin.script_image(2000, seed=11))
    srv.upload_ok(c.key, c.pkg, "2012.1.2")
    c.n = 0
    return c


def dev(c):
    c.n += 1
    return "86%013d" % (5000 + c.n)


def send(c, query, path=PATH):
    return c.srv.raw(module_bytes(c.srv.port, path + "?" + query))


def q(c, ident=None, key=None, fw=None, version="2012.001.001", id_key="imei"):
    return "%s=%s&project_key=%s&firmware_name=%s&version=%s" % (
        id_key, ident if ident is not None else dev(c), key if key is not None else c.key,
        fw if fw is not None else FW, version)


def still_serving(c, what):
    r = send(c, q(c))
    expect_package(r, c.pkg, "a normal check after %s" % what)


# ---- identity

@suite.case
def imei_non_numeric(c):
    r = send(c, q(c, ident="86ABCDEF0123456"))
    expect_code(r, 3, "imei=86ABCDEF0123456 (non-numeric)")
    check(r.status == 400, "malformed identity: status %s, documented 400" % r.status)


@suite.case
def imei_too_short(c):
    expect_code(send(c, q(c, ident="123")), 3, "imei=123 (wrong length)")


@suite.case
def imei_too_long(c):
    expect_code(send(c, q(c, ident="8" * 40)), 3, "imei of 40 digits (wrong length)")


@suite.case
def imei_very_long(c):
    r = c.srv.raw_status(module_bytes(c.srv.port, PATH + "?" + q(c, ident="9" * 6000)))
    check(r is None or r.status in (400, 414, 431) or r.code() == 3,
          "imei of 6000 digits: expected code 3 or 414/431, got %s" % (r.describe() if r else None))
    still_serving(c, "a 6000-digit imei")


@suite.case
def imei_empty(c):
    expect_code(send(c, q(c, ident="")), 3, "imei= (empty)")


@suite.case
def imei_missing(c):
    r = send(c, "project_key=%s&firmware_name=%s&version=2012.001.001" % (c.key, FW))
    expect_code(r, 3, "no imei/mac parameter")


@suite.case
def imei_misspelt(c):
    r = send(c, "IMEI=%s&project_key=%s&firmware_name=%s&version=2012.001.001" % (dev(c), c.key, FW))
    expect_code(r, 3, "IMEI= (upper case; the key is imei)")


@suite.case
def identity_literal_nil(c):
    r = send(c, "nil&project_key=%s&firmware_name=%s&version=2012.001.001" % (c.key, FW))
    expect_code(r, 3, "?nil&project_key=... (unknown model, no identity)")
    check(r.status == 400, "nil identity: status %s, documented 400" % r.status)


@suite.case
def imei_value_nil(c):
    expect_code(send(c, q(c, ident="nil")), 3, "imei=nil")


@suite.case
def mac_not_hex(c):
    expect_code(send(c, q(c, ident="ZZ:YY:XX", id_key="mac")), 3, "mac=ZZ:YY:XX")


@suite.case
def imei_percent_encoded_not_decoded(c):
    # Devices never encode; %38%36... must not be decoded into digits.
    expect_code(send(c, q(c, ident="%38%36%30%31%32%33%34%35%36%37%38%39%30%31%32")), 3,
                "imei of percent-escapes (no URL-decoding)")


@suite.case
def url_without_question_mark(c):
    for base in ("/upgrade", PATH):
        r = c.srv.raw(module_bytes(c.srv.port, base + q(c)))
        expect_code(r, 3, "%simei=... (device URL configured without '?')" % base)
        check(r.status == 400, "URL without '?': status %s, documented 400" % r.status)
        for tail in (q(c, id_key="mac", ident="C8C2C6A1B2C3"),
                     "nil&project_key=%s&firmware_name=%s&version=2012.001.001" % (c.key, FW),
                     "project_key=%s&firmware_name=%s&version=2012.001.001&imei=%s"
                     % (c.key, FW, dev(c))):
            r = c.srv.raw(module_bytes(c.srv.port, base + tail))
            expect_code(r, 3, "%s%s (URL without '?')" % (base, tail[:20]))
    # the operator learns what to fix from the server's log
    import time
    deadline = time.time() + 5
    while True:
        with open(c.srv.log_path, "rb") as f:
            log = f.read().decode("utf-8", "replace")
        hit = [ln for ln in log.splitlines() if "upgradeimei" in ln and "?" in ln]
        if hit or time.time() > deadline:
            break
        time.sleep(0.1)
    check(hit, "the server log does not tell the operator about the URL without '?' "
          "(no line naming the /upgradeimei=... path)")


# ---- version

def bad_version(c, v):
    r = send(c, q(c, version=v))
    expect_code(r, 4, "version=%s" % v)
    check(r.status == 400, "version=%s: status %s, documented 400" % (v, r.status))


@suite.case
def version_empty(c):
    bad_version(c, "")


@suite.case
def version_missing(c):
    r = send(c, "imei=%s&project_key=%s&firmware_name=%s" % (dev(c), c.key, FW))
    expect_code(r, 4, "no version parameter")


@suite.case
def version_two_parts(c):
    bad_version(c, "2012.001")


@suite.case
def version_four_parts(c):
    bad_version(c, "2012.001.000.001")


@suite.case
def version_part_over_999(c):
    bad_version(c, "2012.1000.001")
    bad_version(c, "2012.001.1000")


@suite.case
def version_exponent(c):
    bad_version(c, "1e9")
    bad_version(c, "2012.1e2.1")


@suite.case
def version_hex(c):
    bad_version(c, "0x10")
    bad_version(c, "2012.0x10.1")


@suite.case
def version_2_pow_64(c):
    bad_version(c, "18446744073709551616")
    bad_version(c, "18446744073709551616.1.1")


@suite.case
def version_core_wraparound(c):
    # 4294969308 = 2**32 + 2012: a server that wraps would see core 2012
    r = send(c, q(c, version="4294969308.001.001"))
    check(r.status != 200, "version 4294969308.001.001 (2^32+2012) got the core-2012 package: "
          "the core number wrapped")
    check(r.code() in (4, 27), "version 4294969308.001.001: expected code 4, got %s" % r.describe())


@suite.case
def version_signs_and_spaces(c):
    for v in ("-1.1.1", "+2012.1.1", "2012.-1.1", "2012..1", ".2012.1.1", "2012.1.1.",
              "2012.1.1%00", "%32012.1.1", "2012.1.a"):
        bad_version(c, v)


@suite.case
def version_leading_zeros_are_numbers(c):
    # 2012.001.001 == 2012.1.1: gets the package; 02012.001.002 equals 2012.1.2
    expect_package(send(c, q(c, version="2012.1.1")), c.pkg, "version 2012.1.1")
    expect_code(send(c, q(c, version="2012.001.002")), 27, "version 2012.001.002 (latest)")


# ---- SQL metacharacters

@suite.case
def sql_metacharacters_are_data(c):
    payloads = ["1'OR'1'='1", "x');DROP/**/TABLE/**/devices;--", "\"\\;--", "%27%3B--"]
    for p in payloads:
        expect_code(send(c, q(c, key=p)), 25, "project_key=%s" % p)
        expect_code(send(c, q(c, fw=p)), 26, "firmware_name=%s" % p)
        r = send(c, q(c, ident=p))
        expect_code(r, 3, "imei=%s" % p)
        r = send(c, q(c, ident=p, id_key="mac"))
        expect_code(r, 3, "mac=%s" % p)
    st, obj, raw = c.srv.admin("GET", "/admin/v1/projects")
    check(st == 200 and any(p["key"] == c.key for p in obj["projects"]),
          "projects after SQL metacharacters: %s %r" % (st, raw))
    st, obj, raw = c.srv.admin("GET", "/admin/v1/devices?limit=1000")
    check(st == 200, "devices after SQL metacharacters: %s %r" % (st, raw))
    still_serving(c, "SQL metacharacters")


@suite.case
def sql_metacharacters_in_admin_paths(c):
    for p in ("1'OR'1'='1", "x%27%3B%20DROP%20TABLE%20projects%3B--"):
        st, obj, raw = c.srv.admin("GET", "/admin/v1/projects/" + p)
        check(st == 404, "GET /admin/v1/projects/%s: expected 404, got %s %r" % (p, st, raw))
        st, obj, raw = c.srv.admin("GET", "/admin/v1/devices/" + p)
        check(st in (400, 404), "GET /admin/v1/devices/%s: expected 404, got %s %r" % (p, st, raw))
    st, obj, raw = c.srv.admin("POST", "/admin/v1/projects", {"name": "x'); DROP TABLE projects;--"})
    check(st == 201, "project named with SQL: %s %r" % (st, raw))
    st, obj, raw = c.srv.admin("GET", "/admin/v1/projects/" + obj["key"])
    check(st == 200 and obj["name"] == "x'); DROP TABLE projects;--",
          "project name round trip: %s %r" % (st, raw))


# ---- duplicates

@suite.case
def duplicate_imei_first_wins(c):
    a, b = dev(c), dev(c)
    r = send(c, "imei=%s&imei=%s&project_key=%s&firmware_name=%s&version=2012.001.001"
             % (a, b, c.key, FW))
    expect_package(r, c.pkg, "imei=a&imei=b")
    st, _, raw = c.srv.admin("GET", "/admin/v1/devices/" + a)
    check(st == 200, "duplicate imei: the first (%s) should be the device, got %s %r" % (a, st, raw))
    st, _, _ = c.srv.admin("GET", "/admin/v1/devices/" + b)
    check(st == 404, "duplicate imei: the second (%s) was recorded too (status %s)" % (b, st))


@suite.case
def duplicate_project_key_first_wins(c):
    r = send(c, "imei=%s&project_key=%s&project_key=NOPE&firmware_name=%s&version=2012.001.001"
             % (dev(c), c.key, FW))
    expect_package(r, c.pkg, "project_key=GOOD&project_key=NOPE")
    r = send(c, "imei=%s&project_key=NOPE&project_key=%s&firmware_name=%s&version=2012.001.001"
             % (dev(c), c.key, FW))
    expect_code(r, 25, "project_key=NOPE&project_key=GOOD (first wins)")


@suite.case
def duplicate_version_first_wins(c):
    r = send(c, "imei=%s&project_key=%s&firmware_name=%s&version=2012.001.002&version=2012.001.001"
             % (dev(c), c.key, FW))
    expect_code(r, 27, "version=latest&version=old (first wins)")


# ---- unknown project / firmware / family, with history

def history_codes(c, ident):
    st, obj, raw = c.srv.admin("GET", "/admin/v1/devices/%s?history=50" % ident)
    if st != 200:
        return None
    return [e.get("code") for e in obj.get("history", [])]


@suite.case
def unknown_project_25_in_history(c):
    d = dev(c)
    expect_code(send(c, q(c, ident=d, key="UNKNOWNKEY")), 25, "unknown project_key")
    check(send(c, q(c, ident=d, key="UNKNOWNKEY")).status == 404, "code 25: documented 404")
    # a check with an unknown key creates no device (made-up ids cost nothing)
    check(history_codes(c, d) is None, "device %s was created by checks with an unknown project key" % d)
    # a known device's check with a wrong key is recorded in its history
    send(c, q(c, ident=d))
    expect_code(send(c, q(c, ident=d, key="UNKNOWNKEY")), 25, "unknown project_key, known device")
    codes = history_codes(c, d)
    check(codes is not None and 25 in codes,
          "device %s history after code 25: %r (expected an event with code 25)" % (d, codes))


@suite.case
def missing_project_key_25_and_firmware_26(c):
    r = send(c, "imei=%s&firmware_name=%s&version=2012.001.001" % (dev(c), FW))
    expect_code(r, 25, "no project_key parameter")
    r = send(c, "imei=%s&project_key=%s&version=2012.001.001" % (dev(c), c.key))
    expect_code(r, 26, "no firmware_name parameter")


@suite.case
def unknown_firmware_26_in_history(c):
    d = dev(c)
    r = send(c, q(c, ident=d, fw="NOT_A_FIRMWARE"))
    expect_code(r, 26, "unknown firmware_name")
    codes = history_codes(c, d)
    check(codes is not None and 26 in codes,
          "device %s history after code 26: %r (expected an event with code 26)" % (d, codes))


@suite.case
def other_project_17_in_history(c):
    k2 = c.srv.add_project("params-other")
    c.srv.upload_ok(k2, c.pkg, "2012.1.2")
    d = dev(c)
    expect_package(send(c, q(c, ident=d)), c.pkg, "first check binds the device")
    r = send(c, q(c, ident=d, key=k2))
    expect_code(r, 17, "device bound to project 1 checks with project 2's key")
    codes = history_codes(c, d)
    check(codes is not None and 17 in codes,
          "device %s history after code 17: %r" % (d, codes))


@suite.case
def family_mismatch_refused(c):
    # A device whose lineage is suffix 1 must never receive a _2 package:
    # a _2 package is refused at upload for a _1 firmware.
    st, obj, raw = c.srv.upload(c.key, luatbin.build(luatbin.script_image(100, seed=3)),
                                "2012.1.9", suffix=2)
    check(st == 422, "upload of a suffix-2 package to a suffix-1 firmware: expected 422, got %s %r"
          % (st, raw))
    check(b"suffix" in raw.lower(), "422 does not name the suffix: %r" % raw)
    expect_code(send(c, q(c, version="2012.001.002")), 27, "after the refused _2 upload")


@suite.case
def layout_suffix_change_17(c):
    # a device seen on a _1 firmware that asks with a _2 firmware name
    st, obj, raw = c.srv.admin("POST", "/admin/v1/projects/%s/firmware" % c.key,
                               {"name": "LAYOUT2_FW", "suffix": 2})
    check(st == 201, "create a suffix-2 firmware: %s %r" % (st, raw))
    c.srv.upload_ok(c.key, luatbin.build(luatbin.script_image(500, seed=12)), "2012.1.2",
                    firmware="LAYOUT2_FW", suffix=2)
    d = dev(c)
    expect_package(send(c, q(c, ident=d)), c.pkg, "first check on the _1 firmware")
    r = send(c, q(c, ident=d, fw="LAYOUT2_FW"))
    expect_code(r, 17, "device seen on a _1 firmware asks for a _2 firmware")


@suite.case
def other_methods_and_extra_params(c):
    # libfota2 may be configured for POST with a body; extra params ignored.
    body = b"hello"
    req = ("POST %s?%s HTTP/1.1\r\nConnection: Close\r\nHost: 127.0.0.1:%d\r\n"
           "Content-Length: %d\r\n\r\n" % (PATH, q(c) + "&extra=1", c.srv.port, len(body))).encode()
    r = c.srv.raw(req + body)
    expect_package(r, c.pkg, "POST check with a body and an extra parameter")


if __name__ == "__main__":
    sys.exit(main_with_server(suite, setup))

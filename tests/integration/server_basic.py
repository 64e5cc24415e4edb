#!/usr/bin/env python3
"""End to end through the CLI and the exact bytes of a module: a project,
a vendor-format package built here and a raw one, delivery byte for byte,
"already latest" (27), the loop guard (40) and unban, the device rules
(listed only, upgrades off, forbid/allow, 17/25/26), the `###` static file.

usage: server_basic.py /path/to/openfota
"""
import hashlib
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from ofharness import (FW, Failure, Suite, check, sqlite_only, expect_code, expect_package,  # noqa: E402
                       main_with_server, parse_response, recv_all, module_bytes)
import luatbin  # noqa: E402

suite = Suite("server_basic")
RAW_FW = "RAW_DEVICE_FW"


class Ctx:
    pass


def imei(n):
    return "86%013d" % n


def setup(srv):
    c = Ctx()
    c.srv = srv
    c.tmp = tempfile.mkdtemp(prefix="openfota-basic-", dir=srv.data)
    c.luat = luatbin.build(luatbin.script_image(30000, seed=7))
    c.raw = luatbin.script_image(12345, seed=99)
    c.luat_path = os.path.join(c.tmp, "script_v2.bin")
    c.raw_path = os.path.join(c.tmp, "firmware.img")
    with open(c.luat_path, "wb") as f:
        f.write(c.luat)
    with open(c.raw_path, "wb") as f:
        f.write(c.raw)
    return c


def run_cli(c, *args):
    r = c.srv.cli(*args)
    return r


def cli_ok(c, *args):
    r = run_cli(c, *args)
    check(r.returncode == 0, "openfota %s: exit %s\nstdout: %s\nstderr: %s"
          % (" ".join(args), r.returncode, r.stdout, r.stderr))
    return r


@suite.case
def cli_project_add_prints_key_last(c):
    r = cli_ok(c, "project", "add", "demo")
    lines = [ln for ln in r.stdout.splitlines() if ln.strip()]
    check(lines, "project add printed nothing")
    key = lines[-1]
    check(key == key.strip() and " " not in key and key,
          "last line of 'project add' is not a bare key: %r" % lines[-1])
    st, obj, raw = c.srv.admin("GET", "/admin/v1/projects/" + key)
    check(st == 200 and obj and obj.get("name") == "demo",
          "GET project %s after CLI add: %s %r" % (key, st, raw))
    c.key = key


@suite.case
def cli_project_add_with_key(c):
    r = cli_ok(c, "project", "add", "second", "--key", "SECONDKEY123")
    check(r.stdout.strip().splitlines()[-1] == "SECONDKEY123",
          "project add --key: last line %r" % r.stdout)
    c.key2 = "SECONDKEY123"


@suite.case
def cli_package_add_luat(c):
    r = cli_ok(c, "package", "add", "--project", c.key, "--firmware", FW,
               "--version", "2012.1.2", c.luat_path)
    sha = hashlib.sha256(c.luat).hexdigest()
    check(sha in r.stdout, "package add did not print the sha256 %s: %r" % (sha, r.stdout))
    st, obj, raw = c.srv.admin("GET", "/admin/v1/packages?project=" + c.key)
    check(st == 200, "package list: %s %r" % (st, raw))
    pk = [p for p in obj["packages"] if p["sha256"] == sha]
    check(len(pk) == 1, "uploaded package not listed: %r" % obj)
    check(pk[0]["kind"] == "luat", "vendor .bin stored with kind %r, expected luat" % pk[0]["kind"])
    check(pk[0]["size"] == len(c.luat), "size %r != %d" % (pk[0]["size"], len(c.luat)))
    check(pk[0]["md5"] == hashlib.md5(c.luat).hexdigest(), "md5 differs: %r" % pk[0]["md5"])
    check(str(pk[0]["id"]) in r.stdout, "package add did not print the id: %r" % r.stdout)
    c.luat_id = pk[0]["id"]


@suite.case
def cli_package_add_raw(c):
    r = cli_ok(c, "package", "add", "--project", c.key, "--firmware", RAW_FW,
               "--version", "1.0.1", c.raw_path, "--json")
    import json
    obj = json.loads(r.stdout)
    check(obj.get("kind") == "raw", "raw upload kind %r, expected raw" % obj.get("kind"))
    check(obj.get("sha256") == hashlib.sha256(c.raw).hexdigest(), "raw sha256 %r" % obj)


@suite.case
def module_gets_exact_luat_package(c):
    r = c.srv.module_check(imei(1), c.key, FW, "2012.001.001")
    expect_package(r, c.luat, "module check 2012.001.001")
    check(r.header("location") is None, "package answer carries Location")


@suite.case
def module_gets_exact_raw_package(c):
    r = c.srv.module_check(imei(2), c.key, RAW_FW, "1.0.0")
    expect_package(r, c.raw, "module check raw firmware 1.0.0")


@suite.case
def second_check_new_version_is_27(c):
    r = c.srv.module_check(imei(1), c.key, FW, "2012.001.002")
    expect_code(r, 27, "check with the new version 2012.001.002")


@suite.case
def version_compared_as_numbers(c):
    # 2012.1.2 == 2012.001.002: already latest
    r = c.srv.module_check(imei(3), c.key, FW, "2012.1.2")
    expect_code(r, 27, "check with 2012.1.2 (same as the package)")


@suite.case
def old_library_parameter_order(c):
    q = "project_key=%s&firmware_name=%s&version=2012.001.001&imei=%s" % (c.key, FW, imei(4))
    r = c.srv.raw(module_bytes(c.srv.port, "/api/site/firmware_upgrade?" + q))
    expect_package(r, c.luat, "libfota order (project_key, firmware_name, version, imei)")


@suite.case
def mac_identity(c):
    r = c.srv.module_check("C8C2C6A1B2C3", c.key, FW, "2012.001.001", id_key="mac")
    expect_package(r, c.luat, "mac= identity")


@suite.case
def upgrade_path_alias(c):
    r = c.srv.module_check(imei(5), c.key, FW, "2012.001.001", path="/upgrade")
    expect_package(r, c.luat, "/upgrade? path")


@suite.case
def url_without_question_mark(c):
    for base in ("/upgrade", "/api/site/firmware_upgrade"):
        target = "%simei=%s&project_key=%s&firmware_name=%s&version=2012.001.001" % (
            base, imei(6), c.key, FW)
        r = c.srv.raw(module_bytes(c.srv.port, target))
        expect_code(r, 3, "GET %s (URL configured without '?')" % target)
        check("?" in r.json()["msg"], "the message should tell to end the URL with '?': %r"
              % r.json()["msg"])


@suite.case
def keep_alive_and_close_both_work(c):
    # A keep-alive client: two checks on one connection.
    req = ("GET /api/site/firmware_upgrade?imei=%s&project_key=%s&firmware_name=%s"
           "&version=2012.001.002 HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n"
           % (imei(7), c.key, FW, c.srv.port)).encode()
    with c.srv.connect() as s:
        s.sendall(req)
        buf = b""
        r1 = None
        s.settimeout(10)
        while r1 is None:
            d = s.recv(65536)
            check(d, "server closed a keep-alive connection after the first answer")
            buf += d
            r1, buf = parse_response(buf)
        s.sendall(req.replace(b"HTTP/1.1\r\n", b"HTTP/1.1\r\nConnection: close\r\n", 1))
        rest, closed = recv_all(s, 10)
        buf += rest
        r2, _ = parse_response(buf)
    expect_code(r1, 27, "first check on a keep-alive connection")
    check(r2 is not None, "no answer to the second request on the keep-alive connection")
    expect_code(r2, 27, "second check on a keep-alive connection")


@suite.case
def loop_guard_bans_on_7th_delivery_and_unban_restores(c):
    dev = imei(100)
    for i in range(6):
        r = c.srv.module_check(dev, c.key, FW, "2012.001.001")
        expect_package(r, c.luat, "delivery %d of 6 in a day" % (i + 1))
    r = c.srv.module_check(dev, c.key, FW, "2012.001.001")
    expect_code(r, 40, "7th request in a day after 6 deliveries")
    r = c.srv.module_check(dev, c.key, FW, "2012.001.001")
    expect_code(r, 40, "8th request while banned")
    st, obj, raw = c.srv.admin("GET", "/admin/v1/devices?state=banned")
    check(st == 200 and any(d["id"] == dev for d in obj["devices"]),
          "banned device not in device list --state banned: %s %r" % (st, raw))
    cli_ok(c, "device", "unban", dev)
    r = c.srv.module_check(dev, c.key, FW, "2012.001.001")
    expect_package(r, c.luat, "check after 'openfota device unban'")


@suite.case
def failed_upgrade_is_recorded(c):
    # imei(1) got the whole package then came back on its old version.
    dev = imei(101)
    r = c.srv.module_check(dev, c.key, FW, "2012.001.001")
    expect_package(r, c.luat, "delivery before failed upgrade")
    r = c.srv.module_check(dev, c.key, FW, "2012.001.001")
    expect_package(r, c.luat, "second delivery (device came back on the old version)")
    st, obj, raw = c.srv.admin("GET", "/admin/v1/devices/" + dev)
    check(st == 200, "device show: %s %r" % (st, raw))
    check(isinstance(obj.get("failed_upgrades"), int) and obj["failed_upgrades"] >= 1,
          "device that received the whole package and came back on its old version: "
          "failed_upgrades %r, expected >= 1" % obj.get("failed_upgrades"))
    check(len(obj.get("history", [])) >= 2, "history has %d events, expected >= 2"
          % len(obj.get("history", [])))
    ev = obj["history"][0]
    for k in ("time", "version", "code", "decision", "package", "bytes_sent", "complete"):
        check(k in ev, "history event lacks %r: %r" % (k, ev))


@suite.case
def cli_device_show_history_table(c):
    r = cli_ok(c, "device", "show", imei(100))
    check("history" in r.stdout.lower() and "2012.001.001" in r.stdout,
          "device show output lacks history: %r" % r.stdout)
    r = cli_ok(c, "device", "list", "--project", c.key)
    check(imei(100) in r.stdout, "device list lacks the device: %r" % r.stdout)


@suite.case
def forbid_and_allow(c):
    dev = imei(200)
    r = c.srv.module_check(dev, c.key, FW, "2012.001.002")
    expect_code(r, 27, "first check (binds the device)")
    cli_ok(c, "device", "forbid", dev)
    r = c.srv.module_check(dev, c.key, FW, "2012.001.001")
    expect_code(r, 21, "check of a forbidden device")
    cli_ok(c, "device", "allow", dev)
    r = c.srv.module_check(dev, c.key, FW, "2012.001.001")
    expect_package(r, c.luat, "check after allow")


@suite.case
def unknown_project_25_unknown_firmware_26(c):
    r = c.srv.module_check(imei(300), "NOSUCHPROJECT", FW, "2012.001.001")
    expect_code(r, 25, "unknown project_key")
    r = c.srv.module_check(imei(301), c.key, "NO_SUCH_FIRMWARE", "2012.001.001")
    expect_code(r, 26, "unknown firmware_name")


@suite.case
def device_bound_to_other_project_17(c):
    dev = imei(1)  # bound to c.key at its first check
    r = c.srv.module_check(dev, c.key2, FW, "2012.001.001")
    check(r.code() in (17, 26), "device bound to another project asks under project 2: "
          "expected code 17, got %s" % r.describe())
    cli_ok(c, "firmware", "add", "--project", c.key2, FW)
    r = c.srv.module_check(dev, c.key2, FW, "2012.001.001")
    expect_code(r, 17, "device bound to project 1 checks with project 2's key")


@suite.case
def listed_only_project(c):
    cli_ok(c, "project", "set", c.key, "--listed-only", "on")
    try:
        r = c.srv.module_check(imei(400), c.key, FW, "2012.001.001")
        expect_code(r, 27, "unlisted device in a listed-only project")
        cli_ok(c, "project", "devices", "add", c.key, imei(401))
        r = c.srv.module_check(imei(401), c.key, FW, "2012.001.001")
        expect_package(r, c.luat, "listed device in a listed-only project")
    finally:
        cli_ok(c, "project", "set", c.key, "--listed-only", "off")


@suite.case
def upgrades_off(c):
    cli_ok(c, "project", "set", c.key, "--upgrades", "off")
    try:
        r = c.srv.module_check(imei(500), c.key, FW, "2012.001.001")
        expect_code(r, 27, "project with upgrades off")
    finally:
        cli_ok(c, "project", "set", c.key, "--upgrades", "on")
    r = c.srv.module_check(imei(500), c.key, FW, "2012.001.001")
    expect_package(r, c.luat, "upgrades on again")


@suite.case
def max_daily_setting(c):
    cli_ok(c, "project", "set", c.key2, "--max-daily", "2")
    st, obj, _ = c.srv.admin("GET", "/admin/v1/projects/" + c.key2)
    check(obj.get("max_daily_deliveries") == 2, "max-daily not applied: %r" % obj)


@suite.case
def core_package_rules_newest_target_wins(c):
    k = c.srv.add_project("rules")
    fw = "RULES_LuatOS-SoC_Air780EHV"
    script_pkg = luatbin.build(luatbin.script_image(4000, seed=1))
    core_pkg = luatbin.build(luatbin.script_image(4000, seed=2), sdk=luatbin.script_image(3000, seed=3),
                             main_core=2013, std_core=2012)
    c.srv.upload_ok(k, script_pkg, "2012.1.2", firmware=fw)
    c.srv.upload_ok(k, core_pkg, "2013.1.3", firmware=fw, base_core=2012)
    r = c.srv.module_check(imei(600), k, fw, "2012.001.001")
    expect_package(r, core_pkg, "device on core 2012 (script 1.1): newest eligible is 2013.1.3")
    r = c.srv.module_check(imei(601), k, fw, "2013.001.003")
    expect_code(r, 27, "device already on 2013.1.3")
    r = c.srv.module_check(imei(602), k, fw, "2011.001.001")
    expect_code(r, 27, "device on core 2011: no package applies")
    # seed rule: major bump lowering C is not an upgrade
    r = c.srv.module_check(imei(603), k, fw, "2012.001.005")
    expect_code(r, 27, "device on 2012.1.5: 2012.1.2 is older, 2013.1.3 has C 3 < 5")


@suite.case
def cli_file_put_url_last_line(c):
    data = luatbin.script_image(5000, seed=5)
    p = os.path.join(c.tmp, "static-image.bin")
    with open(p, "wb") as f:
        f.write(data)
    r = cli_ok(c, "file", "put", p)
    url = r.stdout.strip().splitlines()[-1]
    check(url.startswith("http://") and url.endswith("/download/static-image.bin"),
          "file put last line is not the download URL: %r" % url)
    path = url.split("/", 3)[3]
    resp = c.srv.get("/" + path)
    expect_package(resp, data, "GET the URL printed by file put")
    r = cli_ok(c, "file", "put", p, "--name", "other.bin")
    check(r.stdout.strip().splitlines()[-1].endswith("/download/other.bin"),
          "file put --name: %r" % r.stdout)
    r = cli_ok(c, "file", "list")
    check("other.bin" in r.stdout, "file list: %r" % r.stdout)
    cli_ok(c, "file", "rm", "other.bin")
    resp = c.srv.get("/download/other.bin")
    check(resp.status == 404, "removed file still served: %s" % resp.describe())


@suite.case
def cli_refusal_exits_nonzero_with_reason(c):
    r = run_cli(c, "package", "add", "--project", c.key, "--firmware", FW,
                "--version", "2012.1.3", "--suffix", "2", c.luat_path)
    check(r.returncode != 0, "package for suffix 2 on a _1 firmware was accepted: %r" % r.stdout)
    check("suffix" in r.stderr.lower(), "refusal does not name the suffix: %r" % r.stderr)
    bad = bytearray(c.luat)
    bad[0] ^= 0xFF
    p = os.path.join(c.tmp, "bad-magic.bin")
    with open(p, "wb") as f:
        f.write(luatbin.refresh_crc(bytes(bad)))
    r = run_cli(c, "package", "add", "--project", c.key, "--firmware", FW,
                "--version", "2012.1.3", p)
    # A file with a wrong magic is not a Luat package: stored as raw is
    # acceptable, refusing is too; what must not happen is a silent luat.
    if r.returncode == 0:
        check("raw" in r.stdout, "bad-magic file accepted as %r" % r.stdout)
    r = run_cli(c, "package", "add", "--project", "NOPE", "--firmware", FW,
                "--version", "2012.1.3", c.luat_path)
    check(r.returncode != 0 and r.stderr.strip(), "upload to unknown project: %r %r"
          % (r.returncode, r.stderr))


@suite.case
def cli_lists_and_json(c):
    import json
    r = cli_ok(c, "project", "list")
    check(c.key in r.stdout, "project list lacks the key: %r" % r.stdout)
    r = cli_ok(c, "project", "list", "--json")
    check(any(p["key"] == c.key for p in json.loads(r.stdout)["projects"]), "project list --json")
    r = cli_ok(c, "project", "show", c.key)
    check(FW in r.stdout, "project show lacks firmware: %r" % r.stdout)
    r = cli_ok(c, "firmware", "list", "--project", c.key)
    check(FW in r.stdout and RAW_FW in r.stdout, "firmware list: %r" % r.stdout)
    r = cli_ok(c, "package", "list", "--project", c.key, "--firmware", FW)
    check("2012" in r.stdout, "package list: %r" % r.stdout)
    r = cli_ok(c, "package", "show", str(c.luat_id))
    check(hashlib.sha256(c.luat).hexdigest() in r.stdout, "package show: %r" % r.stdout)
    r = cli_ok(c, "status")
    check("/api/site/firmware_upgrade?" in r.stdout or "?" in r.stdout, "status: %r" % r.stdout)


@suite.case
def cli_errors_are_helpful(c):
    import socket
    hole = socket.socket()
    hole.bind(("127.0.0.1", 0))   # a port that is ours and not listening
    dead = "http://127.0.0.1:%d" % hole.getsockname()[1]
    try:
        r = c.srv.cli("project", "list", env_extra={"OPENFOTA_URL": dead})
    finally:
        hole.close()
    check(r.returncode != 0 and "cannot reach the server" in r.stderr, "unreachable: %r" % r.stderr)
    r = c.srv.cli("project", "list", env_extra={"OPENFOTA_TOKEN": "wrong"})
    check(r.returncode != 0 and "token" in r.stderr.lower(), "bad token: %r" % r.stderr)
    r = c.srv.cli("project", "list", "--data", c.srv.data, env_extra={"OPENFOTA_URL": "", "OPENFOTA_TOKEN": ""})
    check(r.returncode == 0 and c.key in r.stdout, "--data DIR: %r %r" % (r.stdout, r.stderr))
    for noun in ("project", "firmware", "package", "device", "file", "status"):
        r = c.srv.cli(noun, "--help")
        check(r.returncode == 0 and "usage" in r.stdout, "%s --help: %r" % (noun, r.stdout))


def cli_maxrss_kb(c, *args):
    """Runs the CLI and returns (exit status, peak RSS in KiB) via wait4."""
    import subprocess
    env = dict(os.environ, OPENFOTA_URL=c.srv.url, OPENFOTA_TOKEN=c.srv.token)
    p = subprocess.Popen([c.srv.binary] + list(args), env=env, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE)
    _pid, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    err = p.stderr.read()
    p.stderr.close()
    check(p.returncode == 0, "openfota %s: exit %s: %s" % (" ".join(args), p.returncode, err))
    return ru.ru_maxrss


@suite.case
def cli_upload_streams_the_file(c):
    small = os.path.join(c.tmp, "small.img")
    big = os.path.join(c.tmp, "big.img")
    with open(small, "wb") as f:
        f.write(luatbin.script_image(4096, seed=61))
    with open(big, "wb") as f:
        block = luatbin.script_image(1 << 20, seed=62)
        for i in range(48):
            f.write(block[i:] + block[:i])
    base = cli_maxrss_kb(c, "package", "add", "--project", c.key, "--firmware", "STREAM_FW",
                         "--version", "1.0.1", small)
    peak = cli_maxrss_kb(c, "package", "add", "--project", c.key, "--firmware", "STREAM_FW",
                         "--version", "1.0.2", big)
    check(peak - base < 16 * 1024, "uploading 48 MiB raised the CLI's peak RSS by %d KiB over a "
          "4 KiB upload (the file is buffered, not streamed)" % (peak - base))
    os.unlink(big)


@suite.case
def cli_firmware_add_list_rm(c):
    cli_ok(c, "firmware", "add", "--project", c.key, "SPARE_FW", "--suffix", "_2")
    r = cli_ok(c, "firmware", "list", "--project", c.key, "--json")
    import json
    fws = {f["name"]: f for f in json.loads(r.stdout)["firmware"]}
    check(fws.get("SPARE_FW", {}).get("suffix") == 2, "firmware add --suffix _2: %r" % fws)
    cli_ok(c, "firmware", "rm", "--project", c.key, "SPARE_FW")
    r = cli_ok(c, "firmware", "list", "--project", c.key)
    check("SPARE_FW" not in r.stdout, "firmware rm: still listed: %r" % r.stdout)
    r = run_cli(c, "firmware", "rm", "--project", c.key, FW)
    check(r.returncode != 0, "firmware with packages was removed")
    r = cli_ok(c, "device", "list", "--state", "forbidden", "--json")
    check("devices" in json.loads(r.stdout), "device list --state forbidden --json: %r" % r.stdout)


@suite.case
def package_rm_and_project_rm(c):
    st, obj, raw = c.srv.admin("GET", "/admin/v1/packages?project=" + c.key)
    raw_ids = [p["id"] for p in obj["packages"] if p["firmware"] == RAW_FW]
    check(raw_ids, "raw package not listed")
    cli_ok(c, "package", "rm", str(raw_ids[0]))
    r = c.srv.module_check(imei(2), c.key, RAW_FW, "1.0.0")
    check(r.status >= 300, "removed package still delivered: %s" % r.describe())
    r = run_cli(c, "project", "rm", c.key)
    check(r.returncode != 0, "project with packages was removed")


@suite.case
@sqlite_only
def database_locked_by_another_process(c):
    """Another program holds the database's write lock (a backup, an sqlite3
    shell) for longer than the server's busy timeout: an admin write is
    answered 503 with Retry-After and says why; device checks go on; the
    checks made meanwhile are in the device's history once the lock is gone
    (nothing the server answered is lost)."""
    import sqlite3
    import threading
    dev = imei(202)
    db = sqlite3.connect(os.path.join(c.srv.data, "openfota.db"), timeout=30, isolation_level=None,
                         check_same_thread=False)
    db.execute("BEGIN IMMEDIATE")
    released = threading.Event()

    def release_later():
        time.sleep(7)
        db.execute("ROLLBACK")
        db.close()
        released.set()
    threading.Thread(target=release_later, daemon=True).start()
    try:
        t0 = time.time()
        st, obj, raw = c.srv.admin("POST", "/admin/v1/projects", {"name": "locked"})
        check(st == 503 and obj and obj.get("error") and obj.get("hint"),
              "admin write with the database locked: expected 503 {error,hint}, got %s %r" % (st, raw))
        check(time.time() - t0 < 7, "the 503 came only after the lock was gone")
        for i in range(5):
            r = c.srv.module_check(dev, c.key, FW, "2012.001.00%d" % (2 + i % 2))
            check(r.code() in (27, 0) or r.status == 200, "a check while the database is locked: %s"
                  % r.describe())
    finally:
        released.wait(20)
    st, obj, raw = c.srv.admin("POST", "/admin/v1/projects", {"name": "unlocked"})
    check(st == 201, "admin write after the lock: %s %r" % (st, raw))
    deadline = time.time() + 20
    n = 0
    while time.time() < deadline:
        st, obj, raw = c.srv.admin("GET", "/admin/v1/devices/" + dev)
        n = len(obj.get("history", [])) if st == 200 and obj else 0
        if n >= 5:
            break
        time.sleep(0.5)
    check(n >= 5, "checks made while the database was locked: %d of 5 in the history" % n)


if __name__ == "__main__":
    sys.exit(main_with_server(suite, setup))

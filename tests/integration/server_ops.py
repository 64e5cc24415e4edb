"""Integration tests of the operator walk-through fixes (issue 9): ids are
never reused, one server per data folder, LuatOS firmware names take only Luat
packages unless --raw, uploaded deltas reach only their base version, push
ids are validated, this machine's addresses count as local for `sim`, devices
can be moved/unbound, project names. Each case starts the real binary.

usage: server_ops.py /path/to/openfota
"""
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from ofharness import FW, Failure, Server, Suite, check, expect_code, expect_package, sqlite_only  # noqa: E402
import luatbin  # noqa: E402

suite = Suite("server_ops")
RAW_FW = "OPS_RAW_FIRMWARE"  # not a LuatOS firmware name: raw files are fine


class Ctx:
    pass


def cli_ok(srv, *args):
    r = srv.cli(*args)
    check(r.returncode == 0, "openfota %s: exit %s\nstdout: %s\nstderr: %s"
          % (" ".join(args), r.returncode, r.stdout, r.stderr))
    return r


def upload_raw(srv, key, data, version, firmware=RAW_FW, **kw):
    st, obj, raw = srv.upload(key, data, version, firmware=firmware, **kw)
    check(st == 201 and obj, "upload %s %s: expected 201, got %s %r" % (firmware, version, st, raw[:300]))
    return obj


# ---------------------------------------------------------------- bug 1: ids

@suite.case
def package_ids_never_reused(c):
    srv = c.srv
    key = srv.add_project("ids")
    ids = [upload_raw(srv, key, b"pkg-%d" % i * 50, "2012.001.%03d" % (i + 1))["id"] for i in range(3)]
    check(ids == sorted(ids) and len(set(ids)) == 3, "ids %r" % ids)
    cli_ok(srv, "package", "rm", str(ids[1]))
    cli_ok(srv, "package", "rm", str(ids[2]))
    again = [upload_raw(srv, key, b"new-%d" % i * 50, "2012.001.%03d" % (i + 10))["id"] for i in range(2)]
    check(not set(again) & set(ids),
          "removed package ids %r were handed out again: new uploads got %r" % (ids[1:], again))
    check(min(again) > max(ids), "new ids %r must be above every id given before %r" % (again, ids))
    # the same after a restart (the counter is in the database, not memory)
    srv.stop()
    srv.start()
    cli_ok(srv, "package", "rm", str(again[1]))
    third = upload_raw(srv, key, b"third" * 50, "2012.001.050")["id"]
    check(third > again[1], "after a restart, id %s was given again (last id %s)" % (third, again[1]))
    # projects too: a device bound to a removed project must not count as
    # bound to the next project created (which inherited the id before)
    dev = "866000000000021"
    ka = srv.add_project("ids-a")
    st, _, raw = srv.admin("POST", "/admin/v1/projects/%s/firmware" % ka, {"name": RAW_FW})
    check(st == 201, "firmware add: %s %r" % (st, raw))
    expect_code(srv.module_check(dev, ka, RAW_FW, "2012.001.001"), 27, "check on project A (binds)")
    st, _, raw = srv.admin("DELETE", "/admin/v1/projects/" + ka)
    check(st == 204, "delete project A: %s %r" % (st, raw))
    srv.add_project("ids-b")  # took A's id when ids were reused
    kc = srv.add_project("ids-c")
    st, _, raw = srv.admin("POST", "/admin/v1/projects/%s/firmware" % kc, {"name": RAW_FW})
    check(st == 201, "firmware add: %s %r" % (st, raw))
    r = srv.module_check(dev, kc, RAW_FW, "2012.001.001")
    expect_code(r, 27, "a device whose project was removed checks project C (must bind to C, "
                "not be told it belongs to project B)")


@suite.case
def removed_package_takes_its_rollout(c):
    """A cancelled rollout of a removed package must not hold back a new
    package (before: the new package inherited the id and every device got
    code 27 'not this device's turn')."""
    srv = c.srv
    key = srv.add_project("rollout-gone")
    base = upload_raw(srv, key, b"a" * 300, "2012.001.001")
    p = upload_raw(srv, key, b"b" * 300, "2012.001.002")
    st, ro, raw = srv.admin("POST", "/admin/v1/rollouts", {"package": str(p["id"]), "stages": [100]})
    check(st == 201, "rollout create: %s %r" % (st, raw))
    st, _, raw = srv.admin("POST", "/admin/v1/rollouts/%s/cancel" % ro["id"])
    check(st == 200, "rollout cancel: %s %r" % (st, raw))
    cli_ok(srv, "package", "rm", str(p["id"]))
    st, lst, _ = srv.admin("GET", "/admin/v1/rollouts?project=" + key)
    check(st == 200 and not [r for r in lst["rollouts"] if r["id"] == ro["id"]],
          "the rollout of removed package %s is still there: %r" % (p["id"], lst))
    newp = upload_raw(srv, key, b"c" * 300, "2012.001.003")
    data = b"c" * 300
    r = srv.module_check("866000000000011", key, RAW_FW, "2012.001.001")
    check(r.status == 200 and r.body == data,
          "new package %s must reach a device on the old version; got %s" % (newp["id"], r.describe()))
    del base


@suite.case
@sqlite_only  # the PostgreSQL side: store_migrate.py
def old_database_migrates(c):
    """A database of schema version 1 (before the id counters): ids it still
    mentions (history of a removed package) are not handed out again, and
    two projects sharing a name do not stop the server."""
    import sqlite3
    srv = Server(c.binary)
    try:
        srv.start()
        srv.stop()
        db = sqlite3.connect(os.path.join(srv.data, "openfota.db"), isolation_level=None)
        for col in ("base_core", "base_x", "base_z"):
            db.execute("ALTER TABLE signed_packages DROP COLUMN %s" % col)
        db.execute("ALTER TABLE packages DROP COLUMN draft")  # schema step 5
        db.execute("ALTER TABLE projects DROP COLUMN max_devices")  # schema step 6
        db.execute("ALTER TABLE devices DROP COLUMN upgraded")      # schema step 7
        db.execute("DELETE FROM meta WHERE key LIKE 'last_id.%'")
        db.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
        for pid, key in ((3, "OLDKEY1"), (4, "OLDKEY2")):
            db.execute("INSERT INTO projects VALUES (?, ?, 'dup', 0, 1, 6, 0)", (pid, key))
        db.execute("INSERT INTO firmware VALUES (2, 4, ?, 1, 0)", (RAW_FW,))
        db.execute("INSERT INTO packages VALUES (5, 4, 2, 2012, 1, 2, NULL, 1, 0, 3, 'm', 's', 'f', 0)")
        db.execute("INSERT INTO events (device_id, time, version, code, decision, package_id, bytes_sent,"
                   " complete, note) VALUES ('866000000000061', 0, '2012.001.001', 0, 1, 9, 3, 1, '')")
        db.close()
        srv.start()
        obj = upload_raw(srv, "OLDKEY2", b"m" * 64, "2012.001.003")
        check(obj["id"] > 9, "after migration, package id %s was given although history names package 9"
              % obj["id"])
        st, _, raw = srv.admin("GET", "/admin/v1/projects/dup")
        check(st == 409, "a name two old projects share must be ambiguous: %s %r" % (st, raw))
        st, obj, raw = srv.admin("GET", "/admin/v1/projects/OLDKEY1")
        check(st == 200 and obj["name"] == "dup", "old project by key: %s %r" % (st, raw))
        st, obj, raw = srv.admin("GET", "/admin/v1/packages/5")
        check(st == 200 and obj["draft"] is False, "an old package after migration is no draft: %s %r" % (st, raw))
        srv.stop()
        db = sqlite3.connect(os.path.join(srv.data, "openfota.db"))
        v = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0]
        db.close()
        check(int(v) >= 5, "schema_version after migration: %r" % v)
    finally:
        srv.cleanup()


# ---------------------------------------------------------------- bug 2: lock

@suite.case
def second_server_on_same_data_refused(c):
    srv = c.srv
    with open(os.path.join(srv.data, "serve.json")) as f:
        before = f.read()
    r = subprocess.run([srv.binary, "serve", "--listen", "127.0.0.1:0", "--data", srv.data],
                       capture_output=True, text=True, timeout=30)
    check(r.returncode != 0, "a second server on the same data folder started (exit 0)\n%s%s"
          % (r.stdout, r.stderr))
    msg = r.stdout + r.stderr
    check(str(srv.proc.pid) in msg and srv.url in msg,
          "the refusal must name the running server (pid %s, %s): %r" % (srv.proc.pid, srv.url, msg))
    with open(os.path.join(srv.data, "serve.json")) as f:
        check(f.read() == before, "the second server changed the first one's serve.json")
    check(srv.alive(), "the first server died")
    r = srv.get("/admin/v1/status", headers=[("Authorization", "Bearer " + srv.token)])
    check(r.status == 200, "first server no longer answers: %s" % r.describe())


# ------------------------------------------------- bug 3: LuatOS names, --raw

def sim_run(c, key, version, n=3, seed=1):
    r = subprocess.run([c.binary, "sim", "--url", c.srv.url + "/api/site/firmware_upgrade?",
                        "--project-key", key, "--firmware", FW, "--version", version,
                        "--devices", str(n), "--profile", "libfota2", "--json", "--timeout", "10s",
                        "--seed", str(seed)],
                       capture_output=True, text=True, timeout=120)
    try:
        return r.returncode, json.loads(r.stdout.strip().splitlines()[-1]), r
    except (ValueError, IndexError):
        raise Failure("sim printed no JSON summary: exit %s\n%s%s" % (r.returncode, r.stdout, r.stderr))


@suite.case
def luatos_firmware_takes_only_luat_packages(c):
    srv = c.srv
    key = srv.add_project("luat-only")
    path = os.path.join(c.tmp, "random.bin")
    with open(path, "wb") as f:
        f.write(os.urandom(4096))
    r = srv.cli("package", "add", "--project", key, "--firmware", FW, "--version", "2012.001.002", path)
    check(r.returncode != 0, "a random file for LuatOS firmware %s was accepted:\n%s%s" % (FW, r.stdout, r.stderr))
    check("Luat" in r.stderr and "--raw" in r.stderr,
          "the refusal must say it is no Luat package and name --raw: %r" % r.stderr)
    st, obj, _ = srv.admin("GET", "/admin/v1/packages?project=" + key)
    check(obj["packages"] == [], "a refused package was stored: %r" % obj)
    # the API says the same (raw=0 and no raw alike)
    st, obj, raw = srv.upload(key, b"\x01" * 500, "2012.001.002", raw=False)
    check(st == 422 and "Luat" in obj.get("error", ""), "API upload without raw: %s %r" % (st, raw))
    # a real Luat package is taken without --raw
    lp = os.path.join(c.tmp, "script.bin")
    with open(lp, "wb") as f:
        f.write(luatbin.build(luatbin.script_image(3000, seed=5)))
    cli_ok(srv, "package", "add", "--project", key, "--firmware", FW, "--version", "2012.001.002", lp)
    # a non-LuatOS firmware name takes a raw file as before
    cli_ok(srv, "package", "add", "--project", key, "--firmware", RAW_FW, "--version", "2012.001.002", path)
    # the operator may insist
    k2 = srv.add_project("luat-raw")
    r = cli_ok(srv, "package", "add", "--project", k2, "--firmware", FW, "--version", "2012.001.002", "--raw", path)
    check("raw" in r.stdout, "package add --raw: %r" % r.stdout)
    st, obj, _ = srv.admin("GET", "/admin/v1/packages?project=" + k2)
    pid = obj["packages"][0]["id"]
    check("openfota package show %s" % pid in r.stdout, "the hint must carry the real id %s: %r" % (pid, r.stdout))
    r = cli_ok(srv, "package", "show", str(pid))
    check("signature:        none" in r.stdout, "package show of a raw package: %r" % r.stdout)
    # and the simulator's libfota2 devices refuse it as a module does
    rc, summ, rr = sim_run(c, k2, "2012.001.001")
    check(summ["upgraded"] == 0 and summ["luat_bad"] >= 3,
          "simulated LuatOS modules reported an upgrade from a random file: %r\n%s" % (summ, rr.stderr[-1500:]))
    check(rc != 0 or summ.get("failed", 0) >= 0, "sim exit %s" % rc)
    # while a Luat package upgrades them
    rc, summ, rr = sim_run(c, key, "2012.001.001", seed=2)
    check(summ["upgraded"] == 3 and summ["luat_bad"] == 0,
          "simulated modules did not take a valid Luat package: %r\n%s" % (summ, rr.stderr[-1500:]))


# ------------------------------------------- bug 4: uploaded deltas, base only

def signed(c, key, image, version, counter, out, base=None, base_version=None):
    cmd = [c.binary, "package", "sign", "--key", key, "--family", "DemoMCU", "--suffix", "1", "--hw-id", "b",
           "--version", version, "--counter", str(counter)]
    if base:
        cmd += ["--delta-base", base, "--base-version", base_version]
    r = subprocess.run(cmd + [image, "-o", out], capture_output=True, text=True, timeout=60)
    check(r.returncode == 0, "package sign: %s%s" % (r.stdout, r.stderr))
    with open(out, "rb") as f:
        return f.read()


@suite.case
def uploaded_delta_only_for_its_base(c):
    t = c.tmp
    key = os.path.join(t, "sign.pem")
    r = subprocess.run([c.binary, "package", "keygen", key], capture_output=True, text=True, timeout=60)
    check(r.returncode == 0, "keygen: %s%s" % (r.stdout, r.stderr))
    old, new = os.path.join(t, "old.img"), os.path.join(t, "new.img")
    a = os.urandom(20000)
    with open(old, "wb") as f:
        f.write(a)
    with open(new, "wb") as f:
        f.write(a[:10000] + os.urandom(500) + a[10000:])
    patch = os.path.join(t, "p.patch")
    r = subprocess.run([c.binary, "delta", "make", old, new, patch], capture_output=True, text=True, timeout=60)
    check(r.returncode == 0, "delta make: %s%s" % (r.stdout, r.stderr))
    body = signed(c, key, patch, "3000.001.002", 2, os.path.join(t, "d.ofpk"), base=old,
                  base_version="3000.001.001")
    srv = Server(c.binary, extra=["--signing-key", key])
    try:
        srv.start()
        pk = srv.add_project("delta-up")
        st, obj, raw = srv.admin("POST", "/admin/v1/projects/%s/packages?firmware=MCU_OPS&filename=d.ofpk" % pk,
                                 raw=body)
        check(st == 201, "signed delta upload: %s %r" % (st, raw))
        for ver in ("3000.001.000", "3000.000.001", "2999.001.001"):
            r = srv.module_check("866000000000031", pk, "MCU_OPS", ver)
            expect_code(r, 27, "device on %s asks; the uploaded delta applies only to 3000.001.001" % ver)
        r = srv.module_check("866000000000032", pk, "MCU_OPS", "3000.001.001")
        expect_package(r, body, "device on the delta's base version")
        check(obj["signed"]["kind"] == "delta" and obj["signed"].get("base_version") == "3000.001.001",
              "package answer must show the delta's base version: %r" % obj)
        r = cli_ok(srv, "package", "show", str(obj["id"]))
        check("signature:" in r.stdout and "delta" in r.stdout and "devices on 3000.001.001 only" in r.stdout,
              "package show must state the signature and whom the delta applies to: %r" % r.stdout)
        r = cli_ok(srv, "status")
        check("deltas made by the server" in r.stdout and "rollouts:" in r.stdout and "push (TCP):" in r.stdout,
              "status must show delta, push and rollout state: %r" % r.stdout)
        # the same after a restart (the base version is stored)
        srv.stop()
        srv.start()
        expect_code(srv.module_check("866000000000033", pk, "MCU_OPS", "3000.001.000"), 27, "after restart")
        expect_package(srv.module_check("866000000000034", pk, "MCU_OPS", "3000.001.001"), body,
                       "after restart, device on the base")
    finally:
        srv.cleanup()


# ------------------------------------------------------ bug 5: push device ids

@suite.case
def push_refuses_non_device_ids(c):
    srv = c.srv
    for bad in ("123", "BADID", "86000000000000X", "aa:bb:cc:dd:ee", "1" * 40, "abc.def"):
        st, obj, raw = srv.admin("POST", "/admin/v1/push", {"device": bad})
        check(st == 400 and "not a device id" in (obj or {}).get("error", ""),
              "POST /admin/v1/push %r: expected 400 'not a device id', got %s %r" % (bad, st, raw))
        st, obj, raw = srv.admin("POST", "/admin/v1/push", {"devices": ["860000000000009", bad]})
        check(st == 400, "a list with %r: expected 400, got %s %r" % (bad, st, raw))
    for bad in ("BADID", "123"):
        r = srv.cli("push", bad)
        check(r.returncode != 0 and "not a device id" in r.stderr,
              "openfota push %s: exit %s, stderr %r" % (bad, r.returncode, r.stderr))
    st, obj, raw = srv.admin("GET", "/admin/v1/push")
    check(st == 200 and not obj["pushes"], "a refused push was queued: %r" % obj.get("pushes"))
    # the forms a check takes are taken
    for good in ("860000000000009", "aa:bb:cc:dd:ee:ff", "AA-BB-CC-DD-EE-01", "0123456789abcdef01"):
        st, obj, raw = srv.admin("POST", "/admin/v1/push", {"device": good})
        check(st == 202, "POST /admin/v1/push %r: expected 202, got %s %r" % (good, st, raw))
    # push status --devices: a table, JSON only with --json
    r = cli_ok(srv, "push", "status", obj["id"], "--devices")
    check("DEVICE" in r.stdout and "0123456789ABCDEF01" in r.stdout and not r.stdout.lstrip().startswith("{"),
          "push status --devices should print a table: %r" % r.stdout)
    r = cli_ok(srv, "push", "status", obj["id"], "--devices", "--json")
    check(json.loads(r.stdout)["devices"][0]["id"] == "0123456789ABCDEF01", "--json: %r" % r.stdout)


# ------------------------------------------------- bug 7: device move / unbind

@suite.case
def device_move_and_unbind(c):
    srv = c.srv
    dev = "866000000000041"
    ka = srv.add_project("move-a")
    kb = srv.add_project("move-b")
    for k in (ka, kb):
        st, _, raw = srv.admin("POST", "/admin/v1/projects/%s/firmware" % k, {"name": RAW_FW})
        check(st == 201, "firmware add: %s %r" % (st, raw))
    expect_code(srv.module_check(dev, ka, RAW_FW, "2012.001.001"), 27, "first check binds to A")
    r = srv.module_check(dev, kb, RAW_FW, "2012.001.001")
    expect_code(r, 17, "check on B while bound to A")
    check("device move" in r.json()["msg"], "code 17 must name the way out: %r" % r.json())
    r = cli_ok(srv, "device", "move", dev, "--project", kb)
    check(kb in r.stdout, "device move output: %r" % r.stdout)
    expect_code(srv.module_check(dev, kb, RAW_FW, "2012.001.001"), 27, "after the move to B")
    expect_code(srv.module_check(dev, ka, RAW_FW, "2012.001.001"), 17, "after the move, A is the other one")
    cli_ok(srv, "device", "unbind", dev)
    expect_code(srv.module_check(dev, ka, RAW_FW, "2012.001.001"), 27, "after unbind, A binds it again")
    st, obj, _ = srv.admin("GET", "/admin/v1/devices/%s?history=20" % dev)
    notes = [h["note"] for h in obj["history"]]
    check(any("moved from project %s to project %s" % (ka, kb) in n for n in notes)
          and any("unbound from project %s" % kb in n for n in notes),
          "move and unbind must be in the device's history: %r" % notes)
    # by name, and the refusals
    r = cli_ok(srv, "device", "move", dev, "--project", "move-b")
    check(kb in r.stdout, "move by project name: %r" % r.stdout)
    st, obj, raw = srv.admin("POST", "/admin/v1/devices/%s/move" % dev, {"project": "NO-SUCH"})
    check(st == 404, "move to an unknown project: %s %r" % (st, raw))
    st, obj, raw = srv.admin("POST", "/admin/v1/devices/866000000000049/move", {"project": ka})
    check(st == 404, "move an unknown device: %s %r" % (st, raw))
    r = srv.cli("device", "move", dev)
    check(r.returncode == 2, "device move without --project: exit %s" % r.returncode)


# ------------------------------------------------ smaller: names, allow, hints

@suite.case
def project_names_unique_and_usable(c):
    srv = c.srv
    key = srv.add_project("by-name")
    st, obj, raw = srv.admin("POST", "/admin/v1/projects", {"name": "by-name"})
    check(st == 409 and "by-name" in obj.get("error", ""), "duplicate name: %s %r" % (st, raw))
    k2 = srv.add_project("by-name-2")
    st, obj, raw = srv.admin("PATCH", "/admin/v1/projects/" + k2, {"name": "by-name"})
    check(st == 409, "rename onto a taken name: %s %r" % (st, raw))
    r = cli_ok(srv, "project", "show", "by-name")
    check(key in r.stdout, "project show NAME: %r" % r.stdout)
    upload_raw(srv, "by-name", b"n" * 100, "2012.001.002")
    r = cli_ok(srv, "package", "list", "--project", "by-name")
    check(key in r.stdout, "package list --project NAME: %r" % r.stdout)


@suite.case
def allow_says_still_banned(c):
    srv = c.srv
    dev = "866000000000051"
    key = srv.add_project("allow-banned")
    upload_raw(srv, key, b"x" * 100, "2012.001.002")
    for _ in range(7):  # the loop guard bans after 6 deliveries in a day
        srv.module_check(dev, key, RAW_FW, "2012.001.001")
    cli_ok(srv, "device", "forbid", dev)
    r = cli_ok(srv, "device", "allow", dev)
    check("may upgrade again" not in r.stdout and "still banned" in r.stdout
          and "device unban %s" % dev in r.stdout,
          "allow of a banned device must say it is still banned and how to unban: %r" % r.stdout)


def main():
    if len(sys.argv) < 2:
        print("usage: %s /path/to/openfota" % sys.argv[0], file=sys.stderr)
        return 2
    srv = Server(sys.argv[1])
    rc = 1
    try:
        srv.start()
        c = Ctx()
        c.srv = srv
        c.binary = srv.binary
        c.tmp = tempfile.mkdtemp(prefix="of-ops-")
        rc = suite.run(c)
        if srv.alive():
            code = srv.stop()
            if code not in (0, None):
                print("FAIL server exited with %s after SIGTERM" % code)
                rc = 1
        else:
            print("FAIL server died during the suite (exit %s)" % srv.proc.returncode)
            rc = 1
    except Failure as e:
        print("FAIL setup: %s" % e)
    finally:
        if rc:
            print("---- server log (tail) ----\n" + srv.log_text())
        srv.cleanup()
    return rc


if __name__ == "__main__":
    sys.exit(main())

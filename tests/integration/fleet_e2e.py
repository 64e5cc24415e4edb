#!/usr/bin/env python3
"""End-to-end checks of push and staged rollouts with the real server and
the simulator (stdlib only). Needs a server with the fleet wired in
(`openfota serve --push HOST:PORT`, admin routes /admin/v1/push and
/admin/v1/rollouts); fails clearly when the server lacks them.

usage: fleet_e2e.py OPENFOTA_BINARY SCENARIO [DEVICE_E2E_CLIENT]
  accept   a device that sent 860000000000009\\n on the push port gets one
           JSON line {"fota":"true","url":"...?"} after `openfota push 860000000000009`
  rate     2,000 devices connected to the push port; one push to all of them
           arrives at the configured rate (--push-rate 200)
  psm      devices that sleep through a project-wide push (PSM schedule) are
           marked delivered by their next check
  noboot   2,000 simulated devices, a package that does not boot: the rollout
           pauses itself in its first stage, before the next stage starts
  good     2,000 simulated devices, a good package: the rollout reaches 100%
           and every device ends on the target version
  auth     a server started with --push-key-file: the device answering the
           nonce with its HMAC gets its push; impostors claiming its IMEI
           (plain line, no auth, wrong key, replayed auth) are refused with a
           JSON error and do not displace its connection; with
           DEVICE_E2E_CLIENT, a device-library device with its push key
           (fota_push_listen) gets a push and runs the check too
"""
import hashlib
import hmac
import json
import os
import select
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import ofharness  # noqa: E402
import luatbin  # noqa: E402

FW = ofharness.FW


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def need(cond, msg):
    if not cond:
        fail(msg)


def admin(srv, method, path, body=None, want=(200,)):
    st, obj, raw = srv.admin(method, "/admin/v1" + path, body)
    if st == 404 and path.startswith(("/push", "/rollouts")) and \
            not (obj and str(obj.get("error", "")).startswith("no such")):
        fail("the server does not serve %s %s (404): it was built without the fleet routes "
             "(see docs/fleet.md, wiring recipe)" % (method, path))
    need(st in want, "%s %s: expected %s, got %d %r" % (method, path, want, st, raw[:400]))
    return obj


def cli(binary, srv, *args, timeout=120):
    p = subprocess.run([binary] + list(args) + ["--url", srv.url, "--token", srv.token],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    out = p.stdout.decode("utf-8", "replace") + p.stderr.decode("utf-8", "replace")
    need(p.returncode == 0, "openfota %s failed (%d):\n%s" % (" ".join(args[:3]), p.returncode, out))
    return out


def push_port(srv):
    st = admin(srv, "GET", "/push")
    tcp = st.get("tcp") if st else None
    need(tcp and tcp.get("port"), "the server has no TCP push port (start it with --push 127.0.0.1:0)")
    return tcp["port"]


def check_url(srv):
    return srv.url + "/api/site/firmware_upgrade?"


def run_sim(binary, args, timeout=150):
    cmd = [binary, "sim", "--json", "--no-progress", "--quiet"] + args
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    lines = p.stdout.decode("utf-8", "replace").strip().splitlines()
    need(lines, "sim printed nothing; stderr:\n" + p.stderr.decode("utf-8", "replace")[-2000:])
    try:
        return p.returncode, json.loads(lines[-1])
    except ValueError:
        fail("the last line of sim's output is not JSON: %r" % lines[-1][:300])


def command_ok(line, srv):
    try:
        j = json.loads(line)
    except ValueError:
        fail("the push line is not JSON: %r" % line)
    need(j.get("fota") == "true", "\"fota\" is not the string \"true\": %r" % line)
    need(isinstance(j.get("url"), str) and j["url"].endswith("?"), "url does not end in '?': %r" % line)
    need(j["url"] == check_url(srv), "url %r is not the server's check URL %r" % (j["url"], check_url(srv)))


def read_line(sock, timeout):
    buf = b""
    end = time.time() + timeout
    while b"\n" not in buf and time.time() < end:
        r, _, _ = select.select([sock], [], [], max(0.0, end - time.time()))
        if not r:
            break
        chunk = sock.recv(4096)
        if not chunk:
            break
        buf += chunk
    return buf


def scenario_accept(binary, srv):
    port = push_port(srv)
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"860000000000009\n")
    deadline = time.time() + 5
    while time.time() < deadline:
        d = admin(srv, "GET", "/push/devices/860000000000009")
        if d.get("connected"):
            break
        time.sleep(0.05)
    need(d.get("connected"), "the device is not shown as connected after identifying")
    cli(binary, srv, "push", "860000000000009")
    buf = read_line(s, 10)
    need(buf.endswith(b"\n") and buf.count(b"\n") == 1, "expected exactly one line, got %r" % buf)
    command_ok(buf.decode(), srv)
    need(read_line(s, 0.5) == b"", "more than one line arrived")
    print("accept: device got %s" % buf.decode().strip())


KEY_FILE = None
DEVICE_CLIENT = None
AUTH_MASTER = "9b1f0c3e5a7d2f4086e1c3a5b7d9f1e2a4c6e8f0b2d4f6a8c0e2a4c6e8f0b2d4"


def auth_line(master_hex, nonce, dev, dk=None):
    if dk is None:
        dk = hmac.new(bytes.fromhex(master_hex), dev.encode(), hashlib.sha256).digest()
    mac = hmac.new(dk, (nonce + dev).encode(), hashlib.sha256).hexdigest().upper()  # as LuatOS prints it
    return ('{"imei":"%s","auth":"%s"}\n' % (dev, mac)).encode()


def push_dial(port):
    s = socket.create_connection(("127.0.0.1", port))
    first = read_line(s, 5)
    try:
        nonce = json.loads(first.decode())["nonce"]
    except (ValueError, KeyError, TypeError):
        fail("a server with a push key must send {\"nonce\":...} first, got %r" % first)
    need(len(nonce) == 32, "nonce %r is not 32 hex digits" % nonce)
    return s, nonce


def scenario_auth(binary, srv):
    port = push_port(srv)
    dev = "860000000000009"
    st = admin(srv, "GET", "/push")["tcp"]
    need(st.get("auth") is True, "push status does not say devices authenticate: %r" % st)
    # the device key as the operator provisions it: `openfota push key`
    out = cli(binary, srv, "push", "key", dev, "--key-file", KEY_FILE).strip()
    dk = hmac.new(bytes.fromhex(AUTH_MASTER), dev.encode(), hashlib.sha256).hexdigest()
    need(out == dk, "openfota push key printed %r, expected %r" % (out, dk))
    s, nonce = push_dial(port)
    good = auth_line(None, nonce, dev, dk=bytes.fromhex(out))
    s.sendall(good)
    deadline = time.time() + 5
    while time.time() < deadline and not admin(srv, "GET", "/push/devices/" + dev).get("connected"):
        time.sleep(0.05)
    need(admin(srv, "GET", "/push/devices/" + dev).get("connected"), "the authenticated device is not connected")
    wrong_master = AUTH_MASTER[:-2] + "00"
    impostors = [(b"860000000000009\n", "auth required"),
                 (b'{"imei":"860000000000009"}\n', "auth required"),
                 (None, "auth does not match"),   # wrong key for its own nonce
                 (good, "auth does not match")]   # replay of the device's line
    for line, want in impostors:
        i, n2 = push_dial(port)
        i.sendall(line if line is not None else auth_line(wrong_master, n2, dev))
        ans = read_line(i, 5)
        try:
            err = json.loads(ans.decode())["error"]
        except (ValueError, KeyError, TypeError):
            fail("impostor %r: expected a one-line JSON error, got %r" % (line, ans))
        need(want in err, "impostor %r: error %r does not say %r" % (line, err, want))
        need(read_line(i, 3) == b"", "impostor %r: the connection stayed open" % (line,))
        i.close()
    st = admin(srv, "GET", "/push")["tcp"]
    need(st["auth_refused"] == 4, "auth_refused %r, expected 4" % st["auth_refused"])
    need(st["replaced"] == 0 and st["identified"] == 1, "an impostor displaced the device: %r" % st)
    cli(binary, srv, "push", dev)
    buf = read_line(s, 10)
    need(buf.endswith(b"\n") and buf.count(b"\n") == 1, "expected exactly one line, got %r" % buf)
    command_ok(buf.decode(), srv)
    print("auth: impostors refused (%d), the device kept its connection and got %s"
          % (st["auth_refused"], buf.decode().strip()))
    s.close()
    if DEVICE_CLIENT:
        lib_device(binary, srv, port)


def lib_device(binary, srv, port):
    """The device library's listener (tests/unit/device/e2e_client.c) with the
    key `openfota push key` printed: it answers the nonce, gets the push and
    runs its check."""
    dev = "860000000000077"
    key = cli(binary, srv, "push", "key", dev, "--key-file", KEY_FILE).strip()
    slots = tempfile.mkdtemp(prefix="openfota-pushdev-")
    p = subprocess.Popen([DEVICE_CLIENT, "push", "127.0.0.1", str(port), dev, key, slots],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 10
        while time.time() < deadline and not admin(srv, "GET", "/push/devices/" + dev).get("connected"):
            time.sleep(0.05)
        need(admin(srv, "GET", "/push/devices/" + dev).get("connected"),
             "the device-library device did not authenticate")
        cli(binary, srv, "push", dev)
        out, err = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        for name in os.listdir(slots):
            os.unlink(os.path.join(slots, name))
        os.rmdir(slots)
    try:
        r = json.loads(out.decode().strip().splitlines()[-1])
    except (ValueError, IndexError):
        fail("device client printed %r / %r" % (out, err))
    need(r.get("pushed") == 1, "the device-library device did not run the pushed check: %r" % r)
    print("auth: device-library device authenticated and ran the pushed check (result %d)" % r["result"])


def scenario_rate(binary, srv, n=2000, rate=200.0):
    port = push_port(srv)
    socks = {}
    for i in range(n):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"86200%010d\n" % i)
        socks[s.fileno()] = [s, b"", None]
    deadline = time.time() + 30
    while time.time() < deadline:
        ident = admin(srv, "GET", "/push")["tcp"]["identified"]
        if ident >= n:
            break
        time.sleep(0.1)
    need(ident >= n, "only %d of %d devices identified" % (ident, n))
    ids = ["86200%010d" % i for i in range(n)]
    # a small burst, so the measured rate is the cap itself
    admin(srv, "PUT", "/push/rate", {"per_s": rate, "burst": max(1.0, rate / 50)})
    r = admin(srv, "POST", "/push", {"devices": ids}, want=(202,))
    need(r["targets"] == n, "push has %s targets, expected %d" % (r["targets"], n))
    poller = select.epoll()
    for fd in socks:
        poller.register(fd, select.EPOLLIN)
    got = 0
    end = time.time() + n / rate * 1.5 + 15
    while got < n and time.time() < end:
        for fd, _ in poller.poll(0.2):
            ent = socks[fd]
            data = ent[0].recv(4096)
            if not data:
                continue
            if ent[1] == b"" and ent[2] is None:
                ent[2] = time.time()
                got += 1
            ent[1] += data
    time.sleep(0.5)
    for fd, _ in poller.poll(0.1):
        socks[fd][1] += socks[fd][0].recv(4096)
    need(got == n, "%d of %d devices got the command" % (got, n))
    multi = [e for e in socks.values() if e[1].count(b"\n") != 1]
    need(not multi, "%d devices got other than exactly one line" % len(multi))
    command_ok(next(iter(socks.values()))[1].decode(), srv)
    times = sorted(e[2] for e in socks.values())
    measured = (n - 1) / (times[-1] - times[0])
    print("rate: %d devices, %.1f/s measured, %.1f/s configured (%.0f%%)" % (n, measured, rate,
                                                                            100 * measured / rate))
    need(measured <= rate * 1.08, "the push went out faster than the cap: %.1f/s" % measured)
    need(measured >= rate * 0.8, "the push went out much slower than the cap: %.1f/s" % measured)
    for e in socks.values():
        e[0].close()


def scenario_psm(binary, srv, n=300):
    key = srv.add_project("fleet-psm")
    admin(srv, "POST", "/projects/%s/firmware" % key, {"name": FW, "suffix": 1}, want=(201,))
    common = ["--url", check_url(srv), "--project-key", key, "--firmware", FW, "--version", "2012.001.000",
              "--devices", str(n), "--concurrency", "64", "--timeout", "30s"]
    rc, s = run_sim(binary, common + ["--schedule", "once", "--expect", "any"])
    need(s["devices"] == n, "first sim run: %r" % s)
    out = cli(binary, srv, "push", "--project", key, "--ttl", "1h", "--json")
    pid = json.loads(out[:out.rindex("}") + 1])["id"]
    deadline = time.time() + 20
    while time.time() < deadline:
        p = admin(srv, "GET", "/push/" + pid)
        if p["states"]["waiting"] == n:
            break
        time.sleep(0.2)
    need(p["targets"] == n and p["states"]["waiting"] == n,
         "the push to %d sleeping devices should wait for them: %r" % (n, p["states"]))
    # the devices wake (PSM: wake, check once, sleep 4 h; 3600x time compression)
    rc, s = run_sim(binary, common + ["--schedule", "psm", "--period", "4h", "--time-scale", "3600",
                                      "--duration", "8s", "--expect", "any"])
    p = admin(srv, "GET", "/push/" + pid)
    need(p["states"]["checked"] == n, "after waking, %d of %d pushes were marked delivered: %r"
         % (p["states"]["checked"], n, p["states"]))
    print("psm: %d sleeping devices, push delivered by their next check (%r)" % (n, p["states"]))


def start_rollout(binary, srv, key, pkg_id, stages, interval):
    out = cli(binary, srv, "rollout", "start", "--package", str(pkg_id), "--stages", stages,
              "--stage-interval", interval, "--json")
    return json.loads(out[:out.rindex("}") + 1])


def scenario_noboot(binary, srv, n=2000):
    key = srv.add_project("fleet-noboot")
    pkg = srv.upload_ok(key, luatbin.build(os.urandom(32 * 1024)), "2012.001.001", filename="app.bin")
    r = start_rollout(binary, srv, key, pkg["id"], "1,10,50,100", "60s")
    need(r["stage"] == 1 and r["state"] == "running", "new rollout: %r" % r)
    started = time.time()
    rc, s = run_sim(binary, ["--url", check_url(srv), "--project-key", key, "--firmware", FW,
                             "--version", "2012.001.000", "--devices", str(n), "--no-boot",
                             "--schedule", "periodic", "--period", "3s", "--duration", "20s",
                             "--concurrency", "256", "--timeout", "30s", "--expect", "any"])
    r = admin(srv, "GET", "/rollouts/" + r["id"])
    need(time.time() - started < 60, "the run took longer than the stage interval; the check is void")
    need(r["state"] == "paused" and r["paused_by_rule"],
         "the rollout did not pause itself: %s" % json.dumps(r)[:1500])
    need(r["stage"] == 1, "paused in stage %d, expected the first stage (1)" % r["stage"])
    later = [st for st in r["stages"] if st["index"] > 1]
    need(all(sum(st["devices"].values()) == 0 for st in later), "devices were offered in later stages")
    need(r["finished"] >= 5 and r["failures"] >= 5, "paused without the minimum: %r" % r)
    need(s["packages"] <= 60, "%d packages went out; a 1%% stage of %d should stay near 20" % (s["packages"], n))
    devs = admin(srv, "GET", "/devices?project=%s&limit=5000" % key)["devices"]
    need(len(devs) == n, "devices held back by the rollout must still be known to the project: %d of %d"
         % (len(devs), n))
    status = cli(binary, srv, "rollout", "status", r["id"])
    need("abort rule" in status, "rollout status does not say why it paused:\n" + status)
    print("noboot: paused in stage 1 after %d packages: %s" % (s["packages"], r["pause_reason"]))


def scenario_good(binary, srv, n=2000):
    key = srv.add_project("fleet-good")
    pkg = srv.upload_ok(key, luatbin.build(os.urandom(16 * 1024)), "2012.001.001", filename="app.bin")
    r = start_rollout(binary, srv, key, pkg["id"], "1,10,50,100", "4s")
    rc, s = run_sim(binary, ["--url", check_url(srv), "--project-key", key, "--firmware", FW,
                             "--version", "2012.001.000", "--devices", str(n), "--schedule", "periodic",
                             "--period", "2s", "--duration", "45s", "--concurrency", "256",
                             "--timeout", "30s", "--expect", "all-upgraded"])
    r = admin(srv, "GET", "/rollouts/" + r["id"])
    need(r["last_stage"] and r["state"] == "running", "rollout did not reach 100%%: %s" % json.dumps(r)[:1500])
    need(r["devices"]["succeeded"] == n, "%d of %d devices succeeded: %r" % (r["devices"]["succeeded"], n,
                                                                          r["devices"]))
    need(s["upgraded"] == n and rc == 0, "sim: %d of %d upgraded (rc %d)" % (s["upgraded"], n, rc))
    print("good: reached 100%%, %d of %d devices on 2012.001.001" % (r["devices"]["succeeded"], n))


def main():
    global DEVICE_CLIENT
    if len(sys.argv) not in (3, 4):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    binary, scenario = sys.argv[1], sys.argv[2]
    DEVICE_CLIENT = sys.argv[3] if len(sys.argv) == 4 else None
    # thousands of simulated devices from one address: no flood limits here
    extra = ["--push", "127.0.0.1:0", "--limit-device-burst", "0", "--limit-address-rate", "0", "--limit-new-devices-rate", "0"]
    if scenario == "rate":
        extra += ["--push-rate", "200"]
    if scenario == "good":
        extra += ["--push-rate", "500"]
    global KEY_FILE
    keydir = tempfile.mkdtemp(prefix="openfota-pushkey-")
    if scenario == "auth":
        kf = KEY_FILE = os.path.join(keydir, "push.key")
        with open(kf, "w") as f:
            f.write(AUTH_MASTER + "\n")
        os.chmod(kf, 0o600)
        extra += ["--push-key-file", kf]
    srv = ofharness.Server(binary, extra=extra)
    try:
        srv.start()
        {"accept": scenario_accept, "rate": scenario_rate, "psm": scenario_psm,
         "noboot": scenario_noboot, "good": scenario_good, "auth": scenario_auth}[scenario](binary, srv)
    except ofharness.Failure as e:
        fail(str(e))
    except KeyError:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    finally:
        srv.stop()
        srv.cleanup()
        for name in os.listdir(keydir):
            os.unlink(os.path.join(keydir, name))
        os.rmdir(keydir)
    print("ok")


if __name__ == "__main__":
    main()

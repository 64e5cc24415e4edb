"""`openfota backup DEST` while the server is under load: 200 simulated
devices check (`openfota sim`, periodic) and packages are uploaded and
removed; the backup is then served (`openfota serve --data DEST`) and
compared with the source: projects, packages (the SHA-256 of every blob),
devices, each device's history count, the admin token. A second backup,
taken once the load has stopped, must equal the source exactly.

Usage: ops_backup.py /path/to/openfota   (python3 stdlib only)
"""
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from ofharness import FW, Failure, Server, check  # noqa: E402

FW2 = "FOTA2_UPLOADS_LuatOS-SoC_Air780EHV"
DEVICES = 200


def backup(binary, data, dest):
    p = subprocess.run([binary, "backup", "--data", data, dest], capture_output=True, text=True, timeout=120)
    check(p.returncode == 0, "openfota backup --data %s %s: exit %s\nstdout: %s\nstderr: %s"
          % (data, dest, p.returncode, p.stdout, p.stderr))
    check(os.path.isfile(os.path.join(dest, "openfota.db")), "the backup has no openfota.db")
    check(not [n for n in os.listdir(os.path.dirname(dest)) if ".partial-" in n],
          "a .partial- folder was left next to the backup")
    return p.stdout


def state(srv):
    """What a server serves: projects, packages, devices with history counts."""
    st, obj, raw = srv.admin("GET", "/admin/v1/projects")
    check(st == 200, "GET /projects: %s %r" % (st, raw[:200]))
    projects = sorted((p["key"], p["name"]) for p in obj["projects"])
    st, obj, raw = srv.admin("GET", "/admin/v1/packages")
    check(st == 200, "GET /packages: %s %r" % (st, raw[:200]))
    packages = {p["id"]: (p["sha256"], p["version"], p["firmware"], p["size"]) for p in obj["packages"]}
    st, obj, raw = srv.admin("GET", "/admin/v1/devices?limit=100000")
    check(st == 200, "GET /devices: %s %r" % (st, raw[:200]))
    devices = {}
    for d in obj["devices"]:
        st, one, raw = srv.admin("GET", "/admin/v1/devices/%s?history=1000" % d["id"])
        check(st == 200, "GET /devices/%s: %s %r" % (d["id"], st, raw[:200]))
        devices[d["id"]] = (len(one["history"]), d["version"])
    return {"projects": projects, "packages": packages, "devices": devices}


def check_blobs(dest, packages, what):
    """Every package's blob is in the copy, with its SHA-256."""
    for pid, (sha, _, _, size) in packages.items():
        path = os.path.join(dest, "blobs", "sha256", sha[:2], sha)
        check(os.path.isfile(path), "%s: package %s has no blob %s in the copy" % (what, pid, path))
        with open(path, "rb") as f:
            data = f.read()
        check(len(data) == size and hashlib.sha256(data).hexdigest() == sha,
              "%s: the blob of package %s in the copy is %d bytes with SHA-256 %s, expected %d bytes %s"
              % (what, pid, len(data), hashlib.sha256(data).hexdigest(), size, sha))


def main():
    binary = sys.argv[1]
    tmp = tempfile.mkdtemp(prefix="openfota-backup-")
    src = Server(binary)
    copies = []
    rc = 1
    try:
        src.start()
        key = src.add_project("fleet")
        key2 = src.add_project("uploads")
        base = src.upload_ok(key, os.urandom(48 * 1024), "2012.001.001")
        st, tok, raw = src.admin("POST", "/admin/v1/tokens", {"name": "ci", "role": "viewer"})
        check(st == 201 and tok.get("token"), "POST /admin/v1/tokens: %s %r" % (st, raw[:200]))
        with open(os.path.join(src.data, "push.key"), "w") as f:
            f.write("00112233445566778899aabbccddeeff\n")   # a settings file the copy must keep
        # --- load: 200 devices checking every simulated second, plus uploads and removals
        sim = subprocess.Popen(
            [binary, "sim", "--json", "--no-progress", "--quiet",
             "--url", src.url + "/api/site/firmware_upgrade?", "--project-key", key, "--firmware", FW,
             "--version", "2012.001.000", "--devices", str(DEVICES), "--schedule", "periodic",
             "--period", "1s", "--jitter", "0.5", "--duration", "9s", "--concurrency", "64", "--expect", "any"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        uploaded = set()   # (id, sha256) of every package ever uploaded, kept or not (ids may be reused)
        removed = set()
        errors = []
        stop = threading.Event()

        def uploader():
            n = 2
            while not stop.is_set():
                try:
                    data = os.urandom(16 * 1024 + n * 997)
                    st, obj, raw = src.upload(key2, data, "2012.001.%03d" % n, firmware=FW2)
                    if st != 201:
                        errors.append("upload %d: %s %r" % (n, st, raw[:200]))
                        return
                    uploaded.add((obj["id"], obj["sha256"]))
                    if n % 3 == 0:   # remove some again: their blobs vanish under the backup
                        st, _, raw = src.admin("DELETE", "/admin/v1/packages/%d" % obj["id"])
                        if st != 204:
                            errors.append("delete %d: %s %r" % (obj["id"], st, raw[:200]))
                            return
                        removed.add(obj["id"])
                    n += 1
                except Exception as e:   # noqa: BLE001 — reported below
                    errors.append("uploader: %r" % e)
                    return
        up = threading.Thread(target=uploader)
        up.start()
        time.sleep(3)   # devices have checked, some have upgraded
        st, before, _ = src.admin("GET", "/admin/v1/devices?limit=100000")
        devices_before = {d["id"] for d in before["devices"]}
        pk_before = {p["id"] for p in src.admin("GET", "/admin/v1/packages")[1]["packages"]}
        dest1 = os.path.join(tmp, "backup-under-load")
        t0 = time.time()
        out = backup(binary, src.data, dest1)
        took = time.time() - t0
        pk_after = {p["id"] for p in src.admin("GET", "/admin/v1/packages")[1]["packages"]}
        sim_alive = sim.poll() is None
        stop.set()
        up.join(30)
        so, se = sim.communicate(timeout=60)
        check(not errors, "the load itself failed: %s" % errors)
        check(sim_alive, "the simulator had ended before the backup finished: no load during it")
        summary = json.loads(so.decode().strip().splitlines()[-1])
        check(summary.get("checks", 0) >= DEVICES, "the simulator made only %s checks" % summary.get("checks"))
        print("backup under load: %.2fs, %d uploads (%d removed), %d checks by %d devices; %s"
              % (took, len(uploaded), len(removed), summary.get("checks", 0), DEVICES, out.strip().replace("\n", " | ")))
        time.sleep(0.5)   # the writer commits its last batch
        final = state(src)

        # --- serve the copy taken under load
        b1 = Server(binary, data=dest1)
        copies.append(b1)
        b1.start()
        check(b1.token == src.token, "the copy's admin token differs from the source's")
        saved = b1.token
        b1.token = tok["token"]   # the named token made on the source works on the copy, with its role
        st, _, raw = b1.admin("GET", "/admin/v1/projects")
        check(st == 200, "the named viewer token on the copy: GET /projects -> %s %r" % (st, raw[:200]))
        st, _, raw = b1.admin("POST", "/admin/v1/projects", {"name": "not-allowed"})
        check(st == 403, "the named viewer token on the copy may write: POST /projects -> %s %r" % (st, raw[:200]))
        b1.token = saved
        got = state(b1)
        check(got["projects"] == final["projects"], "projects: copy %r, source %r" % (got["projects"], final["projects"]))
        check(base["id"] in got["packages"], "the package uploaded before the load is missing from the copy")
        for pid, (sha, _, _, _) in got["packages"].items():
            check(pid == base["id"] or (pid, sha) in uploaded,
                  "copy has package %s (sha256 %s) that was never uploaded with that content" % (pid, sha))
        missing = (pk_before & pk_after) - set(got["packages"])
        check(not missing, "packages present before and after the backup are missing from the copy: %s" % missing)
        check_blobs(dest1, got["packages"], "copy under load")
        check(devices_before <= set(got["devices"]), "devices seen before the backup are missing from the copy: %s"
              % sorted(devices_before - set(got["devices"]))[:5])
        check(set(got["devices"]) <= set(final["devices"]), "the copy has devices the source never had")
        for dev, (n, _) in got["devices"].items():
            check(n <= final["devices"][dev][0], "device %s: copy has %d history events, source %d"
                  % (dev, n, final["devices"][dev][0]))
        check(sum(n for n, _ in got["devices"].values()) > 0, "the copy holds no history at all")
        with open(os.path.join(dest1, "push.key")) as f:
            check(f.read().startswith("00112233"), "push.key was not copied")
        r = b1.module_check("860000000000001", key, FW, "2012.001.000")
        check(r.status == 200 and hashlib.sha256(r.body).hexdigest() == base["sha256"],
              "a device checking the copy's server does not get the package: %s" % r.describe())
        b1.stop()

        # --- quiet source: the copy equals it
        final = state(src)
        dest2 = os.path.join(tmp, "backup-quiet")
        backup(binary, src.data, dest2)
        b2 = Server(binary, data=dest2)
        copies.append(b2)
        b2.start()
        got = state(b2)
        for k in ("projects", "packages", "devices"):
            check(got[k] == final[k], "quiet backup: %s differ from the source's (copy %d, source %d entries)"
                  % (k, len(got[k]), len(final[k])))
        check_blobs(dest2, got["packages"], "quiet copy")
        b2.stop()

        # --- refusals: existing non-empty DEST, missing data folder
        p = subprocess.run([binary, "backup", "--data", src.data, dest2], capture_output=True, text=True)
        check(p.returncode == 1 and "not empty" in p.stderr, "backup onto a non-empty folder: exit %s, %r"
              % (p.returncode, p.stderr))
        p = subprocess.run([binary, "backup", "--data", os.path.join(tmp, "nothing"), os.path.join(tmp, "x")],
                           capture_output=True, text=True)
        check(p.returncode == 1 and "no database" in p.stderr and not os.path.exists(os.path.join(tmp, "x")),
              "backup of a folder without a database: exit %s, %r" % (p.returncode, p.stderr))
        p = subprocess.run([binary, "backup"], capture_output=True, text=True)
        check(p.returncode == 2, "backup without DEST: exit %s, expected 2" % p.returncode)
        print("PASS ops_backup")
        rc = 0
    except Failure as e:
        print("FAIL %s\n---- source server log (tail) ----\n%s" % (e, src.log_text()))
    finally:
        for c in copies:
            c.stop()
        src.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)
    return rc


if __name__ == "__main__":
    if len(sys.argv) < 2:
        print("usage: ops_backup.py /path/to/openfota", file=sys.stderr)
        sys.exit(2)
    sys.exit(main())

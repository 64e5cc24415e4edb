"""Checks shared by the install and Debian package tests: the installed tree
(binary, unit, config, man pages), `systemd-analyze verify` of the unit in
that tree, and `openfota serve` started from the installed paths."""
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import urllib.request

from ofharness import Failure, check

UNIT_MUST = ["Type=notify", "WatchdogSec=", "User=openfota", "StateDirectory=openfota", "ProtectSystem=strict",
             "NoNewPrivileges=yes", "Restart=on-failure", "StandardOutput=journal"]


def find_unit(root):
    for d in ("lib/systemd/system", "usr/lib/systemd/system", "usr/local/lib/systemd/system", "etc/systemd/system"):
        p = os.path.join(root, d, "openfota.service")
        if os.path.isfile(p):
            return p
    raise Failure("no openfota.service under %s" % root)


def unit_paths(unit_text):
    """(binary, config) the unit's ExecStart names."""
    m = re.search(r"^ExecStart=(\S+) serve --config (\S+)\s*$", unit_text, re.M)
    check(m, "the unit has no 'ExecStart=BINARY serve --config FILE' line")
    return m.group(1), m.group(2)


def check_tree(root):
    """The installed files are where the unit says; returns (unit, binary, config, mandir) as host paths."""
    unit = find_unit(root)
    text = open(unit).read()
    for must in UNIT_MUST:
        check(must in text, "%s lacks %s" % (unit, must))
    binary, conf = unit_paths(text)
    hb, hc = root + binary, root + conf
    check(os.path.isfile(hb) and os.access(hb, os.X_OK), "the unit's binary %s is not installed (%s)" % (binary, hb))
    check(os.path.isfile(hc), "the unit's config %s is not installed (%s)" % (conf, hc))
    mandir = os.path.join(os.path.dirname(os.path.dirname(hb)), "share", "man")
    for page in ("openfota.1", "openfota-serve.1", "openfota-backup.1"):
        found = [p for p in (os.path.join(mandir, "man1", page), os.path.join(mandir, "man1", page + ".gz"))
                 if os.path.isfile(p)]
        check(found, "man page %s not installed under %s/man1" % (page, mandir))
    return unit, hb, hc, mandir


def systemd_verify(root, unit):
    """`systemd-analyze verify` of the unit inside root (a copy with the
    standard targets added). Returns None when it passed, or the reason it
    could not run here (the caller prints it as a skip); raises on a unit
    error or warning."""
    sa = shutil.which("systemd-analyze")
    if not sa:
        return "systemd-analyze is not installed (Debian package systemd)"
    work = tempfile.mkdtemp(prefix="openfota-verify-")
    try:
        vroot = os.path.join(work, "root")
        shutil.copytree(root, vroot, symlinks=True)
        targets = os.path.join(vroot, "usr", "lib", "systemd", "system")
        os.makedirs(targets, exist_ok=True)
        for d in ("/lib/systemd/system", "/usr/lib/systemd/system"):
            if os.path.isdir(d):
                for n in os.listdir(d):
                    if n.endswith(".target") and not os.path.exists(os.path.join(targets, n)):
                        shutil.copy(os.path.join(d, n), targets, follow_symlinks=True) \
                            if os.path.exists(os.path.join(d, n)) else None
        rel = "/" + os.path.relpath(unit, root)
        env = dict(os.environ, MANPATH=":".join(
            os.path.join(vroot, m) for m in ("usr/share/man", "usr/local/share/man")))
        # first a trivial unit: if even that fails, this container cannot verify units
        probe = os.path.join(vroot, "etc", "systemd", "system")
        os.makedirs(probe, exist_ok=True)
        with open(os.path.join(probe, "openfota-probe.service"), "w") as f:
            f.write("[Unit]\nDescription=probe\n[Service]\nExecStart=/bin/sh -c true\n")
        # system commands the units run (/bin/sh, /bin/kill) come from the host;
        # the openfota binary must be the installed one
        cmds = {"/bin/sh"} | set(re.findall(r"^Exec\w*=[-@:+!]*(/\S+)", open(unit).read(), re.M))
        for c in cmds:
            inside = vroot + c
            if not os.path.exists(inside) and os.path.isfile(c) and "openfota" not in c:
                os.makedirs(os.path.dirname(inside), exist_ok=True)
                shutil.copy(c, inside)
        p = subprocess.run([sa, "verify", "--root=" + vroot, "/etc/systemd/system/openfota-probe.service"],
                           capture_output=True, text=True, env=env, timeout=60)
        if p.returncode != 0 or p.stderr.strip():
            return "systemd-analyze verify cannot check even a trivial unit here (%s)" % (
                p.stderr.strip().splitlines() or ["exit %d" % p.returncode])[0]
        p = subprocess.run([sa, "verify", "--root=" + vroot, rel], capture_output=True, text=True, env=env,
                           timeout=60)
        check(p.returncode == 0 and not p.stderr.strip(),
              "systemd-analyze verify %s: exit %d\n%s" % (rel, p.returncode, p.stderr))
        return None
    finally:
        shutil.rmtree(work, ignore_errors=True)


def serve_installed(binary, conf, extra_env=None):
    """Start the installed binary with the installed config (flags put the
    data in a temp folder and the listener on a free loopback port); check
    /healthz, /readyz and an authenticated admin call; stop it."""
    data = tempfile.mkdtemp(prefix="openfota-installed-")
    log = open(os.path.join(data, "serve.log"), "wb")
    env = dict(os.environ)
    env.update(extra_env or {})
    proc = subprocess.Popen([binary, "serve", "--config", conf, "--data", data, "--listen", "127.0.0.1:0"],
                            stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        url = None
        deadline = time.time() + 30
        while time.time() < deadline and url is None:
            check(proc.poll() is None, "the installed openfota serve --config %s exited with %s:\n%s"
                  % (conf, proc.returncode, open(os.path.join(data, "serve.log")).read()[-2000:]))
            try:
                url = json.load(open(os.path.join(data, "serve.json")))["url"]
            except (OSError, ValueError, KeyError):
                time.sleep(0.1)
        check(url, "the installed server wrote no serve.json")
        for path in ("/healthz", "/readyz"):
            with urllib.request.urlopen(url + path, timeout=10) as r:
                check(r.status == 200, "installed server: GET %s -> %s" % (path, r.status))
        token = open(os.path.join(data, "admin.token")).read().strip()
        req = urllib.request.Request(url + "/admin/v1/status", headers={"Authorization": "Bearer " + token})
        with urllib.request.urlopen(req, timeout=10) as r:
            check(r.status == 200 and json.load(r).get("version"), "installed server: GET /admin/v1/status failed")
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        shutil.rmtree(data, ignore_errors=True)
    check(proc.returncode == 0, "the installed server exited with %s after SIGTERM" % proc.returncode)

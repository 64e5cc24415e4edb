"""`make install DESTDIR=DIR` (from this test's build folder:
INSTALL_FROM=BUILD_DIR) puts the binary, openfota.service, the commented
config, the sysusers.d entry and the man pages under DIR;
the unit passes `systemd-analyze verify`; the installed binary serves with
the installed config; a second install keeps an edited config.

Usage: ops_install.py SOURCE_DIR BUILD_DIR   (python3 stdlib only)
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from ofharness import Failure, check  # noqa: E402
import ofservice  # noqa: E402


def install(src, build, dest):
    cmd = ["make", "-C", src, "install", "DESTDIR=" + dest, "INSTALL_FROM=" + build, "JOBS=2"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    check(p.returncode == 0, "%s: exit %d\n%s%s" % (" ".join(cmd), p.returncode, p.stdout[-2000:], p.stderr[-2000:]))
    return p.stdout


def main():
    src, build = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    tmp = tempfile.mkdtemp(prefix="openfota-install-")
    rc = 1
    try:
        dest = os.path.join(tmp, "stage")
        install(src, build, dest)
        unit, binary, conf, mandir = ofservice.check_tree(dest)
        print("installed: %s" % ", ".join(os.path.relpath(p, dest) for p in (unit, binary, conf)))
        # every setting of `openfota serve --help` is shown in the sample
        helptext = subprocess.run([binary, "serve", "--help"], capture_output=True, text=True).stdout
        sample = open(conf).read()
        # the config keys end the help lines: every word with an underscore
        # there, plus the one-word keys
        opts = helptext.split("\noptions")[1].split("\nOn start")[0]
        keys = {k for k in re.findall(r" ([a-z][a-z_]*)[ \t]*$", opts, re.M) if "_" in k}
        keys |= {"listen", "data", "threads", "push", "mqtt"}
        check(len(keys) >= 20, "could not read the settings from serve --help (%d found)" % len(keys))
        missing = sorted(k for k in keys if ("\n%s = " % k) not in sample and ("# %s = " % k) not in sample)
        check(not missing, "the config sample does not show these settings of serve --help: %s" % missing)
        # the sysusers.d entry makes the user the unit runs as (in a scratch root)
        sysusers = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(unit))), "sysusers.d",
                                "openfota.conf")
        check(os.path.isfile(sysusers), "no sysusers.d entry at %s" % sysusers)
        if shutil.which("systemd-sysusers"):
            sroot = os.path.join(tmp, "sysusers-root")
            os.makedirs(os.path.join(sroot, "etc"))
            p = subprocess.run(["systemd-sysusers", "--root=" + sroot, sysusers], capture_output=True, text=True)
            check(p.returncode == 0, "systemd-sysusers %s: %s" % (sysusers, p.stderr))
            passwd = open(os.path.join(sroot, "etc", "passwd")).read()
            check(re.search(r"^openfota:x:\d+:\d+:[^:]*:/var/lib/openfota:", passwd, re.M),
                  "systemd-sysusers made no openfota user with home /var/lib/openfota:\n" + passwd)
        why = ofservice.systemd_verify(dest, unit)
        if why:
            print("SKIP systemd-analyze verify: %s" % why)
        else:
            print("PASS systemd-analyze verify %s" % os.path.relpath(unit, dest))
        ofservice.serve_installed(binary, conf)
        print("PASS the installed binary serves with the installed config")
        # an edited config survives a second install; the new sample lands beside it
        with open(conf, "a") as f:
            f.write("threads = 3\n")
        install(src, build, dest)
        check("threads = 3" in open(conf).read(), "a second install overwrote the edited %s" % conf)
        check(os.path.isfile(conf + ".dist"), "a second install did not leave the new sample as %s.dist" % conf)
        print("PASS ops_install")
        rc = 0
    except Failure as e:
        print("FAIL %s" % e)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return rc


if __name__ == "__main__":
    if len(sys.argv) < 3:
        print("usage: ops_install.py SOURCE_DIR BUILD_DIR", file=sys.stderr)
        sys.exit(2)
    sys.exit(main())

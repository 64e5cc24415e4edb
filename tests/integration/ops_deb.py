"""`make deb`: scripts/deb.sh builds the Debian package with
dpkg-buildpackage; its contents are checked with dpkg-deb (files, control
fields, conffiles, the postinst creating the openfota user and enabling the
unit); it is extracted into a temp root (a debootstrap chroot would be too
slow for the suite), the unit is checked with `systemd-analyze verify` there,
and the extracted /usr/bin/openfota serves with the extracted
/etc/openfota/openfota.conf.

Usage: ops_deb.py SOURCE_DIR WORK_DIR   (python3 stdlib only)
"""
import glob
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from ofharness import Failure, check  # noqa: E402
import ofservice  # noqa: E402

FILES = ["./usr/bin/openfota", "./lib/systemd/system/openfota.service", "./etc/openfota/openfota.conf",
         "./usr/share/man/man1/openfota.1.gz", "./usr/share/man/man1/openfota-serve.1.gz",
         "./usr/share/man/man1/openfota-backup.1.gz"]


def run(cmd, **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, **kw)
    check(p.returncode == 0, "%s: exit %d\n%s%s" % (" ".join(cmd), p.returncode, p.stdout[-3000:], p.stderr[-3000:]))
    return p.stdout


def main():
    src, work = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    for tool in ("dpkg-buildpackage", "dpkg-deb", "dh"):
        if not shutil.which(tool):
            print("FAIL %s is missing: run scripts/bootstrap.sh (Debian packages dpkg-dev, debhelper)" % tool)
            return 1
    shutil.rmtree(work, ignore_errors=True)
    rc = 1
    try:
        run([os.path.join(src, "scripts", "deb.sh"), os.path.join(work, "out")], timeout=1500)
        debs = [d for d in glob.glob(os.path.join(work, "out", "openfota_*.deb"))]
        check(len(debs) == 1, "expected one openfota_*.deb, got %s" % debs)
        deb = debs[0]
        listing = run(["dpkg-deb", "-c", deb])
        names = {line.split()[-1] for line in listing.splitlines() if line.strip()}
        for f in FILES:
            check(f in names, "%s is not in the package:\n%s" % (f, listing))
        check([n for n in names if n.startswith("./usr/share/doc/openfota/operations.md")],
              "docs/operations.md is not in /usr/share/doc/openfota")
        check(not [n for n in names if "/test" in n or n.endswith(".a") or "/include/" in n],
              "the package carries build or test files: %s" % sorted(n for n in names if "/test" in n)[:5])
        fields = run(["dpkg-deb", "-f", deb, "Package", "Depends", "Architecture"])
        check("Package: openfota" in fields and "adduser" in fields and "libsqlite3" in fields,
              "control fields: %s" % fields)
        ctl = os.path.join(work, "control")
        run(["dpkg-deb", "-e", deb, ctl])
        conffiles = open(os.path.join(ctl, "conffiles")).read().split()
        check("/etc/openfota/openfota.conf" in conffiles, "the config is not a conffile: %s" % conffiles)
        postinst = open(os.path.join(ctl, "postinst")).read()
        check("adduser --system" in postinst and " openfota" in postinst,
              "postinst does not create the openfota system user")
        check("deb-systemd-helper enable 'openfota.service'" in postinst, "postinst does not enable the unit")
        root = os.path.join(work, "root")
        run(["dpkg-deb", "-x", deb, root])
        unit, binary, conf, _ = ofservice.check_tree(root)
        check(unit.endswith("/lib/systemd/system/openfota.service") and binary.endswith("/usr/bin/openfota")
              and conf.endswith("/etc/openfota/openfota.conf"),
              "unexpected installed paths: %s %s %s" % (unit, binary, conf))
        why = ofservice.systemd_verify(root, unit)
        if why:
            print("SKIP systemd-analyze verify: %s" % why)
        else:
            print("PASS systemd-analyze verify /lib/systemd/system/openfota.service")
        ofservice.serve_installed(binary, conf)
        print("PASS %s: contents, control, conffiles, postinst; serves from the extracted paths"
              % os.path.basename(deb))
        rc = 0
    except Failure as e:
        print("FAIL %s" % e)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return rc


if __name__ == "__main__":
    if len(sys.argv) < 3:
        print("usage: ops_deb.py SOURCE_DIR WORK_DIR", file=sys.stderr)
        sys.exit(2)
    sys.exit(main())

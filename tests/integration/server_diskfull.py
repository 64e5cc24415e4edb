#!/usr/bin/env python3
"""Issue 11, a full disk: the data folder on a 24 MiB tmpfs, filled up.

  - an upload that meets the full disk is answered 507 with a hint, and the
    failure is logged once (not once per 64 KiB);
  - removing a file and a package works (204) although the database needs
    room to commit: the server releases its disk reserve for it, and makes
    the reserve again once the removed blob has freed its space.

Mounting needs root (CI runs as root); otherwise the test is skipped
(exit 77).

usage: server_diskfull.py /path/to/openfota
"""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from ofharness import Server, check, Failure  # noqa: E402
import luatbin  # noqa: E402


def fill(path):
    """Writes a filler file until the disk is full; returns its size."""
    n = 0
    with open(path, "wb", buffering=0) as f:
        for chunk in (1 << 20, 64 << 10, 4096, 512):
            block = b"\0" * chunk
            while True:
                try:
                    f.write(block)
                    n += chunk
                except OSError:
                    break
    return n


def run(binary, mnt):
    data = os.path.join(mnt, "data")
    os.mkdir(data, 0o700)
    srv = Server(binary, data=data)
    logdir = tempfile.mkdtemp(prefix="openfota-it-diskfull-log-")
    srv.log_path = os.path.join(logdir, "server.log")  # not on the disk that fills up
    try:
        srv.start()
        check(os.path.isfile(os.path.join(data, "disk-reserve")), "no disk reserve in the data folder")
        key = srv.add_project("full")
        pkg = luatbin.build(luatbin.script_image(1000, seed=61))
        pobj = srv.upload_ok(key, pkg, "2012.1.2")
        st, _, raw = srv.admin("PUT", "/admin/v1/files/big.bin", raw=os.urandom(3 << 20))
        check(st == 201, "file put before the disk is full: %s %r" % (st, raw[:200]))
        filled = fill(os.path.join(mnt, "filler"))
        print("  disk filled with %d KiB" % (filled >> 10))

        log0 = srv.log_text().count("upload: writing")
        body = os.urandom(2 << 20)
        r, _ = srv.admin_stream("PUT", "/admin/v1/files/more.bin", [body[i:i + 65536]
                                for i in range(0, len(body), 65536)], length=len(body))
        check(r is not None and r.status == 507,
              "upload on a full disk: expected 507, got %s" % (r.describe() if r else "no answer"))
        j = r.json() or {}
        check("disk is full" in j.get("hint", "") and "remove" in j.get("hint", ""),
              "507 without a clear hint: %r" % r.body)
        lines = srv.log_text().count("upload: writing") - log0
        check(lines == 1, "a failed upload logged %d 'upload: writing' lines (expected 1)" % lines)

        st, _, raw = srv.admin("DELETE", "/admin/v1/files/big.bin")
        check(st == 204, "removing a file on a full disk: expected 204, got %s %r" % (st, raw[:300]))
        st, _, raw = srv.admin("DELETE", "/admin/v1/packages/%d" % pobj["id"])
        check(st == 204, "removing a package on a full disk: expected 204, got %s %r" % (st, raw[:300]))
        st, obj, raw = srv.admin("GET", "/admin/v1/files")
        check(st == 200 and not obj["files"], "the removed file is still listed: %r" % raw[:200])
        check(os.path.isfile(os.path.join(data, "disk-reserve")),
              "the disk reserve was not made again after the removal freed space")
        os.unlink(os.path.join(mnt, "filler"))
        st, _, raw = srv.admin("PUT", "/admin/v1/files/after.bin", raw=b"x" * 1000)
        check(st == 201, "upload after space was freed: %s %r" % (st, raw[:200]))
        code = srv.stop()
        check(code == 0, "server exit %s after SIGTERM" % code)
        print("PASS server_diskfull")
        return 0
    except Failure as e:
        print("FAIL %s\n---- server log (tail) ----\n%s" % (e, srv.log_text()))
        return 1
    finally:
        srv.stop()
        try:
            os.unlink(srv.log_path)
            os.rmdir(logdir)
        except OSError:
            pass


def main():
    if len(sys.argv) < 2:
        print("usage: %s /path/to/openfota" % sys.argv[0], file=sys.stderr)
        return 2
    if os.geteuid() != 0:
        print("SKIP: mounting a size-capped tmpfs needs root")
        return 77
    mnt = tempfile.mkdtemp(prefix="openfota-it-diskfull-")
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m,mode=0700", "tmpfs", mnt]).returncode != 0:
        os.rmdir(mnt)
        print("SKIP: cannot mount a tmpfs here")
        return 77
    try:
        return run(sys.argv[1], mnt)
    finally:
        subprocess.run(["umount", "-l", mnt])
        os.rmdir(mnt)


if __name__ == "__main__":
    sys.exit(main())

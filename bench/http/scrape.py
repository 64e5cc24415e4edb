#!/usr/bin/env python3
"""The device check rate with and without a Prometheus scrape every second.

Starts `openfota serve` (release build, log_level = warn, 2 HTTP workers) as
bench.py does, then runs wrk on two scenarios, each ROUNDS times without
scraping and with a scraper that GETs /metrics (admin token) once a second;
which of the two goes first alternates by round. Reports medians, the ratio
with/without, every round, and how long the scrapes took.

  check-keepalive  one device's "no upgrade" check (code 27), keep-alive: the
                   highest check rate, where any cost per check shows most
  check-fleet      "no upgrade" checks from a fleet of DEVICES devices taken in
                   turn (the device table holds them all; a scrape walks it)

With --compare OTHER (another openfota binary, e.g. one built without the
metrics), OTHER runs as a second server set up the same way and measured in
the same rounds without scraping: the cost of counting itself.

usage: scrape.py /path/to/openfota [--rounds N] [--duration S] [--connections C] [--devices D]
                 [--compare OTHER]
Prints a Markdown report on stdout. Needs wrk (scripts/bootstrap.sh --bench).
"""
import argparse
import http.client
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from bench import FW, Openfota, probe_no_upgrade, wrk  # noqa: E402


class Scraper:
    """GET /metrics once a second on its own connection while running."""

    def __init__(self, of):
        self.of = of
        self.times = []
        self.bytes = 0
        self.errors = 0
        self.stop_ev = threading.Event()
        self.th = threading.Thread(target=self.run, daemon=True)

    def run(self):
        conn = None
        while not self.stop_ev.is_set():
            t0 = time.time()
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.of.port, timeout=10)
                conn.request("GET", "/metrics", headers={"Authorization": "Bearer " + self.of.token})
                r = conn.getresponse()
                body = r.read()
                if r.status != 200 or b"openfota_checks_total" not in body:
                    self.errors += 1
                else:
                    self.bytes = len(body)
                    self.times.append(time.time() - t0)
            except (OSError, http.client.HTTPException):
                self.errors += 1
                conn = None
            self.stop_ev.wait(max(0.0, 1.0 - (time.time() - t0)))

    def __enter__(self):
        self.th.start()
        return self

    def __exit__(self, *exc):
        self.stop_ev.set()
        self.th.join()


def setup_server(of, tmp, tag, a, urls):
    """A project with a package at 1.0.1 (the checks answer code 27), and the
    fleet checked in once so the device table holds it before measuring."""
    p = of.admin("POST", "/admin/v1/projects", {"name": "bench"})
    of.key = p["key"]
    q = urllib.parse.urlencode({"firmware": FW, "version": "1.0.1", "filename": "bench.img"})
    of.admin("POST", "/admin/v1/projects/%s/packages?%s" % (of.key, q), raw=os.urandom(65536))
    check_path = ("/api/site/firmware_upgrade?imei=860000000000001&project_key=%s"
                  "&firmware_name=%s&version=1.0.1" % (of.key, FW))
    probe_no_upgrade(of.url + check_path)
    lua = os.path.join(tmp, "fleet-%s.lua" % tag)
    with open(lua, "w") as f:
        f.write(open(os.path.join(HERE, "fleet.lua")).read().replace("@KEY@", of.key)
                .replace("@FW@", FW).replace("@N@", str(a.devices)))
    wrk(of.url + "/", max(3, a.duration), a.connections, a.threads, (), lua)
    urls[(tag, "lua")] = lua
    urls[(tag, "check")] = check_path
    urls[(tag, "check_url")] = of.url + check_path


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("openfota")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--duration", type=int, default=5)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--devices", type=int, default=10000, help="fleet devices per wrk thread")
    ap.add_argument("--compare", help="another openfota binary measured in the same rounds")
    a = ap.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: run scripts/bootstrap.sh --bench")
    tmp = tempfile.mkdtemp(prefix="openfota-bench-scrape-")
    of = other = None
    try:
        of = Openfota(os.path.abspath(a.openfota), tmp)
        if a.compare:
            os.makedirs(os.path.join(tmp, "other"))
            other = Openfota(os.path.abspath(a.compare), os.path.join(tmp, "other"))
        targets = [(of, "openfota")] + ([(other, "other")] if other else [])
        urls = {}
        for srv, tag in targets:
            setup_server(srv, tmp, tag, a, urls)
        known = of.admin("GET", "/admin/v1/status")["devices"]
        lua = urls[("openfota", "lua")]
        check_path = urls[("openfota", "check")]
        scenarios = [("check-keepalive", of.url + check_path, None),
                     ("check-fleet", of.url + "/", lua)]
        modes = [False, True] + (["other"] if other else [])
        res = {}
        scrape_ms = []
        scrape_bytes = 0
        cmds = {}
        for rnd in range(a.rounds):
            for name, url, script in scenarios:
                order = modes if rnd % 2 == 0 else modes[::-1]
                for scraping in order:
                    if scraping == "other":
                        ourl = url.replace(of.url, other.url)
                        osc = urls[("other", "lua")] if script else None
                        if not script:
                            ourl = urls[("other", "check_url")]
                        rps, _, errs, cmd = wrk(ourl, a.duration, a.connections, a.threads, (), osc)
                    elif scraping:
                        with Scraper(of) as sc:
                            rps, _, errs, cmd = wrk(url, a.duration, a.connections, a.threads, (), script)
                        scrape_ms += [t * 1000 for t in sc.times]
                        scrape_bytes = sc.bytes or scrape_bytes
                        if sc.errors:
                            raise SystemExit("%d scrapes failed" % sc.errors)
                    else:
                        rps, _, errs, cmd = wrk(url, a.duration, a.connections, a.threads, (), script)
                    res.setdefault((name, scraping), []).append(rps)
                    cmds[name] = cmd
                    print("round %d %-16s %-9s %10.0f req/s %s" % (rnd + 1, name, {
                        False: "quiet", True: "scraping", "other": "other"}[scraping], rps, errs),
                        file=sys.stderr, flush=True)
        cpu = "?"
        for ln in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            if ln.startswith("Model name:"):
                cpu = ln.split(":", 1)[1].strip()
        print("Machine: %d CPUs (`nproc`), %s; wrk, the scraper and the server share these CPUs. "
              "%d rounds of %d s per scenario and mode, alternating which mode goes first; "
              "wrk -t%d -c%d; %d devices known to the server. Medians:\n"
              % (os.cpu_count(), cpu, a.rounds, a.duration, a.threads, a.connections, known))
        if other:
            print("| scenario | checks/s, no scrape | checks/s, scrape every 1 s | ratio | other binary, "
                  "checks/s | no scrape / other |")
            print("|---|---:|---:|---:|---:|---:|")
        else:
            print("| scenario | checks/s, no scrape | checks/s, scrape every 1 s | ratio |")
            print("|---|---:|---:|---:|")
        for name, *_ in scenarios:
            q = statistics.median(res[(name, False)])
            s = statistics.median(res[(name, True)])
            row = "| %s | %.0f | %.0f | %.3f |" % (name, q, s, s / q if q else 0)
            if other:
                o = statistics.median(res[(name, "other")])
                row += " %.0f | %.3f |" % (o, q / o if o else 0)
            print(row)
        print("\nPer-round checks/s (no scrape / scrape every 1 s):\n")
        for name, *_ in scenarios:
            print("- %s: %s / %s%s" % (name, ", ".join("%.0f" % r for r in res[(name, False)]),
                                       ", ".join("%.0f" % r for r in res[(name, True)]),
                                       (" (other: %s)" % ", ".join("%.0f" % r for r in res[(name, "other")]))
                                       if other else ""))
        if scrape_ms:
            scrape_ms.sort()
            print("\nScrapes: %d, %d bytes each, took median %.2f ms, max %.2f ms (under full check load)."
                  % (len(scrape_ms), scrape_bytes, statistics.median(scrape_ms), scrape_ms[-1]))
        print("\nwrk commands: ")
        for name, *_ in scenarios:
            cmd = cmds[name].replace(of.key, "KEY").replace(tmp + "/", "")
            if other:
                cmd = cmd.replace(other.key, "KEY")
            print("- `%s`" % cmd)
    finally:
        for srv in (of, other):
            if srv:
                srv.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

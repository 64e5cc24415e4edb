#!/usr/bin/python3
"""The web console in a real browser (Debian's chromium, headless, through
chromium-driver and python3-selenium): an operator's day.

Log in with the token form, create a project and copy its device line,
upload a Luat package through the file input and read the validation,
upload a broken one and read the refusal, run 50 simulated devices
(`openfota sim`), find them in the device table with their versions, open
one and read its history, get a device banned by repeated deliveries and
unban it from its page, start a rollout, promote it and watch it progress.

Fails on any JavaScript console error, on any failed request other than the
refusals the walk provokes, and on any request to a host other than the
server. Screenshots of every page at 1280x800 and 375 px wide go to
SHOTS_DIR.

usage: console_e2e.py /path/to/openfota SHOTS_DIR
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from ofharness import FW, Failure, Server, Suite, check  # noqa: E402
import luatbin  # noqa: E402

from selenium import webdriver  # noqa: E402
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402
from selenium.webdriver.support.select import Select  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

suite = Suite("console_e2e")
WAIT = 20


class Ctx:
    pass


def browser(profile):
    o = webdriver.ChromeOptions()
    o.binary_location = "/usr/bin/chromium"
    for a in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
              "--disable-background-networking", "--disable-component-update", "--disable-sync",
              "--disable-dev-shm-usage", "--user-data-dir=" + profile, "--lang=en-US",
              "--window-size=1280,800"):
        o.add_argument(a)
    o.add_experimental_option("prefs", {"intl.accept_languages": "en-US,en"})
    o.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=o)
    d.set_page_load_timeout(30)
    return d


def wait(c, cond, what, timeout=WAIT):
    try:
        return WebDriverWait(c.d, timeout, ignored_exceptions=(StaleElementReferenceException,)).until(cond)
    except TimeoutException:
        raise Failure("timed out after %ss waiting for %s; page text: %r; banner: %r"
                      % (timeout, what, c.d.find_element(By.TAG_NAME, "body").text[:600], banner(c)))


def banner(c):
    try:
        b = c.d.find_element(By.ID, "banner")
        return b.text if b.is_displayed() else ""
    except Exception:
        return ""


def text_in(c, css, text, timeout=WAIT):
    return wait(c, lambda d: any(text in e.text for e in d.find_elements(By.CSS_SELECTOR, css)),
                "%r in %s" % (text, css), timeout)


def shot(c, name):
    """Screenshots at desktop and phone width (full page height)."""
    for label, w, h in (("desktop", 1280, 800), ("phone", 375, 812)):
        c.d.set_window_size(w, h)
        time.sleep(0.4)
        full = c.d.execute_script("return Math.max(document.body.scrollHeight, %d)" % h)
        c.d.set_window_size(w, min(full + 140, 4000))
        time.sleep(0.3)
        c.d.save_screenshot(os.path.join(c.shots, "%s-%s.png" % (name, label)))
    c.d.set_window_size(1280, 800)
    check_logs(c)


def check_logs(c):
    """Console errors and requests: only the server, only expected refusals."""
    origin = c.srv.url
    for e in c.d.get_log("browser"):
        if e["level"] != "SEVERE":
            continue
        msg = e["message"]
        if e.get("source") == "network" and any(x in msg for x in c.expected_failures):
            continue
        c.errors.append("browser console: %s" % msg)
    for e in c.d.get_log("performance"):
        m = json.loads(e["message"])["message"]
        if m["method"] == "Network.requestWillBeSent":
            url = m["params"]["request"]["url"]
            # the browser's own pages (chrome://, the new tab page) are not the console's requests
            if re.match(r"^(https?|wss?|ftp)://", url) and not url.startswith(origin + "/"):
                c.errors.append("request to another host: %s" % url)
            c.requests += 1
    entries = c.d.execute_script("return performance.getEntries().map(e => e.name)")
    for n in entries:
        if n.startswith("http") and not n.startswith(origin + "/"):
            c.errors.append("performance entry for another host: %s" % n)
    check(not c.errors, "; ".join(c.errors[:5]))


def nav(c, label):
    link = wait(c, EC.element_to_be_clickable((By.XPATH, "//nav//a[normalize-space()='%s']" % label)),
                "the %s link" % label)
    before = c.d.find_element(By.TAG_NAME, "body").get_attribute("data-rendered")
    link.click()
    wait(c, lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-rendered") != before,
         "the %s page" % label)


def sim(c, version, devices, seed, *extra, expect="none-failed"):
    r = subprocess.run([c.srv.binary, "sim", "--url", c.srv.url + "/api/site/firmware_upgrade?",
                        "--project-key", c.key, "--firmware", FW, "--version", version,
                        "--devices", str(devices), "--seed", str(seed), "--quiet", "--no-progress",
                        "--duration", "60s", "--expect", expect] + list(extra),
                       capture_output=True, text=True, timeout=120)
    check(r.returncode == 0, "openfota sim %s x%d: exit %s\n%s%s" % (version, devices, r.returncode,
                                                                      r.stdout[-800:], r.stderr[-800:]))


@suite.case
def login_page(c):
    c.d.get(c.srv.url + "/")
    wait(c, EC.presence_of_element_located((By.NAME, "token")), "the login form")
    check(c.d.current_url.endswith("/login"), "GET / without session should land on /login: %s" % c.d.current_url)
    text_in(c, "button[type=submit]", "Log in")
    shot(c, "01-login")
    # a wrong token shows the server's own words
    c.d.find_element(By.NAME, "token").send_keys("0" * 64)
    c.d.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    text_in(c, "#login-error", "wrong admin token")
    c.expected_failures.append("/console/login")  # the 401 the browser logs for the wrong token
    check_logs(c)
    c.expected_failures.pop()
    tok = c.d.find_element(By.NAME, "token")
    tok.clear()
    tok.send_keys(c.srv.token)
    c.d.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait(c, EC.presence_of_element_located((By.ID, "nav")), "the console after login")
    cookies = {k["name"]: k for k in c.d.get_cookies()}
    ck = cookies.get("openfota_session")
    check(ck and ck["httpOnly"] and ck.get("sameSite") == "Strict", "session cookie flags: %r" % ck)
    check(not c.d.execute_script("return document.cookie.includes('openfota_session')"),
          "the session cookie is readable from JavaScript")


@suite.case
def overview(c):
    nav(c, "Overview")
    wait(c, lambda d: d.find_elements(By.CSS_SELECTOR, ".stat"), "the overview counters")
    shot(c, "02-overview-empty")


@suite.case
def create_project(c):
    nav(c, "Projects")
    name = wait(c, EC.presence_of_element_located((By.NAME, "project-name")), "the project name input")
    name.send_keys("demo fleet")
    name.submit()
    text_in(c, ".result", "Project demo fleet created")
    snip = c.d.find_element(By.CSS_SELECTOR, ".result code.snippet").text
    m = re.match(r'^libfota2\.request\(fota_cb, \{url = "(http://[^"]+)", project_key = "([A-Za-z0-9]+)"\}\)$', snip)
    check(m, "device line %r is not the README's form" % snip)
    check(m.group(1) == c.srv.url + "/api/site/firmware_upgrade?", "check URL in the line: %r" % m.group(1))
    c.key = m.group(2)
    st, obj, _ = c.srv.admin("GET", "/admin/v1/projects/" + c.key)
    check(st == 200 and obj["name"] == "demo fleet", "the project does not exist on the server: %s" % st)
    c.d.find_element(By.CSS_SELECTOR, ".result button.copy").click()
    text_in(c, ".result .copyrow", "Copied")
    copied = c.d.execute_script(
        "return navigator.clipboard.readText().catch(e => 'clipboard: ' + e.message)")
    check(copied == snip or copied.startswith("clipboard:"), "clipboard holds %r, not the line" % copied)
    # the project's switches
    card = wait(c, EC.presence_of_element_located((By.CSS_SELECTOR, "[data-project='%s']" % c.key)), "project card")
    md = card.find_element(By.CSS_SELECTOR, "input[type=number]")
    md.clear()
    md.send_keys("6")
    card.find_element(By.CSS_SELECTOR, ".switches button").click()
    text_in(c, "[data-project='%s'] .switches" % c.key, "Saved")
    shot(c, "03-projects")


def upload_package(c, path, version):
    nav(c, "Packages")
    wait(c, EC.presence_of_element_located((By.NAME, "package-file")), "the package file input")
    Select(c.d.find_element(By.CSS_SELECTOR, "form.grid-form select")).select_by_value(c.key)
    fw = c.d.find_element(By.CSS_SELECTOR, "input[list=fw-list]")
    fw.send_keys(FW)
    c.d.find_element(By.CSS_SELECTOR, "input[placeholder='2012.001.002']").send_keys(version)
    c.d.find_element(By.NAME, "package-file").send_keys(path)
    c.d.find_element(By.CSS_SELECTOR, "form.grid-form button[type=submit]").click()


@suite.case
def upload_good_package(c):
    pkg = luatbin.build(luatbin.script_image(20000, seed=5))
    path = os.path.join(c.tmp, "update_v2.bin")
    with open(path, "wb") as f:
        f.write(pkg)
    upload_package(c, path, "2012.001.002")
    text_in(c, ".result", "Package accepted")
    res = c.d.find_element(By.CSS_SELECTOR, ".result").text
    import hashlib
    for want in (hashlib.md5(pkg).hexdigest(), "luat", "2012.001.002", str(len(pkg)), "0xEAC37218",
                 hashlib.md5(pkg[92:]).hexdigest(), "CommonDataLen"):
        check(want in res, "validation result lacks %r: %r" % (want, res))
    check(c.d.find_element(By.CSS_SELECTOR, "progress").get_attribute("value") == "1", "progress bar not full")
    shot(c, "04-packages")


@suite.case
def upload_broken_package(c):
    pkg = bytearray(luatbin.build(luatbin.script_image(4000, seed=6)))
    pkg[4] ^= 0xFF  # header CRC broken
    path = os.path.join(c.tmp, "broken.bin")
    with open(path, "wb") as f:
        f.write(bytes(pkg))
    c.expected_failures.append("/packages?firmware=")  # the 422 the browser logs for the refusal
    upload_package(c, path, "2012.001.005")
    text_in(c, ".result .refusal", "Package refused")
    msg = c.d.find_element(By.CSS_SELECTOR, ".result .refusal").text
    st, obj, raw = c.srv.upload(c.key, bytes(pkg), "2012.001.005")
    check(st == 422 and obj["error"] in msg, "the refusal %r is not the API's words %r" % (msg, raw))
    shot(c, "05-package-refused")


@suite.case
def devices_table(c):
    sim(c, "2012.001.001", 50, 1, expect="all-upgraded")
    nav(c, "Devices")
    text_in(c, ".pager", "of 50")
    rows = c.d.find_elements(By.CSS_SELECTOR, "tbody tr")
    check(len(rows) == 50, "device table shows %d rows, expected 50" % len(rows))
    ids = [e.text for e in c.d.find_elements(By.CSS_SELECTOR, "a.devid")]
    vers = [e.text for e in c.d.find_elements(By.CSS_SELECTOR, "span.ver")]
    check(all(re.match(r"^\d{15}$", i) for i in ids), "device IDs: %r" % ids[:5])
    check(set(vers) == {"2012.001.002"}, "versions shown: %r" % sorted(set(vers)))
    c.dev = ids[0]
    # search by ID narrows the table on the server side
    q = c.d.find_element(By.NAME, "q")
    q.send_keys(ids[3][-6:])
    wait(c, lambda d: ids[3] in [e.text for e in d.find_elements(By.CSS_SELECTOR, "a.devid")]
         and len(d.find_elements(By.CSS_SELECTOR, "a.devid")) < 50, "the search result")
    q.clear()
    q.send_keys(" ")
    q.clear()
    shot(c, "06-devices")


@suite.case
def device_history(c):
    c.d.get(c.srv.url + "/#/device/" + c.dev)
    wait(c, lambda d: d.find_elements(By.CSS_SELECTOR, ".timeline li.ev-upgrade"), "an upgrade in the history")
    items = c.d.find_elements(By.CSS_SELECTOR, ".timeline li")
    check(len(items) >= 2, "history shows %d events, expected the download and the check after" % len(items))
    text = c.d.find_element(By.CSS_SELECTOR, ".timeline").text
    check("complete" in text and "2012.001.001" in text, "history lacks the delivery: %r" % text[:400])
    c.d.find_element(By.XPATH, "//button[normalize-space()='Push now']").click()
    text_in(c, ".card", "sent to 1 device(s)")
    shot(c, "07-device")


@suite.case
def ban_and_unban(c):
    # a device whose package never boots comes back for it until the loop guard bans it
    sim(c, "2012.001.001", 1, 777, "--no-boot", expect="all-banned")
    st, obj, raw = c.srv.admin("GET", "/admin/v1/devices?state=banned")
    check(st == 200 and obj["total"] == 1, "the server lists no banned device after the sim: %r" % raw[:300])
    nav(c, "Devices")
    Select(c.d.find_element(By.NAME, "state")).select_by_value("banned")
    wait(c, lambda d: len(d.find_elements(By.CSS_SELECTOR, "a.devid")) == 1, "one banned device")
    link = c.d.find_element(By.CSS_SELECTOR, "a.devid")
    banned_id = link.text
    link.click()
    btn = wait(c, EC.element_to_be_clickable((By.XPATH, "//button[normalize-space()='Unban']")), "the Unban button")
    text_in(c, ".details", "Banned")
    shot(c, "08-device-banned")
    btn.click()
    wait(c, lambda d: not d.find_elements(By.XPATH, "//button[normalize-space()='Unban']"), "Unban to disappear")
    st, obj, _ = c.srv.admin("GET", "/admin/v1/devices/" + banned_id)
    check(st == 200 and obj["banned"] is False, "device still banned on the server: %r" % obj)
    text_in(c, ".timeline", "operator: unban")


@suite.case
def rollout(c):
    pkg = luatbin.build(luatbin.script_image(20000, seed=9))
    st, obj, raw = c.srv.upload(c.key, pkg, "2012.001.003", filename="update_v3.bin")
    check(st == 201, "upload v3: %s %r" % (st, raw))
    nav(c, "Rollouts")
    sel = Select(wait(c, EC.presence_of_element_located((By.NAME, "package")), "the package select"))
    sel.select_by_value(str(obj["id"]))
    stages = c.d.find_element(By.NAME, "stages")
    stages.clear()
    stages.send_keys("50,100")
    c.d.find_element(By.NAME, "test_devices").send_keys(c.dev)
    c.d.find_element(By.CSS_SELECTOR, "form.grid-form button[type=submit]").click()
    card = wait(c, EC.presence_of_element_located((By.CSS_SELECTOR, "[data-rollout]")), "the rollout card")
    rid = card.get_attribute("data-rollout")
    text_in(c, "[data-rollout='%s']" % rid, "Running")
    text_in(c, "[data-rollout='%s']" % rid, "Current stage: test")
    # from the test stage to 50 %
    wait(c, EC.element_to_be_clickable((By.XPATH, "//button[normalize-space()='Promote']")), "Promote").click()
    wait(c, lambda d: "Current stage: 50%" in d.find_element(By.CSS_SELECTOR, "[data-rollout='%s']" % rid).text,
         "stage 50%")
    sim(c, "2012.001.002", 50, 1, expect="any")
    # the page refreshes itself: upgraded devices appear in the 50% stage
    wait(c, lambda d: any(int(e.text or 0) > 0 for e in d.find_elements(By.CSS_SELECTOR,
                                                                         "[data-rollout='%s'] .n-upgraded" % rid)),
         "upgraded devices in the rollout", timeout=30)
    st, r, _ = c.srv.admin("GET", "/admin/v1/rollouts/" + rid)
    check(r["stages"][1]["devices"]["succeeded"] > 0, "server shows no succeeded device: %r" % r["stages"])
    shot(c, "09-rollouts")
    wait(c, EC.element_to_be_clickable((By.XPATH, "//button[normalize-space()='Pause']")), "Pause").click()
    text_in(c, "[data-rollout='%s']" % rid, "Paused")
    wait(c, EC.element_to_be_clickable((By.XPATH, "//button[normalize-space()='Resume']")), "Resume").click()
    text_in(c, "[data-rollout='%s']" % rid, "Running")


@suite.case
def files_page(c):
    nav(c, "Files")
    path = os.path.join(c.tmp, "config.txt")
    with open(path, "w") as f:
        f.write("hello devices\n")
    c.d.find_element(By.NAME, "static-file").send_keys(path)
    c.d.find_element(By.CSS_SELECTOR, "form.grid-form button[type=submit]").click()
    text_in(c, ".result", "File config.txt stored")
    text_in(c, "table", "/download/config.txt")
    shot(c, "10-files")


@suite.case
def overview_after(c):
    nav(c, "Overview")
    wait(c, lambda d: d.find_elements(By.CSS_SELECTOR, ".stat"), "the overview counters")
    text_in(c, ".stats", "51")
    time.sleep(0.5)
    shot(c, "11-overview")


STATS_STUB = """
(() => {
  const real = window.fetch;
  window.fetch = function (u, o) {
    if (String(u) === '/admin/v1/stats') {
      const now = Math.floor(Date.now() / 1000), t0 = now - now % 60 - 59 * 60;
      const minutes = Array.from({length: 60}, (_, i) => ({t: t0 + 60 * i, checks: 20 + (i * 7) % 13,
        deliveries: (i * 3) % 5, failed: i % 17 === 0 ? 1 : 0, cut: i % 23 === 0 ? 1 : 0}));
      const body = {now, minutes, devices: {total: 51, banned: 0, forbidden: 0, failed: 1},
        versions: [{project: 'K', firmware: 'FOTA2_DEMO_LuatOS-SoC_Air780EHV', version: '2012.001.003', devices: 27},
                   {project: 'K', firmware: 'FOTA2_DEMO_LuatOS-SoC_Air780EHV', version: '2012.001.002', devices: 23},
                   {project: 'K', firmware: 'FOTA2_DEMO_LuatOS-SoC_Air780EHV', version: '2012.001.001', devices: 1}]};
      return Promise.resolve(new Response(JSON.stringify(body), {status: 200, headers: {'Content-Type': 'application/json'}}));
    }
    return real.apply(this, arguments);
  };
})();
"""


@suite.case
def overview_charts(c):
    """The charts of GET /admin/v1/stats (the contract's shape); when the
    server has no such endpoint the browser is given a stand-in answer."""
    st, _, _ = c.srv.admin("GET", "/admin/v1/stats")
    sid = None
    if st == 404:
        sid = c.d.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": STATS_STUB})["identifier"]
    try:
        c.d.get(c.srv.url + "/#/overview")
        c.d.refresh()
        wait(c, lambda d: len(d.find_elements(By.CSS_SELECTOR, ".uplot")) == 2, "two charts")
        text_in(c, ".stats", "Checks (last hour)")
        shot(c, "11b-overview-charts")
    finally:
        if sid:
            c.d.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument", {"identifier": sid})


@suite.case
def chinese(c):
    c.d.execute_script("localStorage.setItem('openfota.lang', 'zh-CN')")
    c.d.get(c.srv.url + "/#/devices")
    c.d.refresh()
    text_in(c, "nav", "设备")
    text_in(c, ".pager", "共")
    shot(c, "12-devices-zh")
    c.d.execute_script("localStorage.setItem('openfota.lang', 'en')")


@suite.case
def logout(c):
    c.d.get(c.srv.url + "/#/overview")
    wait(c, EC.element_to_be_clickable((By.ID, "logout")), "the logout button").click()
    wait(c, EC.presence_of_element_located((By.NAME, "token")), "the login page after logout")
    c.d.get(c.srv.url + "/")
    wait(c, EC.presence_of_element_located((By.NAME, "token")), "the login page")
    check(c.requests > 0, "no request seen in the performance log")
    check_logs(c)


def main():
    if len(sys.argv) < 3:
        print("usage: console_e2e.py /path/to/openfota SHOTS_DIR", file=sys.stderr)
        return 2
    c = Ctx()
    c.shots = sys.argv[2]
    os.makedirs(c.shots, exist_ok=True)
    c.tmp = tempfile.mkdtemp(prefix="openfota-console-")
    c.errors, c.requests = [], 0
    c.expected_failures = ["/admin/v1/stats"]  # answered 404 by a server without the stats endpoint
    c.srv = Server(sys.argv[1])
    rc = 1
    c.d = None
    try:
        c.srv.start()
        c.d = browser(os.path.join(c.tmp, "profile"))
        rc = suite.run(c)
    except Failure as e:
        print("FAIL setup: %s" % e)
    finally:
        if c.d:
            c.d.quit()
        code = c.srv.stop()
        if code not in (0, None):
            print("FAIL server exited with %s; log:\n%s" % (code, c.srv.log_text()))
            rc = 1
        if rc:
            print("---- server log (tail) ----\n" + c.srv.log_text())
        c.srv.cleanup()
        shutil.rmtree(c.tmp, ignore_errors=True)
    print("screenshots in %s" % c.shots)
    return rc


if __name__ == "__main__":
    sys.exit(main())

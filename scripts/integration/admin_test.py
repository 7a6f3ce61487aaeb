#!/usr/bin/env python3
"""The admin page driven by headless Chromium (selenium + chromedriver), against the real causeway binary on
a temporary copy of the demo configuration plus a REST connector whose upstream (a small Python HTTP server
started here) is stopped and started again. Asserts on the DOM; no screenshots.

Checks: sign-in form; master key sign-in; every connector shown as up; no console errors; the purge button
empties the demo connector's cache; the REST connector shown failing while its upstream is down and
answering again once it is back (through the page's own auto-refresh); the failed request in the error list
with its request id; hostile text shown as text; `causeway check` from its button; a user without the admin
role refused with 403; a member of the admin role let in; no horizontal overflow at laptop and phone widths.
Prints 'integration admin: N passed' or exits non-zero."""
import json, os, shutil, socket, subprocess, sys, time, urllib.error, urllib.parse, urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness

binary = os.path.abspath(sys.argv[1])
work = harness.demo_copy("causeway-admin-")
MASTER = "admin-test-master-key-0123"
procs = []
free_port = harness.free_port
suite = harness.Suite("admin")
check = suite.check


# The demo's local accounts: "opsadmin" gets the role Ops, which is the admin role.
config_path = os.path.join(work, "Config", "causeway.yaml")
text = open(config_path).read()
marker = "    defaultRoles: [Employee]\n"
assert marker in text, "the demo configuration changed: update admin_test.py"
text = text.replace(marker, marker + "    roles: { opsadmin: [Ops] }\n", 1) + "\nadmin:\n  path: /admin\n  role: Ops\n"
open(config_path, "w").write(text)

upstream_port = free_port()
open(os.path.join(work, "Connectors", "tickets.yaml"), "w").write(f"""kind: rest
connection:
  baseURL: http://127.0.0.1:{upstream_port}
  connectTimeoutSeconds: 1
  requestTimeoutSeconds: 3
  retries: 0
collections:
  Ticket:
    list: /tickets
    get: /tickets/{{objectId}}
    records: items
    objectId: {{ column: id, type: integer }}
    fields:
      title: {{ type: string }}
""")

UPSTREAM = r"""
import http.server, json, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        items = [{"id": 1, "title": "Printer jam"}, {"id": 2, "title": "VPN <b>down</b>"}]
        if self.path.startswith("/tickets/"):
            body = json.dumps(items[0]).encode()
        else:
            body = json.dumps({"items": items}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
"""


def start_upstream():
    p = subprocess.Popen([sys.executable, "-c", UPSTREAM, str(upstream_port)])
    procs.append(p)
    for _ in range(100):
        try:
            with socket.create_connection(("127.0.0.1", upstream_port), timeout=1):
                return p
        except OSError:
            time.sleep(0.05)
    raise SystemExit("admin FAILED: the test upstream did not start")


def stop(p):
    harness.stop_process(p, wait=20)


port = free_port()
env = dict(os.environ, CAUSEWAY_PORT=str(port), CAUSEWAY_MASTER_KEY=MASTER, CAUSEWAY_LOG_LEVEL="warning")
base = f"http://127.0.0.1:{port}"
HEADERS = {"X-Parse-Application-Id": "causeway-demo", "Content-Type": "application/json"}


def call(method, path, body=None, extra=None):
    return harness.request(method, base + path, body, {**HEADERS, **(extra or {})})


driver = None
upstream = None
log = open(os.path.join(work, "causeway.log"), "wb")
try:
    upstream = start_upstream()
    server = subprocess.Popen([binary, "serve", "--config", config_path], env=env, stdout=log, stderr=subprocess.STDOUT)
    procs.append(server)
    check(harness.wait_healthy(base + "/parse/health", headers=HEADERS), "the gateway became healthy")

    status, _, body = call("GET", "/parse/classes/Ticket")
    check(status == 200 and len(json.loads(body)["results"]) == 2, f"tickets through the REST connector: {status} {body[:200]}")
    for user in ["ann", "opsadmin"]:
        status, _, body = call("POST", "/parse/users", {"username": user, "password": "long enough pass"})
        check(status == 201, f"sign-up of {user}: {body[:200]}")

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for arg in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1366,900",
                f"--user-data-dir={work}/chrome-profile"]:
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"), options=options)
    driver.set_page_load_timeout(30)
    wait = WebDriverWait(driver, 30)

    def console_errors():
        return [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]

    def card(name):
        return driver.find_element(By.CSS_SELECTOR, f'article.connector[data-connector="{name}"]')

    def no_overflow():
        return driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth + 1")

    # Signed out: only the sign-in forms.
    driver.get(base + "/admin")
    check(len(driver.find_elements(By.ID, "login-master")) == 1 and len(driver.find_elements(By.CSS_SELECTOR, "article.connector")) == 0,
          "the sign-in form, and no data, when signed out")

    # The master key, typed once.
    driver.find_element(By.CSS_SELECTOR, "#login-master input[name=masterKey]").send_keys(MASTER)
    driver.find_element(By.CSS_SELECTOR, "#login-master button").click()
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "article.connector"))
    check(card("demo").get_attribute("data-state") == "up" and card("tickets").get_attribute("data-state") == "up",
          "both connectors shown as up")
    check(card("tickets").get_attribute("data-health") == "ok", "the REST connector's source answering")
    check("Workstation" in card("demo").text and "Ticket" in card("tickets").text, "each connector lists its classes")
    check(card("tickets").find_element(By.CSS_SELECTOR, "dd.pool").text.endswith("/ 16"), "the REST connector's pool use (of maxConcurrency 16)")
    check(len(driver.find_elements(By.CSS_SELECTOR, "article.connector svg polyline, article.connector svg circle")) > 0, "charts drawn")
    errors = console_errors()
    check(errors == [], f"no console errors on the dashboard: {errors}")
    check(no_overflow(), "no horizontal overflow at 1366 px")

    # Purge: two reads make one cached answer; the button empties it.
    call("GET", "/parse/classes/Workstation")
    status, headers, _ = call("GET", "/parse/classes/Workstation")
    check(headers.get("X-Causeway-Cache") == "hit", f"a cached answer before the purge: {headers}")
    driver.get(base + "/admin")
    entries = int(card("demo").find_element(By.CSS_SELECTOR, "dd.cache-entries").text)
    check(entries >= 1, f"the page shows the cached entries ({entries})")
    card("demo").find_element(By.CSS_SELECTOR, "form.purge button").click()
    wait.until(lambda d: d.find_elements(By.ID, "notice"))
    check("Purged" in driver.find_element(By.ID, "notice").text, "the purge is confirmed")
    check(card("demo").find_element(By.CSS_SELECTOR, "dd.cache-entries").text == "0", "no cached entries after the purge")
    status, headers, _ = call("GET", "/parse/classes/Workstation")
    check(headers.get("X-Causeway-Cache") == "miss", f"the next read goes to the source: {headers}")
    status, _, metrics = call("GET", "/metrics", extra={"X-Parse-Master-Key": MASTER})
    check(status == 200 and b'causeway_cache_hits_total{' in metrics, "the purge and hits are visible in /metrics")

    # The upstream goes down: the page (auto-refreshing, not reloaded here) shows the connector failing.
    driver.get(base + "/admin")
    stop(upstream)
    status, _, body = call("GET", "/parse/classes/Ticket")
    check(status >= 500 and json.loads(body).get("code") in (100, 124), f"a read while the upstream is down fails cleanly: {status} {body[:200]}")
    WebDriverWait(driver, 30).until(lambda d: card("tickets").get_attribute("data-health") == "failing")
    check("source failing since" in card("tickets").text, "the failing connector says since when and why")
    rows = [r for r in driver.find_elements(By.CSS_SELECTOR, "#errors tr.error-row") if "/parse/classes/Ticket" in r.text]
    check(rows and rows[0].find_element(By.CSS_SELECTOR, "td.rid").text.strip() != "", "the failed request is listed with its request id")
    check(int(card("tickets").find_element(By.CSS_SELECTOR, "dd.source-errors").text) >= 1, "source errors counted")

    # Back up: the page shows it answering again.
    upstream = start_upstream()
    status, _, _ = call("GET", "/parse/classes/Ticket")
    check(status == 200, "reads work again once the upstream is back")
    WebDriverWait(driver, 30).until(lambda d: card("tickets").get_attribute("data-health") == "ok")
    check("source failing" not in card("tickets").text, "the connector shown answering again")
    errors = console_errors()
    check(errors == [], f"no console errors across the auto-refreshes: {errors}")

    # Hostile text from a request is shown as text, never markup.
    call("GET", "/parse/classes/%3Cimg%20src%3Dx%20id%3Dinjected%3E")
    driver.get(base + "/admin")
    check(driver.find_elements(By.ID, "injected") == [] and "<img src=x id=injected>" in driver.find_element(By.ID, "errors").text,
          "an error text with markup is shown escaped")

    # causeway check from its button.
    driver.find_element(By.CSS_SELECTOR, "#check form button").click()
    wait.until(lambda d: d.find_elements(By.ID, "check-result"))
    result = driver.find_element(By.ID, "check-result").text
    check("check passed" in result or "problem" in result, f"the check ran: {result}")
    check("connector demo (sqlite)" in driver.find_element(By.ID, "check").text, "the check lists each connector")

    # Phone width: everything stacks, nothing overflows.
    driver.set_window_size(390, 844)
    driver.get(base + "/admin")
    check(no_overflow(), "no horizontal overflow at 390 px")
    left = [c.location["x"] for c in driver.find_elements(By.CSS_SELECTOR, "article.connector")]
    check(len(set(left)) == 1, f"connector cards stack in one column on a phone: {left}")
    driver.set_window_size(1366, 900)

    # Sign out; a user without the admin role is refused.
    driver.find_element(By.CSS_SELECTOR, "form.logout button").click()
    wait.until(lambda d: d.find_elements(By.ID, "login-user"))
    driver.find_element(By.CSS_SELECTOR, "#login-user input[name=username]").send_keys("ann")
    driver.find_element(By.CSS_SELECTOR, "#login-user input[name=password]").send_keys("long enough pass")
    driver.find_element(By.CSS_SELECTOR, "#login-user button").click()
    wait.until(lambda d: d.find_elements(By.ID, "refused"))
    check("not a member of the admin role Ops" in driver.find_element(By.ID, "refused").text
          and driver.find_elements(By.CSS_SELECTOR, "article.connector") == [], "a non-admin sees the refusal and no data")
    driver.get_log("browser")  # the 403 itself is logged by the browser as a failed load
    form = urllib.parse.urlencode({"username": "ann", "password": "long enough pass"}).encode()
    try:
        urllib.request.urlopen(urllib.request.Request(base + "/admin/login", data=form, method="POST"), timeout=20)
        refused = 200
    except urllib.error.HTTPError as e:
        refused = e.code
    check(refused == 403, f"the refusal is a 403: {refused}")

    # A member of the admin role is let in.
    driver.delete_all_cookies()
    driver.get(base + "/admin")
    driver.find_element(By.CSS_SELECTOR, "#login-user input[name=username]").send_keys("opsadmin")
    driver.find_element(By.CSS_SELECTOR, "#login-user input[name=password]").send_keys("long enough pass")
    driver.find_element(By.CSS_SELECTOR, "#login-user button").click()
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "article.connector"))
    check("signed in as opsadmin" in driver.find_element(By.CSS_SELECTOR, "header .meta").text, "the admin role's member is signed in")
    errors = console_errors()
    check(errors == [], f"no console errors for the role member: {errors}")
except SystemExit:
    raise
except Exception as e:  # a selenium timeout or an unexpected page: fail with what is known
    print(f"admin FAILED: {type(e).__name__}: {e}", file=sys.stderr)
    log.flush()
    print(open(os.path.join(work, "causeway.log"), errors="replace").read()[-3000:], file=sys.stderr)
    sys.exit(1)
finally:
    if driver is not None:
        driver.quit()
    for p in reversed(procs):
        stop(p)
    log.close()
    shutil.rmtree(work, ignore_errors=True)

suite.done()

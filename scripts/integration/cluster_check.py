#!/usr/bin/env python3
"""The cluster suite's driver (see cluster.sh): two `causeway serve` processes sharing a PostgreSQL metadata
store and a PostgreSQL connector, haproxy in front, all on loopback ports in a mktemp folder. Every process
it starts is ended by its pid. Last line: 'integration cluster: N passed'."""
import atexit, http.client, json, os, shutil, signal, subprocess, sys, tempfile, threading, time, urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness

binary = os.path.abspath(sys.argv[1])
pg = harness.Postgres("cluster", "causeway_cluster_")
env_pg, database, sql = pg.env, pg.database, pg.sql
work = tempfile.mkdtemp(prefix="causeway-cluster-")
processes = {}      # name -> Popen


def stop(name, sig=signal.SIGTERM, wait=30):
    return harness.stop_process(processes.pop(name, None), sig, wait)


def cleanup():
    for name in list(processes):
        stop(name, signal.SIGKILL, 10)
    pg.drop_database("cluster")
    shutil.rmtree(work, ignore_errors=True)


# Also on an unexpected exception (a node that died, a psql error): nothing started here outlives the suite.
atexit.register(cleanup)


def report(what):
    for name in ("A", "B"):
        log = os.path.join(work, f"{name}.log")
        if os.path.exists(log):
            with open(log) as f:
                print(f"--- node {name} log (tail) ---\n" + "".join(f.readlines()[-25:]), file=sys.stderr)
    cleanup()


suite = harness.Suite("cluster", on_fail=report, echo=True)
check, fail, free_port = suite.check, suite.fail, harness.free_port

APP = "causeway-cluster"
MASTER_KEY = "cluster-master-key-" + os.urandom(8).hex()
ports = {"A": free_port(), "B": free_port(), "LB": free_port()}


def call(port, method, path, body=None, token=None, timeout=10, extra=None):
    headers = {"X-Parse-Application-Id": APP, "Content-Type": "application/json", **(extra or {})}
    if token:
        headers["X-Parse-Session-Token"] = token
    status, headers, raw = harness.request(method, f"http://127.0.0.1:{port}{path}", body, headers, timeout)
    try:
        return status, harness.json_or_null(raw), headers
    except ValueError:
        if status < 400:
            raise
        return status, {"raw": raw[:200].decode(errors="replace")}, headers   # haproxy's own 502/503 pages


def wait_ready(port, limit=60):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            status, body, _ = call(port, "GET", "/parse/health/ready", timeout=2)
            if status == 200:
                return True
        except OSError:
            pass
        time.sleep(0.1)
    return False


def within(seconds, probe, step=0.02):
    """Polls `probe` until it is true; returns the elapsed seconds, or None past `seconds`."""
    started = time.monotonic()
    while True:
        if probe():
            return time.monotonic() - started
        if time.monotonic() - started > seconds:
            return None
        time.sleep(step)


# --- set-up: a database, two nodes' configuration, the connector ---------------------------------------
pg.create_database(fail)
sql("CREATE TABLE desks (id text PRIMARY KEY, name text NOT NULL, floor integer NOT NULL)")
sql("INSERT INTO desks VALUES ('d1', 'Harbour 1', 1), ('d2', 'Harbour 2', 2)")

secret = pg.password_file(work)
os.makedirs(os.path.join(work, "Connectors"))
connection = f"""  host: {env_pg['HOST']}
  port: {env_pg['PORT']}
  database: {database}
  user: {env_pg['USER']}
  password: ${{file:{secret}}}
"""
with open(os.path.join(work, "Connectors", "desks.yaml"), "w") as f:
    f.write(f"""kind: postgres
connection:
{connection}  poolSize: 4
cache:
  ttlSeconds: 300
collections:
  Desk:
    schema: public
    table: desks
    objectId: {{ column: id, type: string }}
    fields:
      name: {{ type: string }}
      floor: {{ type: number }}
""")
for name in ("A", "B"):
    with open(os.path.join(work, f"causeway-{name}.yaml"), "w") as f:
        f.write(f"""server:
  host: 127.0.0.1
  port: {ports[name]}
  mountPath: /parse
  startupWaitSeconds: 30
  shutdownDelaySeconds: 1
  drainSeconds: 10
  trustedProxies: [127.0.0.1]
app:
  applicationId: {APP}
  masterKey: {MASTER_KEY}
metadataStore:
  postgres:
{connection.replace('  ', '    ', 5)}    schema: causeway
    nodeId: node-{name}
identityProviders:
  - name: local
    kind: local
    signUp: true
loginThrottle: {{ maxFailuresPerUser: 4, maxFailuresPerAddress: 6, windowSeconds: 300 }}
logging:
  level: notice
connectorsDirectory: Connectors
""")


def start(name):
    log = open(os.path.join(work, f"{name}.log"), "a")
    processes[name] = subprocess.Popen([binary, "serve", "--config", os.path.join(work, f"causeway-{name}.yaml")],
                                       stdout=log, stderr=subprocess.STDOUT, cwd=work)
    return processes[name]


out = subprocess.run([binary, "check", "--config", os.path.join(work, "causeway-A.yaml")], capture_output=True, text=True, timeout=120, cwd=work)
check(out.returncode == 0 and "schema causeway is missing" in out.stdout, f"check reports the missing schema before the first start: {out.stdout}{out.stderr}")

# Both nodes start at once on the empty schema: one migrates, the other waits for its advisory lock.
start("A"); start("B")
check(wait_ready(ports["A"]) and wait_ready(ports["B"]), "both nodes start at once on one empty schema and become ready")
check(sql("SELECT string_agg(version::text, ',' ORDER BY version) FROM causeway.schema_migrations") == "1,2,3", "each migration ran once")
out = subprocess.run([binary, "check", "--config", os.path.join(work, "causeway-A.yaml")], capture_output=True, text=True, timeout=120, cwd=work)
check(out.returncode == 0 and "(current)" in out.stdout, f"check reports the current schema: {out.stdout}")
out = subprocess.run([binary, "check", "--json", "--config", os.path.join(work, "causeway-A.yaml")], capture_output=True, text=True, timeout=120, cwd=work)
store_findings = [f for f in json.loads(out.stdout or "{}").get("findings", []) if f.get("component") == "metadata store"]
check(out.returncode == 0 and [f["severity"] for f in store_findings] == ["ok"], f"check --json reports the store's schema: {out.stdout[-600:]}")

status, body, _ = call(ports["A"], "GET", "/parse/health/live")
check(status == 200 and body == {"status": "alive"}, f"liveness: {status} {body}")

# --- haproxy in front ---------------------------------------------------------------------------------
haproxy_bin = shutil.which("haproxy") or "/usr/sbin/haproxy"
with open(os.path.join(work, "haproxy.cfg"), "w") as f:
    f.write(f"""global
    maxconn 1000
defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    retries 3
    option redispatch
    retry-on conn-failure
frontend parse
    bind 127.0.0.1:{ports['LB']}
    default_backend gateways
backend gateways
    balance roundrobin
    option forwardfor
    option httpchk GET /parse/health/ready
    http-check expect status 200
    server A 127.0.0.1:{ports['A']} check inter 300ms fall 2 rise 2
    server B 127.0.0.1:{ports['B']} check inter 300ms fall 2 rise 2
""")
processes["haproxy"] = subprocess.Popen([haproxy_bin, "-db", "-f", os.path.join(work, "haproxy.cfg")],
                                        stdout=open(os.path.join(work, "haproxy.log"), "w"), stderr=subprocess.STDOUT)
check(wait_ready(ports["LB"], 20), "haproxy answers readiness through the nodes")

# --- sessions --------------------------------------------------------------------------------------------
status, body, _ = call(ports["A"], "POST", "/parse/users", {"username": "ada", "password": "correct horse"})
check(status == 201 and "sessionToken" in body, f"sign-up on A: {status} {body}")
token = body["sessionToken"]
status, me, _ = call(ports["B"], "GET", "/parse/users/me", token=token)
check(status == 200 and me.get("username") == "ada", f"a session made on A works on B: {status} {me}")
status, _, _ = call(ports["B"], "GET", "/parse/users/me", token=token)   # B now holds it in memory
status, _, _ = call(ports["A"], "POST", "/parse/logout", {}, token=token)
check(status == 200, "logout on A")
elapsed = within(1.0, lambda: call(ports["B"], "GET", "/parse/users/me", token=token)[0] != 200)
check(elapsed is not None and call(ports["B"], "GET", "/parse/users/me", token=token)[1].get("code") == 209,
      f"the logout on A is refused on B within 1 s (took {elapsed})")

# --- caches ------------------------------------------------------------------------------------------------
def desk_floor(port, desk="d1"):
    where = urllib.parse.quote(json.dumps({"objectId": desk}))
    status, body, headers = call(port, "GET", f"/parse/classes/Desk?where={where}")
    for o in body.get("results", []):
        if o["objectId"] == desk:
            return o["floor"], headers.get("X-Causeway-Cache")
    return None, headers.get("X-Causeway-Cache")


desk_floor(ports["B"])
floor, cache = desk_floor(ports["B"])
check(floor == 1 and cache == "hit", f"B serves the desk list from its cache ({floor}, {cache})")
status, _, _ = call(ports["A"], "PUT", "/parse/classes/Desk/d1", {"floor": 5})
check(status == 200, "update through A")
elapsed = within(1.0, lambda: desk_floor(ports["B"])[0] == 5)
check(elapsed is not None, f"the write on A removed B's cached answer within 1 s (took {elapsed})")

# --- throttling across nodes -----------------------------------------------------------------------------
status, _, _ = call(ports["B"], "POST", "/parse/users", {"username": "bob", "password": "right password"})
codes = []
for i, node in enumerate(["A", "B", "A", "B"]):
    codes.append(call(ports[node], "POST", "/parse/login", {"username": "bob", "password": f"guess {i}"})[1].get("code"))
check(codes == [101, 101, 101, 101], f"four wrong passwords over both nodes: {codes}")
after = [call(ports[n], "POST", "/parse/login", {"username": "bob", "password": "right password"})[1].get("code") for n in ("A", "B")]
check(after == [155, 155], f"the shared limit holds on both nodes, even for the right password: {after}")

# --- behind haproxy: each client is the address X-Forwarded-For names (server.trustedProxies) -------------
# haproxy appends the address it saw (127.0.0.1, trusted) to what the client sent; the nodes skip trusted hops
# from the right, so the client is 198.51.100.7 or .8. Without trustedProxies every client behind haproxy
# is 127.0.0.1 and one client's wrong passwords (6 per address here) lock out everyone else.
status, _, _ = call(ports["LB"], "POST", "/parse/users", {"username": "carol", "password": "carol's password"})
check(status == 201, f"sign-up of carol through haproxy: {status}")
X, Y = {"X-Forwarded-For": "198.51.100.7"}, {"X-Forwarded-For": "198.51.100.8"}
codes = [call(ports["LB"], "POST", "/parse/login", {"username": f"nobody{i}", "password": "guess"}, extra=X)[1].get("code")
         for i in range(6)]
check(codes == [101] * 6, f"client X: six wrong logins for six names through haproxy: {codes}")
status, body, _ = call(ports["LB"], "POST", "/parse/login", {"username": "carol", "password": "carol's password"}, extra=X)
check(body.get("code") == 155, f"client X is throttled by its own address, even with the right password: {status} {body}")
status, body, _ = call(ports["LB"], "POST", "/parse/login", {"username": "carol", "password": "carol's password"}, extra=Y)
check(status == 200 and "sessionToken" in body, f"client Y behind the same haproxy is not: {status} {body}")
status, body, _ = call(ports["LB"], "POST", "/parse/login", {"username": "carol", "password": "carol's password"})
check(status == 200, f"nor a client that sends no X-Forwarded-For (its address is haproxy's peer, 127.0.0.1): {status} {body}")

# --- the admin page behind haproxy: a sign-in on one node holds on the other ------------------------------
def admin(port, method, path, form=None, cookie=None):
    """(status, Set-Cookie, page) of one admin-page request on its own connection; redirects are not followed."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Content-Type": "application/x-www-form-urlencoded"} if form is not None else {}
    if cookie:
        headers["Cookie"] = cookie
    conn.request(method, path, body=urllib.parse.urlencode(form) if form is not None else None, headers=headers)
    r = conn.getresponse()
    page = r.read().decode(errors="replace")
    conn.close()
    return r.status, r.getheader("Set-Cookie"), page


status, set_cookie, _ = admin(ports["LB"], "POST", "/admin/login", {"masterKey": MASTER_KEY})
check(status == 303 and set_cookie and set_cookie.startswith("causeway_admin="), f"master-key sign-in on the admin page through haproxy: {status} {set_cookie}")
admin_cookie = (set_cookie or "").split(";")[0]
pages = [admin(port, "GET", "/admin/", cookie=admin_cookie) for port in (ports["A"], ports["B"], ports["LB"], ports["LB"], ports["LB"], ports["LB"])]
check(all(p[0] == 200 and 'data-connector="desks"' in p[2] for p in pages),
      f"the sign-in holds on node A, node B and every request through haproxy: {[(p[0], 'data-connector' in p[2]) for p in pages]}")
status, _, _ = admin(ports["B"], "POST", "/admin/logout", {}, cookie=admin_cookie)
status, _, page = admin(ports["A"], "GET", "/admin/", cookie=admin_cookie)
check(status == 200 and 'id="login-master"' in page and "data-connector" not in page, "signed out on B, the cookie is nobody on A")

# --- SIGKILL during a stream of writes through haproxy ---------------------------------------------------
acked, failures, lock = [], [], threading.Lock()
stop_writing = threading.Event()
killed_at = []


def writer(n):
    i = 0
    while not stop_writing.is_set():
        i += 1
        try:
            status, body, _ = call(ports["LB"], "POST", "/parse/classes/Desk", {"name": f"w{n}-{i}", "floor": i}, timeout=10)
            with lock:
                if status == 201:
                    acked.append((body["objectId"], time.monotonic()))
                else:
                    failures.append(status)
        except OSError as e:
            with lock:
                failures.append(str(e))


threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
for t in threads:
    t.start()
time.sleep(1.0)
killed = processes.pop("A")
killed.send_signal(signal.SIGKILL)
killed.wait()
killed_at.append(time.monotonic())
time.sleep(2.0)
stop_writing.set()
for t in threads:
    t.join()
after_kill = [a for a in acked if a[1] > killed_at[0] + 0.5]
ids = [a[0] for a in acked]
stored = set(sql("SELECT id FROM desks").split())
missing = [i for i in ids if i not in stored]
check(len(ids) > 20 and not missing, f"no acknowledged write lost: {len(ids)} acknowledged, {len(missing)} missing, {len(failures)} refused or cut")
check(len(after_kill) > 5, f"B kept serving writes after A was killed ({len(after_kill)} acknowledged)")

# --- the killed node restarts and rejoins -------------------------------------------------------------------
start("A")
check(wait_ready(ports["A"]), "A restarts and is ready")
status, body, _ = call(ports["B"], "POST", "/parse/login", {"username": "ada", "password": "correct horse"})
token = body.get("sessionToken")
check(status == 200 and call(ports["A"], "GET", "/parse/users/me", token=token)[0] == 200, "a session made on B works on the restarted A")
desk_floor(ports["A"])
check(desk_floor(ports["A"])[1] == "hit", "A caches again")
status, _, _ = call(ports["B"], "PUT", "/parse/classes/Desk/d1", {"floor": 6})
check(status == 200, "update through B")
elapsed = within(1.0, lambda: desk_floor(ports["A"])[0] == 6)
check(elapsed is not None, f"A hears B's writes again: its cached answer went within 1 s (took {elapsed})")
elapsed = within(10.0, lambda: call(ports["LB"], "GET", "/parse/health/ready")[0] == 200 and
                 sum(1 for _ in range(4) if call(ports["LB"], "GET", "/parse/classes/Desk?limit=1")[0] == 200) == 4)
check(elapsed is not None, "haproxy serves through both nodes again")

# --- SIGTERM: readiness fails first, then the node drains and exits cleanly ---------------------------------
processes["B"].send_signal(signal.SIGTERM)
elapsed = within(1.0, lambda: call(ports["B"], "GET", "/parse/health/ready")[1] == {"status": "draining"})
check(elapsed is not None, f"SIGTERM: B's readiness answers 503 draining at once (took {elapsed})")
check(call(ports["B"], "GET", "/parse/health/live")[0] == 200, "while draining, B is still alive and answering")
code = processes["B"].wait(timeout=30)
processes.pop("B")
check(code == 0, f"B exits cleanly after draining (exit {code})")
check(all(call(ports["LB"], "GET", "/parse/classes/Desk?limit=1")[0] == 200 for _ in range(6)), "haproxy keeps serving through A alone")

cleanup()
suite.done()

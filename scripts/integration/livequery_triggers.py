#!/usr/bin/env python3
"""The livequery_triggers suite's driver (see livequery_triggers.sh): a database of its own on the
CAUSEWAY_TEST_PG_* server, `causeway live-triggers` (printed, then --apply), `causeway serve` on a loopback
port with a PostgreSQL collection fed by triggers, WebSocket clients, and changes made with psql. Every
process it starts is ended by its pid. Last line: 'integration livequery_triggers: N passed'."""
import asyncio, atexit, json, os, re, shutil, subprocess, sys, tempfile, urllib.request

from websockets.asyncio.client import connect as ws_connect

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness

binary = os.path.abspath(sys.argv[1])
pg = harness.Postgres("livequery_triggers", "causeway_lqt_", app_name="another-application")
env_pg, database, sql = pg.env, pg.database, pg.sql
work = tempfile.mkdtemp(prefix="causeway-lqt-")
server = None
APP = "causeway-lqt"
MASTER = "lqt-master-" + os.urandom(8).hex()


def cleanup():
    harness.stop_process(server)
    pg.drop_database("livequery_triggers")
    shutil.rmtree(work, ignore_errors=True)


atexit.register(cleanup)


def report(what):
    log = os.path.join(work, "server.log")
    if os.path.exists(log):
        with open(log) as f:
            print("--- server log (tail) ---\n" + "".join(f.readlines()[-30:]), file=sys.stderr)


suite = harness.Suite("livequery_triggers", on_fail=report)
check, fail = suite.check, suite.fail
port = harness.free_port()
base = f"http://127.0.0.1:{port}/parse"


def call(method, path, body=None, token=None):
    headers = {"X-Parse-Application-Id": APP, "Content-Type": "application/json"}
    if token:
        headers["X-Parse-Session-Token"] = token
    status, _, raw = harness.request(method, base + path, body, headers)
    if status >= 400:
        return status, harness.json_or_null(raw)
    return status, (json.loads(raw) if raw[:1] in b"{[" else raw.decode())


# --- set-up: the database (rows that exist before the gateway starts), configuration, triggers ----------------
pg.create_database(fail)
sql("CREATE TABLE seats (id text PRIMARY KEY, name text NOT NULL, floor integer NOT NULL, acl jsonb)")
sql("INSERT INTO seats VALUES ('s-old', 'Old', 1, NULL), ('s-up', 'Up', 2, NULL)")

secret = pg.password_file(work)
os.makedirs(os.path.join(work, "Config"))
os.makedirs(os.path.join(work, "Connectors"))
os.makedirs(os.path.join(work, "data"))
with open(os.path.join(work, "Connectors", "seats.yaml"), "w") as f:
    f.write(f"""kind: postgres
connection:
  host: {env_pg['HOST']}
  port: {env_pg['PORT']}
  database: {database}
  user: {env_pg['USER']}
  password: ${{file:{secret}}}
collections:
  Seat:
    schema: public
    table: seats
    objectId: {{ column: id, type: string }}
    acl: {{ column: acl }}
    fields:
      name: {{ type: string }}
      floor: {{ type: number }}
    liveQuery: {{ triggers: true }}
""")
config = os.path.join(work, "Config", "causeway.yaml")
with open(config, "w") as f:
    f.write(f"""server:
  host: 127.0.0.1
  port: {port}
  mountPath: /parse
  shutdownDelaySeconds: 0
  drainSeconds: 5
app:
  applicationId: {APP}
  masterKey: {MASTER}
identityProviders:
  - name: local
    kind: local
    signUp: true
logging:
  level: warning
connectorsDirectory: {os.path.join(work, "Connectors")}
liveQuery:
  classes: [Seat]
""")

out = subprocess.run([binary, "live-triggers", "--config", config, "--connector", "seats"], capture_output=True, text=True, timeout=120, cwd=work)
check(out.returncode == 0 and "CREATE TRIGGER" in out.stdout and "public.seats: Seat" in out.stdout, f"live-triggers prints the SQL: {out.stdout}{out.stderr}")
check(sql("SELECT count(*) FROM pg_trigger WHERE tgname = 'causeway_changes'") == "0", "printing installs nothing")
out = subprocess.run([binary, "live-triggers", "--config", config, "--connector", "seats", "--apply"], capture_output=True, text=True, timeout=120, cwd=work)
check(out.returncode == 0, f"live-triggers --apply: {out.stdout}{out.stderr}")
check(sql("SELECT count(*) FROM pg_trigger WHERE tgname = 'causeway_changes'") == "1", "the trigger is installed")

log = open(os.path.join(work, "server.log"), "a")
server = subprocess.Popen([binary, "serve", "--config", config], stdout=log, stderr=subprocess.STDOUT, cwd=work)
if not harness.wait_healthy(base + "/health", server):
    fail(f"the gateway exited ({server.returncode})" if server.poll() is not None else "the gateway did not become healthy within 60 s")


async def recv(ws, what, timeout=15):
    try:
        return json.loads(await asyncio.wait_for(ws.recv(), timeout))
    except TimeoutError:
        fail(f"no message within {timeout} s while waiting for {what}")


async def expect(ws, who, op, object_id):
    m = await recv(ws, f"{who}: {op} {object_id}")
    check(m.get("op") == op and m.get("object", {}).get("objectId") == object_id, f"{who}'s next message is {op} of {object_id}: {m}")
    return m


async def client(token=None):
    ws = await ws_connect(f"ws://127.0.0.1:{port}/parse", ping_interval=None)
    hello = {"op": "connect", "applicationId": APP}
    if token:
        hello["sessionToken"] = token
    await ws.send(json.dumps(hello))
    m = await recv(ws, "connected")
    check(m.get("op") == "connected", f"connected: {m}")
    return ws


async def subscribe(ws, where, token=None):
    msg = {"op": "subscribe", "requestId": 1, "query": {"className": "Seat", "where": where}}
    if token:
        msg["sessionToken"] = token
    await ws.send(json.dumps(msg))
    m = await recv(ws, "subscribed")
    check(m.get("op") == "subscribed", f"subscribed: {m}")


async def main():
    users = {}
    for name in ("lqt-ada", "lqt-bob"):
        status, body = await asyncio.to_thread(call, "POST", "/users", {"username": name, "password": "correct horse battery"})
        check(status == 201, f"sign-up {name}: {body}")
        users[name] = body
    ada = await client(users["lqt-ada"]["sessionToken"])
    await subscribe(ada, {"floor": 1})
    bob = await client()
    await subscribe(bob, {"floor": 1}, token=users["lqt-bob"]["sessionToken"])   # the subscription's own session
    carol = await client()   # anonymous, upstairs
    await subscribe(carol, {"floor": 2})

    def acl(user):
        return json.dumps({users[user]["objectId"]: {"read": True, "write": True}}).replace("'", "''")

    # Rows another application inserts, each readable by one user only.
    await asyncio.to_thread(sql, f"INSERT INTO seats VALUES ('s-ada', 'Ada''s', 1, '{acl('lqt-ada')}'), ('s-bob', 'Bob''s', 1, '{acl('lqt-bob')}')")
    m = await expect(ada, "ada", "create", "s-ada")
    check(m["object"].get("name") == "Ada's", f"the inserted row's fields: {m}")
    await expect(bob, "bob", "create", "s-bob")

    # Deleted with plain SQL (the trigger sends only the key): the row reaches whoever saw it, and nobody else.
    await asyncio.to_thread(sql, "DELETE FROM seats WHERE id = 's-ada'")
    m = await expect(ada, "ada", "delete", "s-ada")
    check(m["object"].get("name") == "Ada's", f"the delete shows the row as last seen: {m}")
    # A row that existed before the gateway started: remembered when the subscriptions began.
    await asyncio.to_thread(sql, "DELETE FROM seats WHERE id = 's-old'")
    await expect(ada, "ada", "delete", "s-old")
    await expect(bob, "bob", "delete", "s-old")    # bob's next message: ada's row told him nothing
    await asyncio.to_thread(sql, "DELETE FROM seats WHERE id = 's-bob'")
    await expect(bob, "bob", "delete", "s-bob")
    # An update with SQL that moves a row between the queries: enter for one, leave for the other.
    await asyncio.to_thread(sql, "UPDATE seats SET floor = 1 WHERE id = 's-up'")
    m = await expect(ada, "ada", "enter", "s-up")   # ada's next message: bob's row told her nothing
    check(m.get("original", {}).get("floor") == 2 and m["object"].get("floor") == 1, f"enter with the original: {m}")
    m = await expect(carol, "carol", "leave", "s-up")  # carol's first message: nothing on floor 1 reached her
    check(m["object"].get("floor") == 1, f"leave: {m}")
    for ws in (ada, bob, carol):
        await ws.close()
    def metrics():
        req = urllib.request.Request(f"http://127.0.0.1:{port}/metrics", headers={"X-Parse-Master-Key": MASTER})
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.read().decode()
    text = await asyncio.to_thread(metrics)
    check(re.search(r"^causeway_livequery_unrouted_deletes_total\S* 0(\.0)?$", text, re.M) is not None, f"no delete went unrouted: {[l for l in text.splitlines() if 'unrouted' in l]}")
    check(re.search(r'^causeway_livequery_events_total\{event="delete"\} 4(\.0)?$', text, re.M) is not None, "four deletes delivered, in /metrics")


asyncio.run(main())
code = harness.stop_process(server)
check(code == 0, f"clean shutdown (exit {code})")
suite.done()

#!/usr/bin/env python3
"""LiveQuery end to end: the real `causeway` binary on a copy of the demo configuration, driven over
WebSocket by Python `websockets` clients and over REST by urllib. Covers every event type, `fields`,
an ACL change that makes an object leave, a session ended by logout, a slow client being closed
(close code 4002) while a fast one receives everything, a configuration reload (SIGHUP) that ends or
re-filters existing subscriptions and lowers a limit, and the metrics. Prints
'integration livequery: N passed' or exits non-zero."""
import asyncio, json, os, re, shutil, signal, socket, subprocess, sys, time, urllib.error, urllib.request

import websockets
from websockets.asyncio.client import connect as ws_connect

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness

binary = sys.argv[1]
work = harness.demo_copy("causeway-livequery-")
config = os.path.join(work, "Config", "causeway.yaml")
with open(config) as f:
    text = f.read()
# LiveQuery for the demo's two classes, with a small send queue so that a slow client overflows it quickly.
text = re.sub(r"\nliveQuery:\n(  .*\n)*", "\n", text)
# The master key only from listed addresses; behind a trusted proxy (here anything on loopback) the client is
# the address X-Forwarded-For names, on the WebSocket as on REST (server.trustedProxies).
text = text.replace("\nserver:\n", "\nserver:\n  trustedProxies: [127.0.0.1]\n", 1).replace("\napp:\n", "\napp:\n  masterKeyIps: [127.0.0.1, 198.51.100.0/24]\n", 1)
text += "\nliveQuery:\n  classes: [Workstation, Booking, Notice]\n  sendQueueSize: 8\n  maxSubscriptionsPerClient: 5\n  pingIntervalSeconds: 30\n"
with open(config, "w") as f:
    f.write(text)

# A collection that other applications change in the SQLite file directly: LiveQuery polls it.
with open(os.path.join(work, "Connectors", "demo.yaml"), "a") as f:
    f.write("""
  Notice:
    table: notices
    createdAt: created_at
    updatedAt: updated_at
    fields:
      text: { type: string }
    liveQuery:
      poll: { updatedAtField: updatedAt, intervalSeconds: 1 }
""")
demo_db = os.path.join(work, "data", "demo.sqlite")

port = harness.free_port()
MASTER = "livequery-master-key-1"
env = dict(os.environ, CAUSEWAY_PORT=str(port), CAUSEWAY_MASTER_KEY=MASTER, CAUSEWAY_LOG_LEVEL="warning")
base = f"http://127.0.0.1:{port}/parse"
ws_url = f"ws://127.0.0.1:{port}/parse"
APP = "causeway-demo"
suite = harness.Suite("livequery", raise_on_fail=True)
check = suite.check


def call(method, path, body=None, token=None, master=False):
    headers = {"X-Parse-Application-Id": APP, "Content-Type": "application/json"}
    if token:
        headers["X-Parse-Session-Token"] = token
    if master:
        headers["X-Parse-Master-Key"] = MASTER
    status, _, raw = harness.request(method, base + path, body, headers)
    if status >= 400:
        return status, harness.json_or_null(raw)
    return status, (json.loads(raw) if raw and raw[:1] in b"{[" else raw)


async def rest(*args, **kwargs):
    return await asyncio.to_thread(call, *args, **kwargs)


async def recv(ws, timeout=15, waiting_for="a message"):
    try:
        return json.loads(await asyncio.wait_for(ws.recv(), timeout))
    except TimeoutError:
        raise AssertionError(f"no message within {timeout} s while waiting for {waiting_for}") from None


async def expect(ws, op, request_id=None):
    m = await recv(ws, waiting_for=f"{op} ({request_id})")
    check(m.get("op") == op and (request_id is None or m.get("requestId") == request_id), f"expected {op} ({request_id}), got {m}")
    return m


async def client(token=None, **connect_args):
    ws = await ws_connect(ws_url, ping_interval=None, **connect_args)
    hello = {"op": "connect", "applicationId": APP, "installationId": "it-1"}
    if token:
        hello["sessionToken"] = token
    await ws.send(json.dumps(hello))
    m = await expect(ws, "connected")
    check(isinstance(m.get("clientId"), int), f"clientId: {m}")
    return ws


async def subscribe(ws, request_id, class_name, where, fields=None, token=None):
    query = {"className": class_name, "where": where}
    if fields:
        query["fields"] = fields
    msg = {"op": "subscribe", "requestId": request_id, "query": query}
    if token:
        msg["sessionToken"] = token
    await ws.send(json.dumps(msg))
    return await expect(ws, "subscribed", request_id)


async def events_and_fields():
    # Wrong application id: Parse's code 4.
    ws = await ws_connect(ws_url, ping_interval=None)
    await ws.send(json.dumps({"op": "connect", "applicationId": "wrong"}))
    m = await recv(ws)
    check(m.get("op") == "error" and m.get("code") == 4, f"wrong app id: {m}")
    await ws.close()

    ws = await client()
    # Plain HTTP on the same path still answers as before.
    status, _ = await rest("GET", "/health")
    check(status == 200, "HTTP still served beside the WebSocket")
    await subscribe(ws, 1, "Workstation", {"office": "LiveQuery"}, fields=["name", "occupied"])
    await subscribe(ws, 2, "Workstation", {"occupied": False, "location": {"$nearSphere": {"__type": "GeoPoint", "latitude": 47.367, "longitude": 8.540}, "$maxDistanceInKilometers": 1}})
    status, body = await rest("POST", "/classes/Workstation", {"name": "LQ 1", "office": "LiveQuery", "floor": 4, "occupied": False})
    check(status == 201, f"create: {body}")
    oid = body["objectId"]
    m = await expect(ws, "create", 1)
    obj = m["object"]
    check(obj.get("objectId") == oid and obj.get("className") == "Workstation" and obj.get("name") == "LQ 1" and "floor" not in obj
          and "createdAt" in obj, f"create event with fields: {m}")
    await rest("PUT", f"/classes/Workstation/{oid}", {"name": "LQ 1b"})
    m = await expect(ws, "update", 1)
    check(m["object"]["name"] == "LQ 1b" and m["original"]["name"] == "LQ 1", f"update with original: {m}")
    await rest("PUT", f"/classes/Workstation/{oid}", {"office": "Elsewhere"})
    m = await expect(ws, "leave", 1)
    check(m["object"]["objectId"] == oid, f"leave: {m}")
    await rest("PUT", f"/classes/Workstation/{oid}", {"office": "LiveQuery"})
    await expect(ws, "enter", 1)
    # A desk near the subscriber appears in the geo subscription only.
    status, near = await rest("POST", "/classes/Workstation", {"name": "LQ near", "office": "Near", "occupied": False,
                                                             "location": {"__type": "GeoPoint", "latitude": 47.3671, "longitude": 8.5401}})
    m = await expect(ws, "create", 2)
    check(m["object"]["name"] == "LQ near", f"geo create: {m}")
    await rest("PUT", f"/classes/Workstation/{near['objectId']}", {"occupied": True})
    await expect(ws, "leave", 2)
    await rest("DELETE", f"/classes/Workstation/{oid}")
    m = await expect(ws, "delete", 1)
    check(m["object"]["objectId"] == oid, f"delete: {m}")
    await ws.send(json.dumps({"op": "unsubscribe", "requestId": 1}))
    await expect(ws, "unsubscribed", 1)
    # Errors: unknown op (3), a class LiveQuery does not serve, too many subscriptions.
    await ws.send(json.dumps({"op": "dance"}))
    check((await recv(ws)).get("code") == 3, "unknown op answers code 3")
    await ws.send(json.dumps({"op": "subscribe", "requestId": 9, "query": {"className": "Nope", "where": {}}}))
    m = await recv(ws)
    check(m.get("op") == "error" and m.get("requestId") == 9, f"unknown class: {m}")
    await ws.close()


async def permissions_and_sessions():
    tokens, ids = {}, {}
    for name in ("lq-ada", "lq-bob"):
        status, body = await rest("POST", "/users", {"username": name, "password": "correct horse battery", "department": "IT"})
        check(status == 201, f"sign-up {name}: {body}")
        tokens[name], ids[name] = body["sessionToken"], body["objectId"]
    ada = await client(tokens["lq-ada"])
    await subscribe(ada, 1, "Booking", {"day": "2026-12-24"})
    bob = await client()
    await subscribe(bob, 1, "Booking", {"day": "2026-12-24"}, token=tokens["lq-bob"])
    anon = await client()
    await anon.send(json.dumps({"op": "subscribe", "requestId": 1, "query": {"className": "Booking", "where": {}}}))
    m = await recv(anon)
    check(m.get("op") == "error" and m.get("code") == 119, f"anonymous may not find Booking: {m}")
    await anon.close()
    acl = {ids["lq-ada"]: {"read": True, "write": True}}
    status, booking = await rest("POST", "/classes/Booking", {"day": "2026-12-24", "note": "private", "ACL": acl}, token=tokens["lq-ada"])
    check(status == 201, f"booking: {booking}")
    m = await expect(ada, "create", 1)
    check(m["object"]["note"] == "private", f"ada sees her booking: {m}")
    # Ada shares it with Bob and gives up reading it herself: it leaves for her and enters for Bob.
    acl = {ids["lq-ada"]: {"write": True}, ids["lq-bob"]: {"read": True}}
    status, body = await rest("PUT", f"/classes/Booking/{booking['objectId']}", {"ACL": acl}, token=tokens["lq-ada"])
    check(status == 200, f"ACL change: {body}")
    m = await expect(ada, "leave", 1)
    check(m["object"]["objectId"] == booking["objectId"], f"leave after the ACL change: {m}")
    m = await expect(bob, "enter", 1)
    check(m["object"]["objectId"] == booking["objectId"], f"bob's first message is the enter (the create was hidden from him): {m}")
    # Ada logs out: her connection hears 209 and is closed with 4001.
    status, _ = await rest("POST", "/logout", {}, token=tokens["lq-ada"])
    check(status == 200, "logout")
    m = await expect(ada, "error")
    check(m.get("code") == 209 and m.get("reconnect") is False, f"session end: {m}")
    try:
        await asyncio.wait_for(ada.recv(), 15)
        check(False, "connection should close after the session ended")
    except websockets.exceptions.ConnectionClosed as e:
        check(e.rcvd is not None and e.rcvd.code == 4001, f"close code after logout: {e.rcvd}")
    # Bob's subscription still works.
    await rest("PUT", f"/classes/Booking/{booking['objectId']}", {"note": "shared"}, master=True)
    m = await expect(bob, "update", 1)
    check(m["object"]["note"] == "shared", f"bob still subscribed: {m}")
    await bob.close()


def sqlite_write(statements):
    import sqlite3
    db = sqlite3.connect(demo_db, timeout=20)
    try:
        columns = [r[1] for r in db.execute("PRAGMA table_info(notices)")]
        for sql, args in statements(columns):
            db.execute(sql, args)
        db.commit()
    finally:
        db.close()


async def polled_source():
    ws = await client()
    await subscribe(ws, 1, "Notice", {})
    status, notice = await rest("POST", "/classes/Notice", {"text": "posted"})
    check(status == 201, f"notice: {notice}")
    await expect(ws, "create", 1)
    now = int(time.time() * 1000) + 1000
    # Another application changes the row and adds one, in the SQLite file itself.
    def changes(columns):
        id_column = next(c for c in columns if c not in ("text", "created_at", "updated_at"))
        return [(f"UPDATE notices SET text = ?, updated_at = ? WHERE {id_column} = ?", ("changed outside", now, notice["objectId"])),
                (f"INSERT INTO notices ({id_column}, text, created_at, updated_at) VALUES (?, ?, ?, ?)", ("outside1", "inserted outside", now + 1, now + 1))]
    await asyncio.to_thread(sqlite_write, changes)
    m = await expect(ws, "update", 1)
    check(m["object"]["objectId"] == notice["objectId"] and m["object"]["text"] == "changed outside", f"polled update: {m}")
    m = await expect(ws, "create", 1)
    check(m["object"]["objectId"] == "outside1" and m["object"]["text"] == "inserted outside", f"polled create: {m}")
    await ws.close()


async def slow_client():
    # A client that stops reading: small receive buffer, one message of client-side queue.
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    slow = await ws_connect(ws_url, sock=sock, ping_interval=None, max_queue=1, max_size=None)
    await slow.send(json.dumps({"op": "connect", "applicationId": APP}))
    await expect(slow, "connected")
    await subscribe(slow, 1, "Workstation", {"office": "Slow"})
    fast = await client()
    await subscribe(fast, 1, "Workstation", {"office": "Slow"})
    status, desk = await rest("POST", "/classes/Workstation", {"name": "slow", "office": "Slow"})
    await expect(fast, "create", 1)
    # More than the kernel buffers of both ends hold (the server's send buffer grows to tcp_wmem's 4 MiB).
    updates = 130
    received = 0

    async def drain_fast():
        nonlocal received
        while received < updates:
            await expect(fast, "update", 1)
            received += 1

    drainer = asyncio.create_task(drain_fast())
    for i in range(updates):
        status, body = await rest("PUT", f"/classes/Workstation/{desk['objectId']}", {"name": f"slow {i} " + "x" * 64000})
        check(status == 200, f"update {i}: {body}")
    await asyncio.wait_for(drainer, 30)
    check(received == updates, f"the fast client got all {updates} updates")
    # Now the slow one reads: what was queued, then the close with 4002.
    got = 0
    print(f"  /metrics before reading the slow client: {[l for l in metrics_text().splitlines() if 'livequery' in l and not l.startswith('#')]}", file=sys.stderr)
    try:
        while True:
            try:
                await asyncio.wait_for(slow.recv(), 20)
            except TimeoutError:
                raise AssertionError(f"the slow client was not closed: {got} messages, then nothing for 20 s") from None
            got += 1
    except websockets.exceptions.ConnectionClosed as e:
        check(e.rcvd is not None and e.rcvd.code == 4002, f"slow client close code: {e.rcvd} after {got} messages")
    check(got < updates, f"the slow client did not get everything ({got} of {updates})")
    await fast.close()


async def hot_reload():
    # Subscriptions made under the first configuration, then a reload (SIGHUP) that takes Notice out of
    # liveQuery.classes, protects Workstation.beaconIdentifier and lowers maxSubscriptionsPerClient to 2.
    ws = await client()
    await subscribe(ws, 1, "Notice", {})
    await subscribe(ws, 2, "Workstation", {"office": "Reload"})
    await subscribe(ws, 3, "Workstation", {"beaconIdentifier": "B-R1"})
    with open(config) as f:
        text = f.read()
    text = text.replace("classes: [Workstation, Booking, Notice]", "classes: [Workstation, Booking]")
    text = text.replace("maxSubscriptionsPerClient: 5", "maxSubscriptionsPerClient: 2")
    with open(config, "w") as f:
        f.write(text)
    demo = os.path.join(work, "Connectors", "demo.yaml")
    with open(demo) as f:
        text = f.read()
    marker = "    # Who may do what (filled in by identity providers"
    check(text.count(marker) == 1, "the demo's Workstation permissions comment is where the protected field goes")
    text = text.replace(marker, '    protectedFields: { "*": [beaconIdentifier] }\n' + marker)
    with open(demo, "w") as f:
        f.write(text)
    server.send_signal(signal.SIGHUP)
    # Ended with what a new subscribe would get: the class is no longer live; the where names a protected field.
    m = await expect(ws, "error", 1)
    check(m.get("code") == 119 and m.get("reconnect") is False and "no longer enabled" in m.get("error", ""), f"Notice ended by the reload: {m}")
    m = await expect(ws, "error", 3)
    check(m.get("code") == 119 and "protected" in m.get("error", ""), f"a where on a now protected field ended: {m}")
    # The remaining subscription follows the new mapping: the protected field is not in its events.
    status, body = await rest("POST", "/classes/Workstation", {"name": "Reloaded", "office": "Reload", "beaconIdentifier": "B-R1"})
    check(status == 201, f"create after the reload: {body}")
    m = await expect(ws, "create", 2)
    check(m["object"].get("name") == "Reloaded" and "beaconIdentifier" not in m["object"], f"event under the reloaded protection: {m}")
    # The reloaded limit: one subscription left, a second is allowed, a third is refused (155).
    await subscribe(ws, 4, "Workstation", {})
    await ws.send(json.dumps({"op": "subscribe", "requestId": 5, "query": {"className": "Workstation", "where": {}}}))
    m = await expect(ws, "error", 5)
    check(m.get("code") == 155, f"reloaded maxSubscriptionsPerClient: {m}")
    await ws.send(json.dumps({"op": "subscribe", "requestId": 6, "query": {"className": "Notice", "where": {}}}))
    m = await expect(ws, "error", 6)
    check(m.get("code") == 119, f"Notice no longer accepts subscriptions: {m}")
    await ws.close()


def metrics_text():
    req = urllib.request.Request(f"http://127.0.0.1:{port}/metrics", headers={"X-Parse-Master-Key": MASTER})
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.read().decode()


async def forwarded_master_key():
    """masterKeyIps with server.trustedProxies: the client named by X-Forwarded-For decides, on both channels."""
    async def master_connect(forwarded):
        ws = await ws_connect(ws_url, ping_interval=None, additional_headers={"X-Forwarded-For": forwarded} if forwarded else {})
        await ws.send(json.dumps({"op": "connect", "applicationId": APP, "masterKey": MASTER}))
        m = await recv(ws, waiting_for="the answer to a master-key connect")
        await ws.close()
        return m

    def rest_master(forwarded):
        headers = {"X-Parse-Application-Id": APP, "X-Parse-Master-Key": MASTER, "X-Forwarded-For": forwarded}
        try:
            with urllib.request.urlopen(urllib.request.Request(base + "/classes/Workstation?limit=1", headers=headers), timeout=20) as r:
                return r.status
        except urllib.error.HTTPError as e:
            return e.code

    m = await master_connect("198.51.100.7")
    check(m.get("op") == "connected", f"master key from a listed client behind the proxy: {m}")
    m = await master_connect("203.0.113.5")
    check(m.get("op") == "error", f"master key from an unlisted client behind the proxy is refused: {m}")
    m = await master_connect(None)
    check(m.get("op") == "connected", f"master key from the listed loopback peer itself: {m}")
    check(await asyncio.to_thread(rest_master, "198.51.100.7") == 200, "REST: master key from a listed client behind the proxy")
    check(await asyncio.to_thread(rest_master, "203.0.113.5") == 403, "REST: master key from an unlisted client behind the proxy")


async def main():
    await forwarded_master_key()
    await events_and_fields()
    await permissions_and_sessions()
    await polled_source()
    await slow_client()
    await hot_reload()
    text = metrics_text()
    check(re.search(r"^causeway_livequery_slow_clients_dropped_total\S* 1(\.0)?$", text, re.M) is not None, "slow client counted in /metrics")
    check(re.search(r'^causeway_livequery_events_total\{event="leave"\} [3-9]', text, re.M) is not None, "events counted by type in /metrics")


server = subprocess.Popen([binary, "serve", "--config", config], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
failed = None
try:
    harness.wait_healthy(base + "/health", attempts=300)
    asyncio.run(main())
except Exception as e:  # noqa: BLE001 - any failure fails the suite with its message
    failed = e
    import traceback; traceback.print_exc()
finally:
    # A rolling restart with subscribers still connected: one live client subscribed and one socket that
    # upgraded and then went silent. SIGTERM must still end the gateway within its drain time, and the live
    # client must see the connection close.
    live = silent = None
    if failed is None:
        try:
            import warnings
            from websockets.sync.client import connect as sync_connect
            with warnings.catch_warnings():  # held open across the SIGTERM below, so not in a with block
                warnings.simplefilter("ignore", DeprecationWarning)
                live = sync_connect(f"ws://127.0.0.1:{port}/parse", open_timeout=10)
            live.send(json.dumps({"op": "connect", "applicationId": "causeway-demo"}))
            live.recv(timeout=10)
            live.send(json.dumps({"op": "subscribe", "requestId": 1, "query": {"className": "Workstation", "where": {}}}))
            live.recv(timeout=10)
            silent = socket.create_connection(("127.0.0.1", port), timeout=10)
            silent.sendall(b"GET /parse HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                           b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
            check(silent.recv(4096).startswith(b"HTTP/1.1 101"), "a silent client upgraded before shutdown")
        except Exception as e:  # noqa: BLE001
            failed = e
    stopping = time.monotonic()
    server.send_signal(signal.SIGTERM)
    if live is not None:
        try:
            while True:
                live.recv(timeout=20)
        except websockets.exceptions.ConnectionClosed as closed:
            check(closed.rcvd is not None and closed.rcvd.code in (1000, 1001), f"the live subscriber was closed at shutdown ({closed.rcvd})")
        except TimeoutError:
            check(False, "the live subscriber was closed at shutdown (no close within 20 s)")
    try:
        out, _ = server.communicate(timeout=30)
        if failed is None:
            check(time.monotonic() - stopping < 25, f"SIGTERM with LiveQuery clients connected ends the gateway ({time.monotonic() - stopping:.1f} s)")
    except subprocess.TimeoutExpired:
        server.kill()
        out, _ = server.communicate()
    shutil.rmtree(work, ignore_errors=True)
if failed is not None:
    print(f"integration livequery FAILED: {failed!r}", file=sys.stderr)
    print(out.decode(errors="replace")[-3000:], file=sys.stderr)
    sys.exit(1)
check(server.returncode == 0, f"clean shutdown (exit {server.returncode})")
suite.done()

#!/usr/bin/env python3
"""End-to-end check of the real `causeway` binary: `check`, then `serve` on the embedded demo
configuration (copied to a temporary folder, on a free loopback port), a few Parse requests with
curl-like HTTP calls, and a clean shutdown. Prints 'smoke: N passed' or exits non-zero."""
import json, os, shutil, signal, socket, subprocess, sys, tempfile, time, urllib.error, urllib.parse, urllib.request

binary = sys.argv[1]
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
work = tempfile.mkdtemp(prefix="causeway-smoke-")
shutil.copytree(os.path.join(root, "Config"), os.path.join(work, "Config"))
shutil.copytree(os.path.join(root, "Connectors"), os.path.join(work, "Connectors"))

with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
env = dict(os.environ, CAUSEWAY_PORT=str(port), CAUSEWAY_MASTER_KEY="smoke-master-key-123", CAUSEWAY_LOG_LEVEL="warning")
config = os.path.join(work, "Config", "causeway.yaml")
passed = 0

def check(condition, what):
    global passed
    if not condition:
        print(f"smoke FAILED: {what}", file=sys.stderr)
        sys.exit(1)
    passed += 1

out = subprocess.run([binary, "check", "--config", config], env=env, capture_output=True, text=True, timeout=120)
check(out.returncode == 0 and "check passed" in out.stdout, f"causeway check: {out.stdout}{out.stderr}")

bad = os.path.join(work, "Config", "bad.yaml")
with open(bad, "w") as f:
    f.write("app:\n  applicationId: x\n  masterKey: ${SMOKE_UNSET_VARIABLE}\n")
out = subprocess.run([binary, "check", "--config", bad], env=env, capture_output=True, text=True, timeout=60)
check(out.returncode != 0 and "bad.yaml:3:" in out.stderr and "SMOKE_UNSET_VARIABLE" in out.stderr, f"bad config: {out.stderr}")

# A port that is taken: one clear line naming the address, a non-zero exit, no crash while closing the
# store and connectors that had opened.
with socket.socket() as taken:
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    busy_port = taken.getsockname()[1]
    out = subprocess.run([binary, "serve", "--config", config], env=dict(env, CAUSEWAY_PORT=str(busy_port)),
                         capture_output=True, text=True, timeout=120)
check(out.returncode == 1 and f"cannot listen on 127.0.0.1:{busy_port}: Address already in use" in out.stderr
      and "crashed" not in out.stderr and "Fatal error" not in out.stderr, f"port in use (exit {out.returncode}): {out.stderr[-1500:]}")

server = subprocess.Popen([binary, "serve", "--config", config], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
base = f"http://127.0.0.1:{port}/parse"
headers = {"X-Parse-Application-Id": "causeway-demo", "Content-Type": "application/json"}

def call(method, path, body=None, extra=None):
    req = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode() if body is not None else None,
                                 headers={**headers, **(extra or {})})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")

token = ""
try:
    for _ in range(300):
        try:
            status, body = call("GET", "/health")
            if status == 200:
                break
        except (urllib.error.URLError, ConnectionError):
            pass
        time.sleep(0.1)
    check(status == 200 and body == {"status": "ok"}, "health")

    # Broken HTTP framing through a raw socket: a client error (400 with a Parse body), never a 5xx, no
    # answer or a hang; the server keeps answering afterwards.
    def raw(request_bytes, half_close):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
            c.sendall(request_bytes)
            if half_close:
                c.shutdown(socket.SHUT_WR)
            data = b""
            try:
                while True:
                    chunk = c.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                    head_end = data.find(b"\r\n\r\n")
                    if head_end >= 0:
                        lengths = [l for l in data[:head_end].lower().split(b"\r\n") if l.startswith(b"content-length:")]
                        if lengths and len(data) - head_end - 4 >= int(lengths[0].split(b":")[1]):
                            break
            except (socket.timeout, ConnectionResetError):
                pass
            return data
    head = b"POST /parse/classes/Workstation HTTP/1.1\r\nHost: x\r\nX-Parse-Application-Id: causeway-demo\r\n"
    framings = {
        "garbage chunk size": (head + b"Transfer-Encoding: chunked\r\n\r\nZZZ\r\n{}\r\n0\r\n\r\n", False),
        "unknown Transfer-Encoding": (head + b"Transfer-Encoding: gzip, bogus\r\n\r\n{}", True),
        "Content-Length beyond the body, then half-close": (head + b"Content-Length: 100\r\n\r\n{\"name\":1", True),
        "huge Content-Length": (head + b"Content-Length: 99999999999999999999\r\n\r\n{}", True),
        "unterminated chunked body": (head + b"Transfer-Encoding: chunked\r\n\r\n5\r\n{\"a\":", True),
        "Content-Length not a number": (head + b"Content-Length: ten\r\n\r\n{}", True),
        "two different Content-Lengths": (head + b"Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}", True),
        "header name with a space": (head + b"Bad Header: x\r\n\r\n", True),
        "garbled request line": (b"GET\x01 /parse/health HTTP/1.1\r\nHost: x\r\n\r\n", True),
        "not HTTP at all": (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 32, True),
    }
    for name, (request_bytes, half_close) in framings.items():
        answer = raw(request_bytes, half_close)
        status_line = answer.split(b"\r\n", 1)[0]
        code = int(status_line.split()[1]) if status_line.startswith(b"HTTP/1.1 ") else None
        # An answer, not a silent or hanging connection (behind the WebSocket upgrade, NIO's parser errors
        # once left the connection open with no answer).
        check(code is not None and 400 <= code < 500, f"framing '{name}': {answer[:300]!r}")
        body_bytes = answer.split(b"\r\n\r\n", 1)[1].strip() if b"\r\n\r\n" in answer else b""
        if code is not None:
            # Every 4xx carries a Parse error body, also when NIO's HTTP parser refused the request.
            try:
                parsed = json.loads(body_bytes)
            except ValueError:
                parsed = {}
            check("code" in parsed and "error" in parsed, f"framing '{name}' answers {code} in Parse's shape: {body_bytes[:200]!r}")
        print(f"  framing {name!r}: {status_line.decode(errors='replace') or 'connection closed'} {body_bytes[:120]!r}", file=sys.stderr)
    status, body = call("GET", "/health")
    check(status == 200, "still answering after broken framing")
    where = {"occupied": False, "location": {"$nearSphere": {"__type": "GeoPoint", "latitude": 47.3670, "longitude": 8.5400}, "$maxDistanceInMiles": 2}}
    status, body = call("GET", "/classes/Workstation?" + urllib.parse.urlencode({"where": json.dumps(where), "keys": "name"}))
    names = [r["name"] for r in body.get("results", [])]
    check(status == 200 and names[:2] == ["Harbour 2-01", "Harbour 1-01"] and "Basel 2-01" not in names, f"demo geo query: {names}")
    status, body = call("POST", "/classes/Workstation", {"name": "Smoke desk", "occupied": True})
    check(status == 201 and len(body.get("objectId", "")) == 10, f"create: {body}")
    oid = body["objectId"]
    status, body = call("PUT", f"/classes/Workstation/{oid}", {"floor": {"__op": "Increment", "amount": 2}})
    check(status == 200 and body.get("floor") == 2, f"update: {body}")
    status, body = call("GET", "/classes/Workstation?count=1&limit=0")
    check(status == 200 and body.get("count") == 11, f"count: {body}")
    status, body = call("GET", "/classes/Workstation", extra={"X-Parse-Application-Id": "wrong"})
    check(status == 403 and body == {"error": "unauthorized"}, f"wrong app id: {body}")
    status, body = call("GET", "/serverInfo", extra={"X-Parse-Master-Key": "smoke-master-key-123"})
    check(status == 200 and "parseServerVersion" in body, f"serverInfo: {body}")
    status, body = call("POST", "/users", {"username": "smoke", "password": "smoke-secret-pw", "department": "QA"})
    check(status == 201 and body.get("sessionToken", "").startswith("r:"), f"sign-up: {body}")
    status, body = call("GET", "/login?" + urllib.parse.urlencode({"username": "smoke", "password": "smoke-secret-pw"}))
    token = body.get("sessionToken", "")
    check(status == 200 and body.get("department") == "QA", f"login: {body}")
    status, body = call("POST", "/classes/Booking", {"day": "2026-12-01"}, extra={"X-Parse-Session-Token": token})
    check(status == 201, f"booking as a user: {body}")
    status, body = call("GET", "/classes/Booking")
    check(status == 400 and body.get("code") == 119, f"bookings need a session: {body}")
    status, body = call("GET", "/classes/Booking", extra={"X-Parse-Session-Token": token})
    check(status == 200 and [b.get("bookedBy") for b in body.get("results", [])] == ["smoke"], f"own bookings: {body}")
finally:
    server.send_signal(signal.SIGTERM)
    try:
        code = server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
        code = None
    log = server.stdout.read().decode(errors="replace")
check(code == 0, f"graceful shutdown (exit {code}): {log[-2000:]}")
check("smoke-secret-pw" not in log and "smoke-master-key-123" not in log and (not token or token not in log), "no secrets in the log")
shutil.rmtree(work, ignore_errors=True)
print(f"smoke: {passed} passed")

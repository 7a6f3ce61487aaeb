#!/usr/bin/env python3
"""LiveQuery fan-out benchmark: one write fanned out to N subscribers on one node.

Starts the given `causeway` binary on a copy of the demo configuration, opens N WebSocket clients that
each subscribe to the same Workstation query, then makes W updates through REST one after the other,
each time waiting until every subscriber has its event. Reports event latency (from just before the PUT
is sent to the event's arrival at the client) p50/p99/max, and the server's CPU time (user + system from
/proc/PID/stat) per write with the N subscribers and, as the reference in the same run, per write with the
same N connections subscribed to a query the object does not match (so the write, its images and the
matching run but nothing is sent); the difference divided by N is the CPU per delivered event."""
import asyncio, json, os, re, shutil, signal, socket, subprocess, sys, tempfile, time, urllib.request

from websockets.asyncio.client import connect as ws_connect

binary, subscribers, writes = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
work = tempfile.mkdtemp(prefix="causeway-lq-bench-")
shutil.copytree(os.path.join(root, "Config"), os.path.join(work, "Config"))
shutil.copytree(os.path.join(root, "Connectors"), os.path.join(work, "Connectors"))
config = os.path.join(work, "Config", "causeway.yaml")
text = open(config).read()
text = re.sub(r"\nliveQuery:\n(  .*\n)*", "\n", text)
text += f"\nliveQuery:\n  classes: [Workstation]\n  maxClients: {subscribers + 10}\n  sendQueueSize: 1024\n"
# Without the demo's response cache (each write would also drop it) and quiet logs.
text = text.replace("level: ${CAUSEWAY_LOG_LEVEL:-info}", "level: warning")
open(config, "w").write(text)
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
server = subprocess.Popen([binary, "serve", "--config", config], env=dict(os.environ, CAUSEWAY_PORT=str(port)),
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
base = f"http://127.0.0.1:{port}/parse"
H = {"X-Parse-Application-Id": "causeway-demo", "Content-Type": "application/json"}


def call(method, path, body=None):
    req = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode() if body else None, headers=H)
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


def cpu_ticks():
    fields = open(f"/proc/{server.pid}/stat").read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime (fields 14 and 15)


async def main():
    for _ in range(300):
        try:
            call("GET", "/health")
            break
        except Exception:
            await asyncio.sleep(0.1)
    desk = call("POST", "/classes/Workstation", {"name": "bench", "office": "Bench", "floor": 1})
    oid = desk["objectId"]
    clients = []
    for i in range(subscribers):
        ws = await ws_connect(f"ws://127.0.0.1:{port}/parse", ping_interval=None, max_queue=None)
        await ws.send(json.dumps({"op": "connect", "applicationId": "causeway-demo"}))
        await ws.recv()
        clients.append(ws)
    arrivals = []

    async def reader(ws):
        async for m in ws:
            arrivals.append(time.perf_counter())

    async def subscribe_all(where):
        for ws in clients:
            await ws.send(json.dumps({"op": "subscribe", "requestId": 1, "query": {"className": "Workstation", "where": where}}))
            json.loads(await ws.recv())

    async def run(label, expect_events):
        arrivals.clear()
        latencies = []
        start_cpu, start = cpu_ticks(), time.perf_counter()
        for i in range(writes):
            before = len(arrivals)
            sent = time.perf_counter()
            await asyncio.to_thread(call, "PUT", f"/classes/Workstation/{oid}", {"floor": i})
            if expect_events:
                while len(arrivals) < before + subscribers:
                    await asyncio.sleep(0.0005)
                latencies.extend(t - sent for t in arrivals[before:before + subscribers])
        elapsed = time.perf_counter() - start
        cpu = (cpu_ticks() - start_cpu) / os.sysconf("SC_CLK_TCK")
        return latencies, cpu, elapsed

    # Reference: the same connections subscribed to a query the object never matches.
    await subscribe_all({"office": "Nowhere"})
    tasks = [asyncio.create_task(reader(ws)) for ws in clients]
    _, ref_cpu, ref_elapsed = await run("reference", False)
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await subscribe_all({"office": "Bench"})  # `subscribe` with the same requestId replaces the subscription
    tasks = [asyncio.create_task(reader(ws)) for ws in clients]
    await run("warm-up", True)
    latencies, cpu, elapsed = await run("fan-out", True)
    latencies.sort()
    pct = lambda p: latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000
    events = writes * subscribers
    print(f"subscribers {subscribers}, writes {writes}, events delivered {len(latencies)}")
    print(f"reference (no matching subscriber): {writes / ref_elapsed:.0f} writes/s, server CPU {ref_cpu / writes * 1e6:.0f} µs/write")
    print(f"fan-out: {writes / elapsed:.1f} writes/s, {events / elapsed:.0f} events/s, server CPU {cpu / writes * 1e3:.1f} ms/write")
    print(f"server CPU per delivered event: {(cpu - ref_cpu) / events * 1e6:.1f} µs")
    print(f"event latency ms: p50 {pct(0.50):.1f}, p99 {pct(0.99):.1f}, max {latencies[-1] * 1000:.1f}")
    for t in tasks:
        t.cancel()


try:
    asyncio.run(main())
finally:
    server.send_signal(signal.SIGTERM)
    server.wait(timeout=30)
    shutil.rmtree(work, ignore_errors=True)

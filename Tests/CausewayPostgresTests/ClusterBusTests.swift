import CausewayCore
@testable import CausewayPostgres
import Foundation
import Logging
import PostgresNIO
import Synchronization
import Testing

/// Two gateway nodes in one process on one PostgreSQL database (#15): each with its own connector, cache,
/// auth service and `ClusterBus`. Timing comes from awaiting the buses' events, never from sleeping.
@Suite struct ClusterBusTests {
    static let setupSQL = """
        CREATE TABLE desks (id text PRIMARY KEY, name text NOT NULL, floor integer NOT NULL);
        INSERT INTO desks VALUES ('d1', 'Harbour 1', 1), ('d2', 'Harbour 2', 2)
        """
    static let collections = """
          Desk:
            schema: SCHEMA
            table: desks
            fields:
              name: { type: string }
              floor: { type: number }
        """

    @Test func aWriteOnAInvalidatesBsCacheAndReachesBsChangeFeed() async throws {
        try await withPostgresFixture(setupSQL: Self.setupSQL) { fx in
            try await fx.withCluster { a, b in
                let first = try await b.find()
                #expect(first.cache == .miss)
                #expect(try await b.find().cache == .hit)
                let heard = b.gateway.changes.subscribe(classes: ["Desk"])
                _ = try await a.gateway.update("Desk", objectId: "d1", body: ["floor": .int(7)], caller: .master)
                let change = try await firstElement(heard) { $0.origin == .node("A") }
                #expect(change.objectId == "d1" && change.kind == .update && change.className == "Desk")
                // B's cached answer went with the notification: the next read is a miss with A's value.
                let after = try await b.find()
                #expect(after.cache == .miss)
                #expect(try fx.floor(of: "d1", in: after) == 7)
                // A purge through A's API empties B's cache of that class too.
                #expect(try await b.find().cache == .hit)
                let events = b.bus.events()
                _ = try a.gateway.purgeCache(connector: nil, className: "Desk")
                _ = try await firstElement(events) { $0 == .applied(from: "A", .purge(connector: "pg", className: "Desk")) }
                #expect(b.gateway.caches.caches["pg"]?.entryCount == 0)
            }
        }
    }

    @Test func aLogoutOnAIsRefusedOnB() async throws {
        try await withPostgresFixture(setupSQL: Self.setupSQL) { fx in
            try await fx.withCluster { a, b in
                let (_, token) = try await a.auth.signUp(.init(username: "erin", password: "correct horse", email: nil, attributes: [:]), installationId: nil)
                // A session made on A works on B (shared store), and B now holds it in memory.
                _ = try await b.auth.validate(token: token)
                #expect(b.auth.cachedSessionCount == 1)
                let events = b.bus.events()
                try await a.auth.logOut(token: token)
                _ = try await firstElement(events) { if case .applied(from: "A", .session(.sessionEnded)) = $0 { return true }; return false }
                await #expect(throws: GatewayError.self) { _ = try await b.auth.validate(token: token) }
            }
        }
    }

    @Test func aNodeThatLosesItsListenerStopsServingCachedAnswersUntilItIsBack() async throws {
        try await withPostgresFixture(setupSQL: Self.setupSQL) { fx in
            let gate = Latch()
            defer { gate.open() }
            try await fx.withCluster(beforeReconnectB: { await gate.wait() }) { a, b in
                let (_, token) = try await b.auth.signUp(.init(username: "finn", password: "correct horse", email: nil, attributes: [:]), installationId: nil)
                _ = try await b.auth.validate(token: token)
                _ = try await b.find()
                #expect(try await b.find().cache == .hit)
                let events = b.bus.events()
                try await fx.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'causeway/cluster/B/\(fx.schemaName)'")
                _ = try await firstElement(events) { $0 == .lost }
                // Disconnected (and held so by the gate): no cached answers, no reused sessions.
                #expect(!b.bus.isListening)
                #expect(b.gateway.caches.caches["pg"]?.entryCount == 0)
                #expect(try await b.find().cache == nil)
                #expect(try await b.find().cache == nil)
                #expect(!b.auth.reusesSessionsInMemory && b.auth.cachedSessionCount == 0)
                // A session ended behind its back (no notification it could hear) is refused at once.
                try await fx.execute("DELETE FROM \(fx.schemaName).sessions")
                await #expect(throws: GatewayError.self) { _ = try await b.auth.validate(token: token) }
                // A write on A meanwhile is not heard by B, yet B reads it from the source.
                let aEvents = a.bus.events()
                _ = try await a.gateway.update("Desk", objectId: "d2", body: ["floor": .int(9)], caller: .master)
                #expect(try fx.floor(of: "d2", in: try await b.find()) == 9)
                // A sends its notification of that write asynchronously (local change stream, then its outbox). Sent
                // after B listens again, B would apply it and empty its cache once more: wait until it is out.
                _ = try await firstElement(aEvents) { if case .sent(.write(_, "Desk", _, "d2")) = $0 { return true }; return false }
                gate.open()
                _ = try await firstElement(events) { $0 == .listening }
                #expect(b.bus.isListening && b.auth.reusesSessionsInMemory)
                #expect(try await b.find().cache == .miss)
                // Caches again: a later find is served from the cache. Not necessarily the very next one: on a busy
                // machine the heartbeat may miss its timeout, and a node that is "down" empties its caches again
                // (a clean-clone run once saw a second miss here), so a few finds are allowed.
                var cachedAfter: Int?
                for attempt in 1...20 where cachedAfter == nil {
                    if try await b.find().cache == .hit { cachedAfter = attempt } else { try await Task.sleep(for: .milliseconds(50)) }
                }
                #expect(cachedAfter != nil, "B serves cached answers again after reconnecting")
                // And it hears A again.
                let heard = b.gateway.changes.subscribe(classes: ["Desk"])
                _ = try await a.gateway.update("Desk", objectId: "d2", body: ["floor": .int(3)], caller: .master)
                _ = try await firstElement(heard) { $0.origin == .node("A") }
                #expect(try await b.find().cache == .miss)
            }
        }
    }

    @Test func afterAConfigurationReloadTheNewCachesAreTheOnesInvalidated() async throws {
        try await withPostgresFixture(setupSQL: Self.setupSQL) { fx in
            try await fx.withCluster { a, b in
                // A reload gives the connector a new cache (its settings changed); the bus still holds the first gateway.
                var policy = CachePolicy()
                policy.ttlMs = 600_000
                let reloaded = CacheSet(reloading: b.gateway.caches, policies: ["pg": policy], keep: [], metricsFactory: nil)
                let b2 = ClusterNode(gateway: Gateway(config: GatewayConfig(), connectors: b.gateway.connectors, caches: reloaded, changes: b.gateway.changes),
                                     auth: b.auth, bus: b.bus)
                _ = try await b2.find()
                #expect(try await b2.find().cache == .hit)
                let heard = b.gateway.changes.subscribe(classes: ["Desk"])
                _ = try await a.gateway.update("Desk", objectId: "d1", body: ["floor": .int(4)], caller: .master)
                _ = try await firstElement(heard) { $0.origin == .node("A") }
                let after = try await b2.find()
                #expect(after.cache == .miss)
                #expect(try fx.floor(of: "d1", in: after) == 4)
            }
        }
    }

    @Test func payloadsStaySmallAndForeignOnesAreIgnored() {
        let write = ClusterMessage.write(kind: .update, className: "Desk", connector: "pg", objectId: "d1")
        #expect(ClusterMessage.parse(write.payload(node: "A"))?.message == write)
        let huge = ClusterMessage.write(kind: .create, className: "Desk", connector: "pg", objectId: String(repeating: "x", count: 10_000))
        let payload = huge.payload(node: "A")
        #expect(payload.utf8.count < 8000)
        #expect(ClusterMessage.parse(payload)?.message == .purge(connector: "pg", className: "Desk"))
        #expect(ClusterMessage.parse("hello") == nil)
        #expect(ClusterMessage.parse(#"{"n":"A","t":"zz"}"#) == nil)
        let ended = ClusterMessage.session(.sessionEnded(tokenHash: String(repeating: "a", count: 64)))
        #expect(ClusterMessage.parse(ended.payload(node: "B"))?.message == ended)
    }
}

/// One gateway node of the two-node tests.
struct ClusterNode: Sendable {
    let gateway: Gateway
    let auth: AuthService
    let bus: ClusterBus

    func find() async throws -> Gateway.FindResult {
        try await gateway.find("Desk", try gateway.parseFind("Desk", ["order": .string("objectId")]), caller: .master, logger: Gateway.quietLogger)
    }
}

/// Opens once; everyone waiting and everyone coming later passes.
final class Latch: Sendable {
    private let state = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func wait() async {
        await withCheckedContinuation { c in
            let pass = state.withLock { s -> Bool in
                if s.open { return true }
                s.waiters.append(c)
                return false
            }
            if pass { c.resume() }
        }
    }

    func open() {
        let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.open = true
            defer { s.waiters = [] }
            return s.waiters
        }
        for w in waiters { w.resume() }
    }
}

struct Timeout: Error, CustomStringConvertible {
    var description: String { "no matching element within 10 s" }
}

/// The first element of `stream` that matches; fails (never hangs) after 10 s without one.
func firstElement<T: Sendable>(_ stream: AsyncStream<T>, where match: @escaping @Sendable (T) -> Bool) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask {
            for await element in stream where match(element) { return element }
            return nil
        }
        group.addTask {
            try await Task.sleep(for: .seconds(10))
            throw Timeout()
        }
        defer { group.cancelAll() }
        guard let found = try await group.next() ?? nil else { throw Timeout() }
        return found
    }
}

extension PostgresFixture {
    func floor(of id: String, in result: Gateway.FindResult) throws -> Int64? {
        if let body = result.body, case .object(let o) = try JSONParser.parse(body), case .array(let list)? = o["results"] {
            return list.first { $0.objectValue?["objectId"]?.stringValue == id }?.objectValue?["floor"]?.doubleValue.map { Int64($0) }
        }
        return result.objects.first(where: { $0.objectId == id })?.fields["floor"]?.doubleValue.map { Int64($0) }
    }

    /// Two nodes, "A" and "B", each with its own connector on this fixture's table, a cache, an auth service
    /// over a store in this fixture's schema and a running bus; both listening before `body` runs.
    func withCluster(beforeReconnectB: @escaping @Sendable () async -> Void = {}, _ body: (ClusterNode, ClusterNode) async throws -> Void) async throws {
        var nodes: [ClusterNode] = []
        var runs: [Task<Void, Never>] = []
        for id in ["A", "B"] {
            let connector = try await self.connector(ClusterBusTests.collections, name: "pg")
            var policy = CachePolicy()
            policy.ttlMs = 600_000
            let caches = CacheSet(policies: ["pg": policy], maxBytes: 1 << 20, metricsFactory: nil)
            let gateway = Gateway(config: GatewayConfig(), connectors: [connector], caches: caches)
            let auth = try await authNode(schema: schemaName, nodeId: id)
            var configuration = PostgresConnection.Configuration(host: db.host, port: db.port, username: db.user, password: db.password,
                                                                 database: db.database, tls: .disable)
            // Per fixture: tests run in parallel, and one of them terminates its node B's listener by this name.
            configuration.options.additionalStartupParameters = [("application_name", "causeway/cluster/\(id)/\(schemaName)")]
            let noHook: @Sendable () async -> Void = {}
            let hook = id == "B" ? beforeReconnectB : noHook
            let bus = ClusterBus(nodeId: id, schema: schemaName, configuration: configuration, gateway: gateway, auth: auth, logger: logger,
                                 heartbeat: .seconds(2), heartbeatTimeout: .seconds(5), beforeReconnect: hook)
            let events = bus.events()
            runs.append(Task { try? await bus.run() })
            _ = try await firstElement(events) { $0 == .listening }
            nodes.append(ClusterNode(gateway: gateway, auth: auth, bus: bus))
        }
        func stop() async {
            for r in runs { r.cancel(); await r.value }
            for n in nodes { await n.auth.shutdown() }
        }
        do { try await body(nodes[0], nodes[1]) } catch {
            await stop()
            throw error
        }
        await stop()
    }
}

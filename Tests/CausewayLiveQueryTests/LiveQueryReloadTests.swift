import CausewayCore
import CausewayLiveQuery
import Synchronization
import Testing

/// A configuration reload as the hub sees it (`GatewayReloader` calls `reconfigure` with the new gateway):
/// subscriptions follow the new permissions and mappings or end with an error, and `liveQuery` settings apply.
@Suite(.timeLimit(.minutes(1))) struct LiveQueryReloadTests {
    final class GatewayBox: Sendable {
        private let gateway: Mutex<Gateway>
        init(_ gateway: Gateway) { self.gateway = Mutex(gateway) }
        var value: Gateway { gateway.withLock { $0 } }
        func set(_ g: Gateway) { gateway.withLock { $0 = g } }
    }

    /// A hub whose gateway the test replaces as a reload does (a new gateway over the same change feed).
    struct Fixture {
        let box: GatewayBox
        let first: Gateway
        let hub: LiveQueryHub
        let sessions = FakeSessions()

        init(_ settings: LiveQuerySettings) {
            var config = GatewayConfig()
            config.liveQuery = settings
            let first = Gateway(config: config, connectors: [MemoryConnector(name: "memory", collections: [deskSchema, vaultSchema])])
            let box = GatewayBox(first)
            self.first = first
            self.box = box
            hub = LiveQueryHub(gateway: first, current: { box.value }, settings: settings, sessions: sessions, authenticate: { c in
                guard c.applicationId == "app" else { return nil }
                return c.masterKey == "master-key-123" ? .master : .anonymous
            })
        }

        var gateway: Gateway { box.value }

        func reload(_ collections: [CollectionSchema], _ settings: LiveQuerySettings?) async -> LiveQueryHub.ReloadOutcome {
            var config = GatewayConfig()
            config.liveQuery = settings
            let next = Gateway(config: config, connectors: [MemoryConnector(name: "memory", collections: collections)], changes: first.changes)
            box.set(next)
            return await hub.reconfigure(next)
        }

        func run(_ body: () async throws -> Void) async throws {
            let task = Task { try await hub.run() }
            defer { task.cancel() }
            try await body()
        }

        func client() throws -> TestClient { TestClient(try #require(hub.open())) }
    }

    @Test func subscriptionsFollowTheReloadedPermissionsAndMappings() async throws {
        let f = Fixture(LiveQuerySettings(classes: ["Desk", "Vault"]))
        f.sessions.add("t-ann", user: "ann")
        try await f.run {
            var ann = try f.client()
            try await ann.connect(token: "t-ann")
            _ = try await ann.subscribe(1)
            _ = try await ann.subscribe(2, keys: ["name", "floor"])
            _ = try await ann.subscribe(3, where: #"{"name": "one"}"#)
            var master = try f.client()
            try await master.connect(masterKey: "master-key-123")
            _ = try await master.subscribe(1)

            // The new configuration: only floor 1 is readable, and `name` is protected.
            var desk = deskSchema
            desk.access.readRule = .object(["floor": .int(1)])
            desk.access.protectedFields = ["*": ["secret", "name"]]
            let outcome = await f.reload([desk, vaultSchema], LiveQuerySettings(classes: ["Desk", "Vault"]))
            #expect(outcome == .init(kept: 3, ended: 1))
            // Querying a field now protected: ended, with the refusal a new subscribe would get.
            let ended = try await ann.expect("error", requestId: 3)
            #expect(ended["code"] == .int(119) && ended["reconnect"] == .bool(false))

            _ = try await f.gateway.create("Desk", body: ["name": .string("two"), "floor": .int(2)], caller: .master)
            _ = try await f.gateway.create("Desk", body: ["name": .string("one"), "floor": .int(1)], caller: .master)
            #expect(try await master.expect("create", requestId: 1).object["name"] == .string("two"))
            #expect(try await master.expect("create", requestId: 1).object["name"] == .string("one"))
            // Ann's first events are floor 1's (the row rule hides floor 2), without the protected name.
            let all = try await ann.expect("create", requestId: 1)
            #expect(all.object["floor"] == .int(1) && all.object["name"] == nil, "\(all.object)")
            let projected = try await ann.expect("create", requestId: 2)
            #expect(projected.object["floor"] == .int(1) && projected.object["name"] == nil)
            #expect(f.hub.counts.subscriptions == 3)

            // Find permission withdrawn from everyone but admins: the rest end with 119.
            var locked = desk
            locked.permissions = ClassPermissions(rules: [.find: ["role:Admin"], .get: ["*"], .create: ["*"], .update: ["*"], .delete: ["*"]])
            #expect(await f.reload([locked, vaultSchema], LiveQuerySettings(classes: ["Desk", "Vault"])) == .init(kept: 1, ended: 2))
            let first = try await ann.expect("error")
            let second = try await ann.expect("error")
            #expect(Set([first["requestId"], second["requestId"]]) == [.int(1), .int(2)] && first["code"] == .int(119))
            _ = try await f.gateway.create("Desk", body: ["name": .string("three"), "floor": .int(1)], caller: .master)
            #expect(try await master.expect("create", requestId: 1).object["name"] == .string("three"))
        }
    }

    @Test func classesLeavingLiveQueryOrTheGatewayEndTheirSubscriptions() async throws {
        let f = Fixture(LiveQuerySettings(classes: ["Desk", "Vault"]))
        f.sessions.add("t-root", user: "root", roles: ["Admin"])
        try await f.run {
            var admin = try f.client()
            try await admin.connect(token: "t-root")
            _ = try await admin.subscribe(1)
            _ = try await admin.subscribe(2, "Vault")

            #expect(await f.reload([deskSchema, vaultSchema], LiveQuerySettings(classes: ["Desk"])) == .init(kept: 1, ended: 1))
            let ended = try await admin.expect("error", requestId: 2)
            #expect(ended["code"] == .int(119) && ended["reconnect"] == .bool(false))
            #expect(ended["error"]?.stringValue?.contains("no longer enabled for class Vault") == true)
            #expect(try await admin.subscribe(3, "Vault")["code"] == .int(119))
            // Changes of a class no longer live are not delivered; Desk's still are.
            _ = try await f.gateway.create("Vault", body: ["name": .string("gold")], caller: .master)
            _ = try await f.gateway.create("Desk", body: ["name": .string("d")], caller: .master)
            #expect(try await admin.expect("create", requestId: 1).object["name"] == .string("d"))

            // Back in liveQuery.classes: subscriptions and events work again (the feed follows the classes).
            _ = await f.reload([deskSchema, vaultSchema], LiveQuerySettings(classes: ["Desk", "Vault"]))
            #expect(try await admin.subscribe(4, "Vault")["op"] == .string("subscribed"))
            _ = try await f.gateway.create("Vault", body: ["name": .string("silver")], caller: .master)
            #expect(try await admin.expect("create", requestId: 4).object["name"] == .string("silver"))

            // The class's connector no longer maps it: 103. liveQuery removed altogether: everything ends.
            #expect(await f.reload([deskSchema], LiveQuerySettings(classes: ["Desk", "Vault"])) == .init(kept: 1, ended: 1))
            #expect(try await admin.expect("error", requestId: 4)["code"] == .int(103))
            #expect(await f.reload([deskSchema], nil) == .init(kept: 0, ended: 1))
            #expect(try await admin.expect("error", requestId: 1)["code"] == .int(119))
            #expect(f.hub.counts.subscriptions == 0)
        }
    }

    @Test func reloadedLimitsApplyAndChannelSettingsWaitForARestart() async throws {
        var settings = LiveQuerySettings(classes: ["Desk"])
        settings.maxSubscriptionsPerClient = 5
        settings.maxClients = 10
        let f = Fixture(settings)
        try await f.run {
            var c = try f.client()
            try await c.connect()
            _ = try await c.subscribe(1)
            _ = try await c.subscribe(2)
            var next = settings
            next.maxSubscriptionsPerClient = 2
            next.maxClients = 2
            next.path = "/elsewhere"
            next.maxMessageBytes = 2048
            #expect(await f.reload([deskSchema, vaultSchema], next) == .init(kept: 2, ended: 0))
            // Lower limits end nothing; they refuse what comes next.
            #expect(try await c.subscribe(3)["code"] == .int(155))
            _ = try f.client()
            #expect(f.hub.open() == nil)
            #expect(f.hub.settings.maxSubscriptionsPerClient == 2)
            // Built into the running HTTP server: kept until a restart.
            #expect(f.hub.settings.path == nil && f.hub.settings.maxMessageBytes == 65_536)
            _ = try await f.gateway.create("Desk", body: ["name": .string("x")], caller: .master)
            _ = try await c.expect("create", requestId: 1)
            _ = try await c.expect("create", requestId: 2)
        }
    }

    /// Between the reloader's swap and `reconfigure`, a subscription made under the old configuration is applied
    /// with the stricter of both: a field the reload protects is not shown, not even in that window.
    @Test func aFieldProtectedByAReloadIsHiddenBeforeTheSubscriptionsAreRebuilt() async throws {
        var open = deskSchema
        open.access.protectedFields = [:]
        let first = Gateway(config: GatewayConfig(), connectors: [MemoryConnector(name: "memory", collections: [open])])
        let box = GatewayBox(first)
        let hub = LiveQueryHub(gateway: first, current: { box.value }, settings: LiveQuerySettings(classes: ["Desk"]), sessions: nil,
                               authenticate: { $0.applicationId == "app" ? .anonymous : nil })
        let task = Task { try await hub.run() }
        defer { task.cancel() }
        var c = TestClient(try #require(hub.open()))
        try await c.connect()
        _ = try await c.subscribe(1)
        _ = try await first.create("Desk", body: ["name": .string("before"), "secret": .string("s1")], caller: .master)
        #expect(try await c.expect("create", requestId: 1).object["secret"] == .string("s1"), "not protected yet")
        // The reloader has swapped the gateway; `reconfigure` has not run.
        let next = Gateway(config: GatewayConfig(), connectors: [MemoryConnector(name: "memory", collections: [deskSchema])], changes: first.changes)
        box.set(next)
        _ = try await next.create("Desk", body: ["name": .string("in the window"), "secret": .string("s2")], caller: .master)
        let event = try await c.expect("create", requestId: 1)
        #expect(event.object["name"] == .string("in the window"))
        #expect(event.object["secret"] == nil)
    }

    /// Images remembered under the old configuration are dropped by a reload and read again under the new one.
    @Test func aReloadReadsTheImagesAgain() async throws {
        var triggered = deskSchema
        triggered.liveQueryTriggers = true
        var config = GatewayConfig()
        config.liveQuery = LiveQuerySettings(classes: ["Desk"])
        let old = MemoryConnector(name: "memory", collections: [triggered])
        let context = ConnectorContext(caller: .master, logger: Gateway.quietLogger)
        for id in ["a", "b"] { _ = try await old.create(ParseObject(objectId: id, fields: ["floor": .int(1)]), in: triggered, context: context) }
        let first = Gateway(config: config, connectors: [old])
        let box = GatewayBox(first)
        let hub = LiveQueryHub(gateway: first, current: { box.value }, settings: LiveQuerySettings(classes: ["Desk"]), sessions: nil,
                               authenticate: { $0.applicationId == "app" ? .anonymous : nil })
        let task = Task { try await hub.run() }
        defer { task.cancel() }
        var c = TestClient(try #require(hub.open()))
        try await c.connect()
        _ = try await c.subscribe(1, where: #"{"floor": 1}"#)
        #expect(hub.rememberedImages.count == 2)
        // The reload points Desk at another source, where only one row matches.
        let other = MemoryConnector(name: "memory", collections: [triggered])
        _ = try await other.create(ParseObject(objectId: "c", fields: ["floor": .int(1)]), in: triggered, context: context)
        let next = Gateway(config: config, connectors: [other], changes: first.changes)
        box.set(next)
        let outcome = await hub.reconfigure(next)
        #expect(outcome.kept == 1)
        #expect(hub.rememberedImages.count == 1)
    }
}

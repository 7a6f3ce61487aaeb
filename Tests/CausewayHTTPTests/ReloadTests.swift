import CausewayCore
@testable import CausewayHTTP
import CausewayHTTPTesting
import CausewaySQLite
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

/// Hot reload through the admin page's button: added, changed, unchanged and removed connectors, and an
/// invalid configuration that leaves the running one serving.
@Suite struct ReloadTests {
    static let cached = AdminPageTests.cachedConnector
    static let extra = """
    kind: sqlite
    connection:
      path: extra.sqlite
    collections:
      Desk:
        table: desks
        fields:
          label: { type: string }
        seed:
          - { label: "North" }
          - { label: "South" }
    """
    static let master = ["X-Parse-Master-Key": ParseTestApp.masterKey]
    static let cacheHeader = HTTPField.Name("X-Causeway-Cache")!

    /// An app whose admin page can reload its configuration from the app's folder.
    static func run(_ body: @Sendable (ParseClient, String) async throws -> Void) async throws {
        let app = try ParseTestApp(identity: AdminPageTests.identity, connectors: cached)
        defer { try? FileManager.default.removeItem(atPath: app.root) }
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let root = app.root
        let built = CausewayApplication.build(configuration: app.configuration, logger: logger, reload: {
            var l = try ConfigLoader.load(configPath: root + "/Config/causeway.yaml", factories: [SQLiteConnectorFactory()])
            l.makeMetadataStore = { SQLiteMetadataStore(path: $0) }
            return l
        })
        try await built.test(.router) { client in try await body(ParseClient(client: client), root) }
    }

    static func reload(_ c: ParseClient) async throws -> String {
        let r = try await c.request(.post, "/admin/reload", "", headers: master)
        #expect(r.status == 303)
        let page = try await c.request(.get, "/admin", headers: master)
        guard let start = page.text.range(of: "id=\"reload-result\">") else { return "" }
        let rest = page.text[start.upperBound...]
        let end = rest.range(of: "</section>")?.lowerBound ?? rest.endIndex
        return String(rest[..<end])
    }

    @Test func anAddedConnectorIsServedAndAnUnchangedOneKeepsItsCache() async throws {
        try await Self.run { c, root in
            _ = try await c.get("/parse/classes/Workstation")
            #expect(try await c.get("/parse/classes/Workstation").headers[Self.cacheHeader] == "hit")
            #expect(try await c.get("/parse/classes/Desk").code == 103)
            try Self.extra.write(toFile: root + "/Connectors/extra.yaml", atomically: true, encoding: .utf8)
            let outcome = try await Self.reload(c)
            #expect(outcome.contains("Configuration 2 serving: 2 connector(s) (unchanged: store; added: extra)"), "\(outcome)")
            #expect(try await c.get("/parse/classes/Desk").ids("label").sorted() == ["North", "South"])
            // The unchanged connector kept its cache (and its instance).
            #expect(try await c.get("/parse/classes/Workstation").headers[Self.cacheHeader] == "hit")
            let health = try await c.get("/parse/health")
            #expect(health.status == 200, "\(health.text)")
        }
    }

    @Test func anInvalidConfigurationLeavesTheRunningOneServingAndSaysWhere() async throws {
        try await Self.run { c, root in
            try "kind: sqlite\nconnection:\n  path: broken.sqlite\ncollections:\n  Broken:\n    table: broken\n    fields:\n      x: { type: nonsense }\n"
                .write(toFile: root + "/Connectors/broken.yaml", atomically: true, encoding: .utf8)
            let outcome = try await Self.reload(c)
            #expect(outcome.contains("The configuration is invalid; the previous one keeps serving"), "\(outcome)")
            #expect(outcome.contains("broken.yaml:8:"), "\(outcome)")
            #expect(try await c.get("/parse/classes/Workstation").status == 200)
            #expect(try await c.get("/parse/classes/Broken").code == 103)
            let page = try await c.request(.get, "/admin", headers: Self.master)
            #expect(page.text.contains("configuration 1 ·"))
        }
    }

    @Test func aChangedConnectorIsRestartedWithItsNewMappingAndARemovedOneIsGone() async throws {
        try await Self.run { c, root in
            try Self.extra.write(toFile: root + "/Connectors/extra.yaml", atomically: true, encoding: .utf8)
            _ = try await Self.reload(c)
            _ = try await c.get("/parse/classes/Workstation")
            #expect(try await c.get("/parse/classes/Workstation").headers[Self.cacheHeader] == "hit")
            // store.yaml changes (a class renamed); extra.yaml is removed.
            let changed = Self.cached.replacingOccurrences(of: "  Locked:\n", with: "  Sealed:\n")
            try changed.write(toFile: root + "/Connectors/store.yaml", atomically: true, encoding: .utf8)
            try FileManager.default.removeItem(atPath: root + "/Connectors/extra.yaml")
            let outcome = try await Self.reload(c)
            #expect(outcome.contains("restarted: store; removed: extra"), "\(outcome)")
            #expect(try await c.get("/parse/classes/Sealed").status == 200)
            #expect(try await c.get("/parse/classes/Locked").code == 103)
            #expect(try await c.get("/parse/classes/Desk").code == 103)
            // A restarted connector starts with an empty cache.
            #expect(try await c.get("/parse/classes/Workstation").headers[Self.cacheHeader] == "miss")
            let health = try await c.get("/parse/health")
            #expect(health.status == 200 && !health.text.contains("extra"), "\(health.text)")
            let page = try await c.request(.get, "/admin", headers: Self.master)
            #expect(!page.text.contains("data-connector=\"extra\"") && page.text.contains("configuration 3 ·"))
        }
    }

    @Test func requestsInFlightFinishOnTheGenerationTheyStartedOn() async throws {
        // A generation retired while a request holds it is drained only when that request ends.
        let app = try ParseTestApp()
        defer { try? FileManager.default.removeItem(atPath: app.root) }
        let gateway = Gateway(config: app.configuration.gateway, connectors: [])
        let first = GatewayHolder.Generation(number: 1, gateway: gateway, responder: ParseResponder(gateway: gateway, status: ComponentStatus()))
        let holder = GatewayHolder(first)
        let held = holder.acquire()
        let second = GatewayHolder.Generation(number: 2, gateway: gateway, responder: ParseResponder(gateway: gateway, status: ComponentStatus()))
        #expect(holder.swap(second) === first)
        #expect(holder.acquire() === second)
        let drained = Task { await first.drained(); return true }
        #expect(first.requestsInFlight == 1)
        held.leave()
        #expect(await drained.value)
    }
}

import CausewayCore
@testable import CausewaySQLite
import CausewayTesting
import Logging
import Testing

/// The same queries with full pushdown, partial pushdown and none must return the same pages and counts.
@Suite struct PushdownEquivalenceTests {
    @Test func fullPartialAndNoPushdownAgree() async throws {
        let fixture = try await SQLiteFixture()
        let logger = Logger(label: "test")
        let full = fixture.gateway()
        for body in sampleBodies(count: 300) { _ = try await full.create("Item", body: body, caller: .anonymous) }

        var partialCaps = SQLiteConnector.fullCapabilities
        partialCaps.filterOperators.subtract([.regex, .or, .nearSphere, .isIn])
        partialCaps.distanceSorting = false
        let partialConnector = fixture.connector.withCapabilities(partialCaps)
        let scanConnector = fixture.connector.withCapabilities(.scanOnly)
        try await partialConnector.start(logger: logger)
        try await scanConnector.start(logger: logger)

        let report = try await ConnectorConformance.compare(
            reference: fixture.gateway(scanConnector),
            candidates: [("full", full), ("partial", fixture.gateway(partialConnector))],
            total: 300, logger: logger)
        #expect(report.mismatches.isEmpty, "\(report.mismatches)")
        #expect(report.fullyPushed == ConnectorConformance.queries.count - ConnectorConformance.inMemoryOnly,
                "everything but object paths and polygons runs in SQLite: \(report.fullyPushed)")
        #expect(report.selective >= ConnectorConformance.queries.count - 3, "most queries select some but not all objects")
        await partialConnector.shutdown()
        await scanConnector.shutdown()
        await fixture.close()
    }

    @Test func keysProjectionMatchesAcrossPlans() async throws {
        let fixture = try await SQLiteFixture()
        let logger = Logger(label: "test")
        let full = fixture.gateway()
        for body in sampleBodies(count: 40, seed: 7) { _ = try await full.create("Item", body: body, caller: .anonymous) }
        let scanConnector = fixture.connector.withCapabilities(.scanOnly)
        try await scanConnector.start(logger: logger)
        let params: [String: JSONValue] = ["where": .string(#"{"score":{"$exists":true}}"#), "keys": .string("name,tags"), "order": .string("score")]
        let query = try full.parseFind("Item", params)
        let a = try await full.find("Item", query, caller: .anonymous, logger: logger)
        let b = try await fixture.gateway(scanConnector).find("Item", query, caller: .anonymous, logger: logger)
        #expect(a.objects == b.objects)
        #expect(a.plan?.source.fields == ["name", "tags"], "only the requested columns are selected")
        for o in a.objects { #expect(Set(o.fields.keys).isSubset(of: ["name", "tags"])) }
        await scanConnector.shutdown()
        await fixture.close()
    }
}

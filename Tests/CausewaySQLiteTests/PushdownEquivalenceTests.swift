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

        let memory = try await ConnectorConformance.referenceGateway(copying: full, logger: logger)
        let report = try await ConnectorConformance.compare(
            reference: fixture.gateway(scanConnector),
            candidates: [("full", full), ("partial", fixture.gateway(partialConnector)), ("memory", memory)],
            total: 300, logger: logger)
        #expect(report.mismatches.isEmpty, "\(report.mismatches)")
        for connector in [fixture.connector, partialConnector] {
            let problems = await ConnectorConformance.checkDeclaredCapabilities(connector, reference: memory, logger: logger)
            #expect(problems.isEmpty, "\(connector.capabilities.filterOperators.count) operators: \(problems)")
        }
        #expect(report.fullyPushed == ConnectorConformance.queries.count - ConnectorConformance.inMemoryOnly,
                "everything but object paths and polygons runs in SQLite: \(report.fullyPushed)")
        #expect(report.selective >= ConnectorConformance.queries.count - 3, "most queries select some but not all objects")
        await partialConnector.shutdown()
        await scanConnector.shutdown()
        await fixture.close()
    }

    /// Writes, every update operator, error codes and deletes agree with the in-memory reference, with all
    /// operators declared and with some withdrawn (then they are refused cleanly).
    @Test func writesAgreeWithTheReference() async throws {
        let fixture = try await SQLiteFixture()
        let logger = Logger(label: "test")
        var fewer = SQLiteConnector.fullCapabilities
        fewer.updateOperations = [.set, .delete]
        let limited = fixture.connector.withCapabilities(fewer)
        try await limited.start(logger: logger)
        for (connector, declared) in [(fixture.connector, SQLiteConnector.fullCapabilities), (limited, fewer)] {
            let reference = try await ConnectorConformance.referenceGateway(copying: fixture.gateway(), logger: logger)
            let problems = await ConnectorConformance.checkWrites(candidate: fixture.gateway(connector), reference: reference,
                                                                  declared: declared, logger: logger)
            #expect(problems.isEmpty, "\(declared.updateOperations.count) update operators: \(problems)")
        }
        await limited.shutdown()
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

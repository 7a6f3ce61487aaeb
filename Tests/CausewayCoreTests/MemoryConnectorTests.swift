import CausewayCore
import CausewayTesting
import Logging
import Testing

/// The in-memory reference connector passes the same conformance suite as every source: full, partial and
/// no pushdown agree, writes and every update operator match, and what it declares it really does.
@Suite struct MemoryConnectorTests {
    static let logger = Logger(label: "test")

    static func gateway(_ capabilities: ConnectorCapabilities, rows: [ParseObject] = []) -> (Gateway, MemoryConnector) {
        let connector = MemoryConnector(name: "memory", collections: [testSchema], capabilities: capabilities, rows: ["Item": rows])
        return (Gateway(config: GatewayConfig(), connectors: [connector]), connector)
    }

    @Test func fullPartialAndNoPushdownAgree() async throws {
        let (full, connector) = Self.gateway(MemoryConnector.fullCapabilities)
        for body in sampleBodies(count: 200) { _ = try await full.create("Item", body: body, caller: .master) }
        var partialCaps = MemoryConnector.fullCapabilities
        partialCaps.filterOperators.subtract([.regex, .or, .nearSphere, .isIn])
        partialCaps.nestedPaths = false
        partialCaps.paging = false
        let rows = connector.objects(of: "Item")
        let report = try await ConnectorConformance.compare(
            reference: Self.gateway(.scanOnly, rows: rows).0,
            candidates: [("full", full), ("partial", Self.gateway(partialCaps, rows: rows).0)],
            total: 200, logger: Self.logger)
        #expect(report.mismatches.isEmpty, "\(report.mismatches)")
        #expect(report.fullyPushed == ConnectorConformance.queries.count, "the reference runs every query itself: \(report.fullyPushed)")
        #expect(report.selective >= ConnectorConformance.queries.count - 3)
        let problems = await ConnectorConformance.checkDeclaredCapabilities(connector, reference: Self.gateway(.scanOnly, rows: rows).0, logger: Self.logger)
        #expect(problems.isEmpty, "\(problems)")
    }

    @Test func writesAndUpdateOperatorsMatchTheEvaluator() async throws {
        var setOnly = MemoryConnector.fullCapabilities
        setOnly.updateOperations = [.set]
        for declared in [MemoryConnector.fullCapabilities, setOnly] {
            let candidate = Self.gateway(declared).0
            let problems = await ConnectorConformance.checkWrites(candidate: candidate, reference: Self.gateway(MemoryConnector.fullCapabilities).0,
                                                                  declared: declared, logger: Self.logger)
            #expect(problems.isEmpty, "\(declared.updateOperations.count) operators: \(problems)")
        }
    }

    /// The suite can fail: a connector that claims an operator but evaluates it wrongly is reported.
    @Test func aConnectorThatLiesAboutACapabilityIsCaught() async throws {
        let (full, connector) = Self.gateway(MemoryConnector.fullCapabilities)
        for body in sampleBodies(count: 60) { _ = try await full.create("Item", body: body, caller: .master) }
        let liar = WrongRegexConnector(inner: connector)
        let problems = await ConnectorConformance.checkDeclaredCapabilities(liar, reference: full, logger: Self.logger)
        #expect(problems.contains { $0.contains("$regex") }, "\(problems)")
    }
}

/// Declares `$regex` but ignores it (answers every row): what the capability check must catch.
struct WrongRegexConnector: Connector {
    let inner: MemoryConnector
    var name: String { "liar" }
    var kind: String { "liar" }
    var capabilities: ConnectorCapabilities { inner.capabilities }
    var collections: [CollectionSchema] { inner.collections }
    func find(_ query: SourceQuery, in collection: CollectionSchema, context: ConnectorContext) async throws -> [ParseObject] {
        var q = query
        q.filter = query.filter.flatMap { Self.dropRegex($0) }
        return try await inner.find(q, in: collection, context: context)
    }
    static func dropRegex(_ f: QueryFilter) -> QueryFilter? {
        switch f {
        case .field(_, .regex): return nil
        case .and(let parts): return QueryFilter.conjunction(parts.compactMap(dropRegex))
        default: return f
        }
    }
}

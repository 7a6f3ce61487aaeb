import CausewayCore
import CausewayTesting
import Logging
import Synchronization
import Testing

/// `$regex` runs under hard limits wherever Causeway evaluates it itself: a catastrophic pattern answers 102
/// at once instead of holding a core (the old engine took over 100 s on one 30-character value).
@Suite struct RegexBudgetTests {
    static let evil = String(repeating: "a", count: 30) + "!"

    @Test func aCatastrophicPatternStopsAtItsLimit() throws {
        let re = try BoundedRegex.compile("(a+)+$", options: "")
        #expect(throws: RegexBudgetExceeded.self) { _ = try re.matches(Self.evil) }
        #expect(try re.matches("aaa") == true)
        let words = try BoundedRegex.compile("^(\\w+\\s?)*$", options: "")
        #expect(throws: RegexBudgetExceeded.self) { _ = try words.matches(String(repeating: "word ", count: 12) + "!") }
    }

    @Test(arguments: [("full", MemoryConnector.fullCapabilities), ("scan", ConnectorCapabilities.scanOnly)])
    func theGatewayAnswers102WhenTheEvaluatorHitsTheLimit(_ label: String, _ caps: ConnectorCapabilities) async throws {
        let connector = MemoryConnector(name: "m", collections: [testSchema], capabilities: caps)
        let gateway = Gateway(config: GatewayConfig(), connectors: [connector])
        _ = try await gateway.create("Item", body: ["name": .string(Self.evil)], caller: .master)
        _ = try await gateway.create("Item", body: ["name": .string("plain")], caller: .master)
        let query = try gateway.parseFind("Item", ["where": .string(#"{"name":{"$regex":"(a+)+$"}}"#)])
        let error = await #expect(throws: GatewayError.self) { _ = try await gateway.find("Item", query, caller: .anonymous, logger: Logger(label: "t")) }
        #expect(error?.code == .invalidQuery && error?.message.contains("backtracking") == true, "\(label): \(String(describing: error))")
        // An ordinary pattern on the same data answers.
        let fine = try gateway.parseFind("Item", ["where": .string(#"{"name":{"$regex":"^pl"}}"#)])
        #expect(try await gateway.find("Item", fine, caller: .anonymous, logger: Logger(label: "t")).objects.count == 1)
    }

    @Test func invalidPatternsNameTheProblem() {
        let error = #expect(throws: GatewayError.self) { _ = try BoundedRegex.compile("(unclosed", options: "") }
        #expect(error?.code == .invalidQuery && error?.message.contains("offset") == true, "\(String(describing: error))")
    }
}

/// In-memory evaluation has a time budget per request (`limits.evaluationSeconds`): past it the request
/// answers 124. The clock is injected: each reading advances it by one second.
@Suite struct EvaluationBudgetTests {
    final class SteppingClock: Sendable {
        let start = ContinuousClock.now
        let steps = Atomic<Int>(0)
        func now() -> ContinuousClock.Instant { start + .seconds(steps.wrappingAdd(1, ordering: .relaxed).newValue) }
    }

    @Test func inMemoryEvaluationStopsAtItsBudget() async throws {
        let clock = SteppingClock()
        var config = GatewayConfig()
        config.limits.evaluationBudget = .seconds(3)
        let rows = (0..<2000).map { ParseObject(objectId: "o\($0)", fields: ["score": .int(Int64($0))]) }
        let connector = MemoryConnector(name: "m", collections: [testSchema], capabilities: .scanOnly, rows: ["Item": rows])
        let gateway = Gateway(config: config, connectors: [connector], now: { clock.now() })
        let query = try gateway.parseFind("Item", ["where": .string(#"{"score":{"$gt":10}}"#)])
        let error = await #expect(throws: GatewayError.self) { _ = try await gateway.find("Item", query, caller: .anonymous, logger: Logger(label: "t")) }
        #expect(error?.code == .timeout && error?.message.contains("limits.evaluationSeconds") == true, "\(String(describing: error))")
        // With the real clock the same query answers well within the default budget.
        let real = Gateway(config: GatewayConfig(), connectors: [connector])
        #expect(try await real.find("Item", query, caller: .anonymous, logger: Logger(label: "t")).objects.count == 100)
    }
}

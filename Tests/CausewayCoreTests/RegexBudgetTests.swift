import CausewayCore
import CausewayTesting
import Logging
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

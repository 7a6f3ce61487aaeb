@testable import CausewayCore
import Logging
import Testing

@Suite struct ResponseCacheTests {
    func answer(_ i: Int) -> CachedAnswer {
        .object(ParseObject(objectId: "id\(i)", fields: ["text": .string(String(repeating: "x", count: 300))]))
    }

    @Test func theProcessWideCapHoldsAcrossConnectors() async throws {
        let budget = CacheBudget(maxBytes: 8 * 1024)
        let a = ResponseCache(connector: "a", maxBytes: 1 << 20, budget: budget, metricsFactory: nil)
        let b = ResponseCache(connector: "b", maxBytes: 1 << 20, budget: budget, metricsFactory: nil)
        var policy = CachePolicy()
        policy.ttlMs = 60_000
        let logger = Logger(label: "test")
        for i in 0..<100 {
            for cache in [a, b] {
                _ = try await cache.answer(key: "k\(i)", className: "C", policy: policy, logger: logger) { self.answer(i) }
                #expect(budget.usedBytes <= 8 * 1024)
                #expect(a.usedBytes + b.usedBytes == budget.usedBytes)
            }
        }
        #expect(a.entryCount > 0 && b.entryCount > 0 && a.entryCount + b.entryCount < 40)
        a.purge()
        b.purge()
        #expect(budget.usedBytes == 0)
    }

    @Test func anEntryLargerThanTheBudgetIsNotStored() async throws {
        let cache = ResponseCache(connector: "a", maxBytes: 2048, budget: CacheBudget(maxBytes: 1 << 20), metricsFactory: nil)
        var policy = CachePolicy()
        policy.ttlMs = 60_000
        let big = CachedAnswer.object(ParseObject(objectId: "big", fields: ["text": .string(String(repeating: "y", count: 5000))]))
        let (_, first) = try await cache.answer(key: "big", className: "C", policy: policy, logger: Logger(label: "t")) { big }
        let (_, second) = try await cache.answer(key: "big", className: "C", policy: policy, logger: Logger(label: "t")) { big }
        #expect(first == .miss && second == .miss && cache.usedBytes == 0)
    }

    @Test func canonicalTextIgnoresOrderButNotMeaning() throws {
        let schema = CollectionSchema(className: "C", connectorName: "x",
                                      fields: ["a": FieldMapping(name: "a", type: .number, column: "a"), "b": FieldMapping(name: "b", type: .string, column: "b")],
                                      objectId: ObjectIdMapping(column: "id"))
        func text(_ json: String) throws -> String {
            CanonicalQuery.text(try QueryParser(schema: schema).parse(try JSONParser.parse(Array(json.utf8))))
        }
        #expect(try text(#"{"a":1,"b":"x"}"#) == text(#"{"b":"x","a":1}"#))
        #expect(try text(#"{"$or":[{"a":1},{"b":"x"}]}"#) == text(#"{"$or":[{"b":"x"},{"a":1}]}"#))
        #expect(try text(#"{"a":{"$in":[1,2]}}"#) == text(#"{"a":{"$in":[2,1]}}"#))
        #expect(try text(#"{"a":1}"#) != text(#"{"a":2}"#))
        #expect(try text(#"{"a":{"$gt":1}}"#) != text(#"{"a":{"$gte":1}}"#))
        #expect(try text(#"{"b":"1"}"#) != text(#"{"b":"x"}"#))
    }
}

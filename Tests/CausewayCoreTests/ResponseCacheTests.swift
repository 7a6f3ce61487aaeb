@testable import CausewayCore
import CausewayTesting
import Logging
import ServiceLifecycleTestKit
import Synchronization
import Testing

@Suite(.timeLimit(.minutes(2))) struct ResponseCacheTests {
    static func answer(_ i: Int) -> CachedAnswer {
        .object(ParseObject(objectId: "id\(i)", fields: ["text": .string(String(repeating: "x", count: 300))]))
    }

    /// A source the test counts and can hold at its gate (open from the start unless `held`).
    final class Source: Sendable {
        let gate = SourceGate()
        private let count = Mutex(0)
        private let answered: @Sendable () -> Void

        init(held: Bool = false, answered: @escaping @Sendable () -> Void = {}) {
            self.answered = answered
            if !held { gate.open() }
        }

        var calls: Int { count.withLock { $0 } }

        func load(_ i: Int) -> @Sendable () async throws -> CachedAnswer {
            { [self] in
                count.withLock { $0 += 1 }
                await gate.pass()
                answered()
                return ResponseCacheTests.answer(i)
            }
        }
    }

    /// Fresh for 1 s, then served stale for 30 s while one refresh runs.
    static let staleWindow: CachePolicy = {
        var policy = CachePolicy()
        policy.ttlMs = 1000
        policy.staleWhileRevalidateMs = 30_000
        return policy
    }()

    static func cache(_ clock: ManualClock, _ refresher: CacheRefresher) -> ResponseCache {
        ResponseCache(connector: "a", maxBytes: 1 << 20, budget: CacheBudget(maxBytes: 1 << 20), metricsFactory: nil, clock: clock, refresher: refresher)
    }

    func lookup(_ cache: ResponseCache, _ key: String, _ load: @escaping @Sendable () async throws -> CachedAnswer) async throws -> (CachedAnswer, CacheOutcome) {
        try await cache.answer(key: key, className: "C", policy: Self.staleWindow, logger: Logger(label: "test"), load: load)
    }

    /// The refresh is held at the source: every stale answer meanwhile comes without waiting for it, and it
    /// is the only source call until its answer is stored.
    @Test func staleAnswersComeAtOnceWhileOneRefreshRuns() async throws {
        let clock = ManualClock()
        let refresher = CacheRefresher()
        let cache = Self.cache(clock, refresher)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await refresher.run() }
            for await _ in refresher.started {}
            #expect(try await lookup(cache, "k", Source().load(1)).1 == .miss)
            clock.advance(by: .milliseconds(1001))  // past the TTL, inside the stale window
            let held = Source(held: true)
            for _ in 0..<20 {
                let (answer, outcome) = try await lookup(cache, "k", held.load(2))
                #expect(outcome == .stale && answer.body == Self.answer(1).body)
            }
            await held.gate.waitForArrivals(1)
            #expect(held.calls == 1)
            held.gate.open()
            var (answer, outcome) = (Self.answer(1), CacheOutcome.stale)
            while outcome == .stale {  // until the refresh has stored its answer
                await Task.yield()
                (answer, outcome) = try await lookup(cache, "k", held.load(3))
            }
            #expect(outcome == .hit && answer.body == Self.answer(2).body)
            #expect(held.calls == 1)
            group.cancelAll()
        }
    }

    /// Graceful shutdown stops taking refreshes (a stale entry is then loaded like a miss) and `run()` returns
    /// only after the refreshes it took, also one that started before `run()` did, in a task of its own.
    @Test(arguments: [false, true]) func shutdownWaitsForRefreshes(refreshBeforeRun: Bool) async throws {
        let clock = ManualClock()
        let refresher = CacheRefresher()
        let cache = Self.cache(clock, refresher)
        let events = Log<String>()
        let held = Source(held: true) { events.append("refresh answered") }
        _ = try await lookup(cache, "k", Source().load(1))
        _ = try await lookup(cache, "other", Source().load(1))
        clock.advance(by: .milliseconds(1001))
        func refresh() async throws {
            #expect(try await lookup(cache, "k", held.load(2)).1 == .stale)
            await held.gate.waitForArrivals(1)
        }
        if refreshBeforeRun { try await refresh() }
        try await testGracefulShutdown { trigger in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    try await refresher.run()
                    events.append("run returned")
                }
                for await _ in refresher.started {}
                if !refreshBeforeRun { try await refresh() }
                trigger.triggerGracefulShutdown()
                let other = Source()
                #expect(try await lookup(cache, "other", other.load(3)).1 == .miss)
                #expect(other.calls == 1)
                #expect(events.all.isEmpty)  // run() waits for the held refresh
                held.gate.open()
                try await group.waitForAll()
            }
        }
        #expect(events.all == ["refresh answered", "run returned"])
        let (answer, outcome) = try await lookup(cache, "k", Source().load(4))
        #expect(outcome == .hit && answer.body == Self.answer(2).body)
        #expect(held.calls == 1)
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
                _ = try await cache.answer(key: "k\(i)", className: "C", policy: policy, logger: logger) { Self.answer(i) }
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

import CausewayCore
import CausewayHTTPTesting
import CausewaySQLite
import CausewayTesting
import Foundation
import Testing

/// Caching against a deliberately slow and countable source (`CountingConnector` over SQLite).
@Suite struct CacheTests {
    static func connectors(_ cache: String, collectionCache: String = "") -> String {
        """
        kind: counting
        connection:
          path: store.sqlite
        cache:
        \(cache)
        collections:
          Item:
            table: items
            createdAt: created_at
            updatedAt: updated_at
            fields:
              name: { type: string }
              department: { type: string }
              score: { type: number }
            rowLevel:
              read: { department: "$user.department" }
              exempt: ["role:Admin"]
        \(collectionCache)
            seed:
              - { name: "a", department: IT, score: 1 }
              - { name: "b", department: IT, score: 2 }
              - { name: "c", department: HR, score: 3 }
          Open:
            table: open
            fields:
              name: { type: string }
              score: { type: number }
            seed:
              - { name: "x", score: 1 }
              - { name: "y", score: 2 }
        """
    }

    static let identity = """
    identityProviders:
      - kind: local
        fields: [department]
        roles: { boss: [Admin] }
    metrics:
      bearerToken: metrics-token-0123456789
    """

    /// `clock`: where the caches read the time; tests that pass TTLs and stale windows move a `ManualClock`.
    func app(_ cache: String, probe: SourceProbe, collectionCache: String = "", clock: any Clock<Duration> = ContinuousClock()) throws -> ParseTestApp {
        try ParseTestApp(identity: Self.identity, connectors: Self.connectors(cache, collectionCache: collectionCache),
                         factories: [CountingConnectorFactory(inner: SQLiteConnectorFactory(), probe: probe)], cacheClock: clock)
    }

    func outcome(_ r: ParseResult) -> String { r.headers[.init("X-Causeway-Cache")!] ?? "none" }

    @Test func concurrentIdenticalMissesMakeOneSourceCall() async throws {
        let probe = SourceProbe()
        try await app("  ttlSeconds: 60", probe: probe).run { c async throws in
            probe.set(delay: .milliseconds(300))
            let outcomes = try await withThrowingTaskGroup(of: (Int, String, String).self) { group in
                for _ in 0..<200 {
                    group.addTask {
                        let r = try await c.find("Open", ["where": #"{"score":{"$gte":1}}"#, "order": "name"])
                        return (r.status, self.outcome(r), r.ids().joined(separator: ","))
                    }
                }
                var all: [(Int, String, String)] = []
                for try await o in group { all.append(o) }
                return all
            }
            #expect(probe.reads == 1)
            #expect(outcomes.allSatisfy { $0.0 == 200 && $0.2 == "x,y" }, "\(outcomes.filter { $0.0 != 200 || $0.2 != "x,y" }.prefix(3))")
            #expect(outcomes.filter { $0.1 == "miss" }.count == 1 && outcomes.filter { $0.1 == "coalesced" }.count == 199)
            #expect(outcome(try await c.find("Open", ["where": #"{"score":{"$gte":1}}"#, "order": "name"])) == "hit")
            #expect(probe.reads == 1)
        }
    }

    @Test func equivalentQueriesShareOneEntry() async throws {
        let probe = SourceProbe()
        try await app("  ttlSeconds: 60", probe: probe).run { c async throws in
            #expect(outcome(try await c.find("Open", ["where": #"{"name":"x","score":1}"#])) == "miss")
            #expect(outcome(try await c.find("Open", ["where": #"{"score":1,"name":"x"}"#, "limit": "100"])) == "hit")
            #expect(outcome(try await c.find("Open", ["where": #"{"$and":[{"score":1},{"name":"x"}]}"#])) == "hit")
            #expect(outcome(try await c.find("Open", ["where": #"{"score":{"$in":[2,1]}}"#])) == "miss")
            #expect(outcome(try await c.find("Open", ["where": #"{"score":{"$in":[1,2]}}"#])) == "hit")
            // Different answers, different entries.
            #expect(outcome(try await c.find("Open", ["where": #"{"score":1}"#, "limit": "1"])) == "miss")
            #expect(outcome(try await c.find("Open", ["where": #"{"score":1}"#, "keys": "name"])) == "miss")
            #expect(outcome(try await c.find("Open", ["count": "1", "limit": "0"])) == "miss")
            #expect(probe.reads == 5)
        }
    }

    @Test func entriesExpireAfterTheirTimeToLive() async throws {
        let probe = SourceProbe()
        let clock = ManualClock()
        try await app("  ttlSeconds: 1", probe: probe, clock: clock).run { c async throws in
            #expect(outcome(try await c.get("/parse/classes/Open?limit=1")) == "miss")
            #expect(outcome(try await c.get("/parse/classes/Open?limit=1")) == "hit")
            clock.advance(by: .milliseconds(1200))
            #expect(outcome(try await c.get("/parse/classes/Open?limit=1")) == "miss")
            #expect(probe.reads == 2)
        }
    }

    /// The source is held blocked (a gate the test opens) from the moment the entry goes stale: every answer
    /// that arrives meanwhile cannot have waited for the source, so no wall-clock measure is needed.
    @Test(.timeLimit(.minutes(2)))  // would a stale answer wait for the held source, the test would hang: fail it instead
    func staleWhileRevalidateAnswersAtOnceAndRefreshesOnce() async throws {
        let probe = SourceProbe()
        let clock = ManualClock()
        try await app("  ttlSeconds: 1\n  staleWhileRevalidateSeconds: 30", probe: probe, clock: clock).run { c async throws in
            _ = try await c.get("/parse/classes/Open")
            #expect(probe.reads == 1)
            clock.advance(by: .milliseconds(1200))
            let source = probe.hold()
            var outcomes: [String] = []
            for _ in 0..<20 { outcomes.append(outcome(try await c.get("/parse/classes/Open"))) }
            #expect(outcomes.allSatisfy { $0 == "stale" }, "\(outcomes)")
            await source.waitForArrivals(1)  // the background refresh is at the source, held there
            #expect(probe.reads == 2)  // one background refresh for all those stale answers
            source.open()
            var last = "stale"
            while last == "stale" {  // the refresh lands once the source has answered; until then: stale
                await Task.yield()
                last = outcome(try await c.get("/parse/classes/Open"))
            }
            #expect(last == "hit")
            #expect(probe.reads == 2)
        }
    }

    @Test func staleIfErrorServesOldAnswersUntilItsLimit() async throws {
        let probe = SourceProbe()
        let clock = ManualClock()
        try await app("  ttlSeconds: 1\n  staleIfErrorSeconds: 2", probe: probe, clock: clock).run { c async throws in
            let fresh = try await c.get("/parse/classes/Open")
            clock.advance(by: .milliseconds(1200))
            probe.set(failing: true)
            let stale = try await c.get("/parse/classes/Open")
            #expect(stale.status == 200 && outcome(stale) == "stale-if-error" && stale.text == fresh.text)
            #expect(stale.headers[.init("Warning")!] == #"111 - "Revalidation Failed""#)
            clock.advance(by: .milliseconds(2200))
            let failed = try await c.get("/parse/classes/Open")
            #expect(failed.status == 503 && failed.code == 100)
            // A query never answered before has nothing to fall back on.
            #expect(try await c.get("/parse/classes/Open?limit=1").status == 503)
        }
    }

    @Test func aWriteInvalidatesBeforeItIsAcknowledged() async throws {
        let probe = SourceProbe()
        try await app("  ttlSeconds: 600", probe: probe).run { c async throws in
            let before = try await c.find("Open", ["order": "name"])
            let id = before.results.first?["objectId"]?.stringValue ?? ""
            #expect(outcome(try await c.get("/parse/classes/Open/\(id)")) == "miss")
            #expect(outcome(try await c.get("/parse/classes/Open/\(id)")) == "hit")
            #expect(try await c.request(.put, "/parse/classes/Open/\(id)", #"{"name":"renamed"}"#).status == 200)
            let one = try await c.get("/parse/classes/Open/\(id)")
            #expect(outcome(one) == "miss" && one["name"]?.stringValue == "renamed")
            let list = try await c.find("Open", ["order": "name"])
            #expect(outcome(list) == "miss" && list.ids().contains("renamed"))
            _ = try await c.request(.post, "/parse/classes/Open", #"{"name":"z"}"#)
            #expect(try await c.find("Open", ["order": "name"]).ids() == ["renamed", "y", "z"])
            // Batches invalidate too.
            _ = try await c.request(.post, "/parse/batch", #"{"requests":[{"method":"DELETE","path":"/parse/classes/Open/\#(id)"}]}"#)
            #expect(try await c.find("Open", ["order": "name"]).ids() == ["y", "z"])
        }
    }

    @Test func usersWithDifferentRowsNeverShareAnEntry() async throws {
        let probe = SourceProbe()
        try await app("  ttlSeconds: 600", probe: probe).run { c async throws in
            for (name, department) in [("ann", "IT"), ("ben", "HR"), ("cid", "IT"), ("boss", "HR")] {
                _ = try await c.request(.post, "/parse/users", #"{"username":"\#(name)","password":"long enough","department":"\#(department)"}"#)
            }
            let ann = try await c.token("ann", "long enough"), ben = try await c.token("ben", "long enough")
            let cid = try await c.token("cid", "long enough"), boss = try await c.token("boss", "long enough")
            let a = try await c.find("Item", ["order": "name"], headers: ParseClient.session(ann))
            #expect(a.ids() == ["a", "b"] && outcome(a) == "miss")
            let b = try await c.find("Item", ["order": "name"], headers: ParseClient.session(ben))
            #expect(b.ids() == ["c"] && outcome(b) == "miss")
            let same = try await c.find("Item", ["order": "name"], headers: ParseClient.session(cid))
            #expect(same.ids() == ["a", "b"] && outcome(same) == "hit")  // same department: the same rows
            let all = try await c.find("Item", ["order": "name"], headers: ParseClient.session(boss))
            #expect(all.ids() == ["a", "b", "c"] && outcome(all) == "miss")
            #expect(try await c.find("Item", ["order": "name"]).ids().isEmpty)
            #expect(try await c.find("Item", ["order": "name"], headers: ParseClient.session(ben)).ids() == ["c"])
        }
    }

    @Test func theByteBudgetHoldsUnderAFloodOfDistinctQueries() async throws {
        let probe = SourceProbe()
        try await app("  ttlSeconds: 600\n  maxBytes: 16KiB", probe: probe).run { c async throws in
            for i in 0..<400 {
                #expect(try await c.find("Open", ["where": #"{"score":{"$gte":\#(-i)}}"#]).status == 200)
            }
            let metrics = try await c.get("/metrics", headers: ["Authorization": "Bearer metrics-token-0123456789"])
            let bytes = metrics.text.split(separator: "\n").first { $0.hasPrefix("causeway_cache_bytes{") }
                .flatMap { Double($0.split(separator: " ").last ?? "") } ?? -1
            #expect(bytes > 0 && bytes <= 16 * 1024, "cache bytes \(bytes)")
            let evictions = metrics.text.split(separator: "\n").filter { $0.hasPrefix("causeway_cache_evictions_total{") }
                .compactMap { Double($0.split(separator: " ").last ?? "") }.reduce(0, +)
            #expect(evictions > 300)
            // The most recent entry is still there; the oldest is gone.
            #expect(outcome(try await c.find("Open", ["where": #"{"score":{"$gte":-399}}"#])) == "hit")
            #expect(outcome(try await c.find("Open", ["where": #"{"score":{"$gte":0}}"#])) == "miss")
        }
    }

    @Test func masterKeyBypassesAndPurges() async throws {
        let probe = SourceProbe()
        try await app("  ttlSeconds: 600", probe: probe).run { c async throws in
            _ = try await c.get("/parse/classes/Open")
            let bypass = ParseClient.masterHeaders.merging(["X-Causeway-Cache": "bypass"]) { $1 }
            #expect(outcome(try await c.get("/parse/classes/Open", headers: bypass)) == "bypass")
            #expect(probe.reads == 2)
            // Without the master key the header is ignored.
            #expect(outcome(try await c.get("/parse/classes/Open", headers: ParseClient.standardHeaders.merging(["X-Causeway-Cache": "bypass"]) { $1 })) == "hit")
            #expect(try await c.request(.delete, "/parse/cache").status == 403)
            let purged = try await c.request(.delete, "/parse/cache/classes/Open", headers: ParseClient.masterHeaders)
            #expect(purged.status == 200 && purged["purged"] == .int(1))
            #expect(outcome(try await c.get("/parse/classes/Open")) == "miss")
            #expect(try await c.request(.delete, "/parse/cache/connectors/store", headers: ParseClient.masterHeaders)["purged"] == .int(1))
            #expect(try await c.request(.delete, "/parse/cache/connectors/nope", headers: ParseClient.masterHeaders).code == 101)
            #expect(try await c.request(.delete, "/parse/cache", headers: ParseClient.masterHeaders).status == 200)
        }
    }

    @Test func perCollectionOverridesAndOperations() async throws {
        let probe = SourceProbe()
        try await app("  ttlSeconds: 600\n  operations: [find]", probe: probe, collectionCache: "    cache: off").run { c async throws in
            #expect(outcome(try await c.get("/parse/classes/Open")) == "miss")
            #expect(outcome(try await c.get("/parse/classes/Open")) == "hit")
            let id = try await c.find("Open", [:]).results.first?["objectId"]?.stringValue ?? ""
            #expect(outcome(try await c.get("/parse/classes/Open/\(id)")) == "none")  // get is not cached here
            #expect(outcome(try await c.get("/parse/classes/Item", headers: ParseClient.masterHeaders)) == "none")  // Item: cache off
        }
    }

    @Test func metricsAreProtectedAndCountWhatHappened() async throws {
        let probe = SourceProbe()
        try await app("  ttlSeconds: 600", probe: probe).run { c async throws in
            _ = try await c.get("/parse/classes/Open")
            _ = try await c.get("/parse/classes/Open")
            #expect(try await c.get("/metrics", headers: [:]).status == 403)
            #expect(try await c.get("/metrics", headers: ["Authorization": "Bearer wrong-token-0000000000"]).status == 403)
            let m = try await c.get("/metrics", headers: ["X-Parse-Master-Key": ParseTestApp.masterKey])
            #expect(m.status == 200 && m.headers[.contentType]?.hasPrefix("text/plain") == true)
            #expect(m.text.contains(#"causeway_cache_hits_total{connector="store",collection="Open"} 1"#))
            #expect(m.text.contains(#"causeway_cache_misses_total{connector="store",collection="Open"} 1"#))
            #expect(m.text.contains("causeway_source_latency_seconds_count{connector=\"store\",collection=\"Open\"} 1"))
            // Answers are private and never stored by HTTP caches.
            let r = try await c.get("/parse/classes/Open")
            #expect(r.headers[.cacheControl] == "private, no-cache, no-store")
        }
    }

    @Test func cacheConfigurationErrorsNameTheKey() throws {
        let probe = SourceProbe()
        for (bad, message) in [("  ttlSeconds: 0", "ttlSeconds"), ("  maxBytes: lots", "maxBytes"), ("  operations: [get, scan]", "unknown operation 'scan'"),
                               ("  ttl: 5", "unknown key")] {
            do {
                _ = try app(bad, probe: probe)
                Issue.record("accepted \(bad)")
            } catch let e as ConfigErrors {
                #expect(e.errors.first?.description.contains(message) == true && e.errors.first?.description.contains("cache") == true, "\(e.errors)")
            }
        }
    }
}

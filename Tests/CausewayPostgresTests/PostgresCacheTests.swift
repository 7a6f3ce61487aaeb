import CausewayCore
@testable import CausewayPostgres
import Foundation
import Logging
import Testing

/// Caching in front of a deliberately slow PostgreSQL source: a view over a function that sleeps and
/// counts its calls in a sequence, so the count comes from the database itself.
@Suite struct PostgresCacheTests {
    @Test func concurrentIdenticalRequestsMakeOneDatabaseCall() async throws {
        try await withPostgresFixture(setupSQL: """
            CREATE SEQUENCE calls;
            CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL);
            INSERT INTO items VALUES (1, 'a'), (2, 'b')
            """) { fx in
            try await fx.execute("""
                CREATE FUNCTION \(fx.schemaName).slow_items() RETURNS SETOF \(fx.schemaName).items LANGUAGE plpgsql AS $$
                BEGIN PERFORM pg_sleep(0.3); PERFORM nextval('\(fx.schemaName).calls'); RETURN QUERY SELECT * FROM \(fx.schemaName).items; END $$
                """)
            try await fx.execute("CREATE VIEW \(fx.schemaName).slow AS SELECT * FROM \(fx.schemaName).slow_items()")
            let connector = try await fx.connector("""
                  Slow:
                    schema: SCHEMA
                    table: slow
                    readOnly: true
                    objectId: { column: id, type: integer }
                    fields:
                      name: { type: string }
                """)
            var policy = CachePolicy()
            policy.ttlMs = 60_000
            let gw = Gateway(config: GatewayConfig(), connectors: [connector],
                             caches: CacheSet(policies: ["pg": policy], maxBytes: 1 << 20, metricsFactory: nil))
            let query = try gw.parseFind("Slow", ["order": .string("name")])
            let logger = fx.logger
            let results = try await withThrowingTaskGroup(of: [String].self) { group in
                for _ in 0..<200 {
                    group.addTask {
                        // Through the cache the answer comes encoded, as it goes on the wire.
                        let body = try #require(try await gw.find("Slow", query, caller: .anonymous, logger: logger).body)
                        return try JSONParser.parse(body)["results"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
                    }
                }
                var all: [[String]] = []
                for try await r in group { all.append(r) }
                return all
            }
            #expect(results.count == 200 && results.allSatisfy { $0 == ["a", "b"] })
            #expect(try await fx.scalar("SELECT (CASE WHEN is_called THEN last_value ELSE 0 END)::text FROM \(fx.schemaName).calls") == "1")
            // A different query is a different entry: one more call.
            let other = try gw.parseFind("Slow", ["where": .string(#"{"name":"a"}"#)])
            _ = try await gw.find("Slow", other, caller: .anonymous, logger: logger)
            _ = try await gw.find("Slow", other, caller: .anonymous, logger: logger)
            #expect(try await fx.scalar("SELECT last_value::text FROM \(fx.schemaName).calls") == "2")
        }
    }
}

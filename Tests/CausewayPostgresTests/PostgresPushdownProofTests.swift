import CausewayCore
@testable import CausewayPostgres
import Logging
import PostgresNIO
import Testing

/// On a table of a million rows, a selective indexed query returns its page while the one statement the
/// connector ran carries the filter, the order and the limit.
@Suite struct PostgresPushdownProofTests {
    @Test func aMillionRowTableIsQueriedInTheDatabase() async throws {
        try await withPostgresFixture(setupSQL: """
            CREATE TABLE events (id bigint PRIMARY KEY, kind text NOT NULL, severity integer NOT NULL,
                                 at timestamptz NOT NULL, host text);
            INSERT INTO events
              SELECT g, 'kind-' || (g % 1000), (g::bigint * 7919 % 100)::integer, timestamptz '2026-01-01 00:00:00+00' + g * interval '1 second', 'host-' || (g % 50)
              FROM generate_series(1, 1000000) AS g;
            CREATE INDEX events_kind_severity ON events (kind, severity DESC);
            ANALYZE events
            """) { fx in
            let recorder = StatementRecorder()
            var logger = Logger(label: "proof") { _ in recorder }
            logger.logLevel = .debug
            let connector = try await fx.connector("""
                  Event:
                    schema: SCHEMA
                    table: events
                    objectId: { column: id, type: integer }
                    fields:
                      kind: { type: string }
                      severity: { type: number }
                      at: { type: date }
                      host: { type: string }
                """, logger: logger)
            let g = gateway(connector)
            #expect(try await fx.scalar("SELECT count(*)::text FROM \(fx.schemaName).events") == "1000000")
            let query = try g.parseFind("Event", [
                "where": .string(#"{"kind":"kind-42","severity":{"$gte":90}}"#),
                "order": .string("-severity"), "limit": .int(5), "keys": .string("kind,severity"),
            ])
            let result = try await g.find("Event", query, caller: .anonymous, logger: logger)
            #expect(result.plan?.isFullyPushed == true)
            #expect(result.objects.count == 5)
            #expect(result.objects.allSatisfy { $0.fields["kind"] == .string("kind-42") && ($0.fields["severity"]?.doubleValue ?? 0) >= 90 })
            #expect(result.objects.allSatisfy { $0.fields["host"] == nil }, "only the requested columns were selected")
            let expected = try await fx.admin.query(PostgresQuery(unsafeSQL:
                "SELECT id::text AS key FROM \(fx.schemaName).events WHERE kind = 'kind-42' AND severity >= 90 ORDER BY severity DESC, events.id LIMIT 5"),
                logger: fx.logger).collect().map { try $0.decode(String.self) }
            #expect(result.objects.compactMap(\.objectId) == expected)

            let statements = recorder.statements.filter { $0.contains("\"events\"") && !$0.contains("pg_catalog") }
            #expect(statements.count == 1, "one statement: \(statements)")
            let sql = statements.first ?? ""
            #expect(sql.contains(#"WHERE ("kind" = $1::text AND "severity" >= $2::text::integer)"#), "filter pushed: \(sql)")
            #expect(sql.contains(#"ORDER BY "severity" DESC, "id" ASC"#), "order pushed: \(sql)")
            #expect(sql.contains("LIMIT $3::text::bigint"), "limit pushed: \(sql)")
            #expect(sql.hasPrefix(#"SELECT "id", "kind", "severity" FROM"#), "projection pushed: \(sql)")

            // PostgreSQL answers it from the index, not by scanning the table.
            let plan = try await fx.admin.query(PostgresQuery(unsafeSQL:
                "EXPLAIN SELECT id FROM \(fx.schemaName).events WHERE kind = 'kind-42' AND severity >= 90 ORDER BY severity DESC NULLS LAST, id LIMIT 5"),
                logger: fx.logger).collect().map { try $0.decode(String.self) }.joined(separator: "\n")
            #expect(plan.contains("events_kind_severity") && !plan.contains("Seq Scan"), "\(plan)")

            // Counting is pushed too.
            let count = try await g.find("Event", try g.parseFind("Event", ["where": .string(#"{"kind":"kind-7"}"#), "count": .int(1), "limit": .int(0)]),
                                         caller: .anonymous, logger: logger)
            #expect(count.count == 1000)
            #expect(recorder.statements.last?.hasPrefix(#"SELECT count(*) FROM"#) == true && recorder.statements.last?.contains(#"WHERE "kind" = $1::text"#) == true,
                    "\(recorder.statements.last ?? "")")
        }
    }
}

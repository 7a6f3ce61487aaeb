import CausewayCore
@testable import CausewayPostgres
import Foundation
import Logging
import PostgresNIO
import Testing

/// LiveQuery changes from PostgreSQL triggers (#17): the SQL `causeway live-triggers` prints installs cleanly
/// (twice), and rows changed directly with SQL reach the change feed through `PostgresChangeListener`.
/// Timing comes from awaiting the listener's events and the feed, never from sleeping.
@Suite struct PostgresChangeListenerTests {
    static let setupSQL = """
        CREATE TABLE desks (id text PRIMARY KEY, name text NOT NULL, floor integer NOT NULL);
        CREATE TABLE rooms (num integer PRIMARY KEY, label text);
        INSERT INTO desks VALUES ('d1', 'Harbour 1', 1)
        """
    static let collections = """
          Desk:
            schema: SCHEMA
            table: desks
            fields:
              name: { type: string }
              floor: { type: number }
            liveQuery: { triggers: true }
          Room:
            schema: SCHEMA
            table: rooms
            objectId: { column: num, type: integer, generatedBy: source }
            fields:
              label: { type: string }
          Seat:
            schema: SCHEMA
            table: desks
            fields:
              name: { type: string }
            liveQuery: { triggers: true }
        """

    @Test func theScriptNamesOnlyTriggerCollectionsAndInstallsTwice() async throws {
        try await withPostgresFixture(setupSQL: Self.setupSQL) { fx in
            let connector = try await fx.connector(Self.collections, name: "lt")
            let script = connector.changeTriggerScript()
            #expect(script.contains("\(fx.schemaName).desks: Desk, Seat"))
            #expect(!script.contains("rooms"))
            #expect(script.contains("CREATE OR REPLACE FUNCTION \"\(fx.schemaName)\".\"causeway_notify_desks\"()"))
            #expect(script.contains("DROP TRIGGER IF EXISTS \"causeway_changes\" ON \"\(fx.schemaName)\".\"desks\""))
            #expect(connector.changeTriggerStatements().count == 3)
            // causeway check warns while the trigger is missing, with the collection's file and line.
            let missing = await connector.verify(logger: fx.logger).filter { $0.message.hasPrefix("liveQuery.triggers") }
            #expect(missing.count == 1 && missing.first?.severity == .warning && missing.first?.location != nil)
            // Idempotent: a second run replaces, it does not fail or add a second trigger.
            try await connector.installChangeTriggers(logger: fx.logger)
            try await connector.installChangeTriggers(logger: fx.logger)
            let count = try await fx.scalar("""
                SELECT count(*)::text FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = '\(fx.schemaName)' AND NOT t.tgisinternal
                """)
            #expect(count == "1")
            let findings = await connector.verify(logger: fx.logger)
            #expect(!findings.contains { $0.message.hasPrefix("liveQuery.triggers") })
            #expect(findings.contains { $0.severity == .ok && $0.message == "LiveQuery trigger installed" })
        }
    }

    @Test func longTableNamesGetDistinctFunctionNamesWithinTheLimit() {
        let a = PostgresConnector.functionName(for: String(repeating: "x", count: 60) + "a")
        let b = PostgresConnector.functionName(for: String(repeating: "x", count: 60) + "b")
        #expect(a != b && a.utf8.count <= 63 && b.utf8.count <= 63)
        #expect(PostgresConnector.functionName(for: "desks") == "causeway_notify_desks")
    }

    @Test func directSQLChangesReachTheFeedAndTheListenerRecovers() async throws {
        try await withPostgresFixture(setupSQL: Self.setupSQL) { fx in
            // Named per fixture: tests run in parallel, and this one terminates its listener by application_name.
            let name = "lt_" + fx.schemaName
            let connector = try await fx.connector(Self.collections, name: name)
            try await connector.installChangeTriggers(logger: fx.logger)
            let gateway = Gateway(config: GatewayConfig(), connectors: [connector])
            let listener = try PostgresChangeListener(connector: connector, gateway: gateway, logger: fx.logger, heartbeat: .seconds(2))
            let events = listener.events()
            let run = Task { try? await listener.run() }
            defer { run.cancel() }
            _ = try await firstElement(events) { $0 == .listening }
            let feed = gateway.changes.subscribe(classes: ["Desk", "Seat", "Room"])
            func next() async throws -> ObjectChange { try await firstElement(feed) { $0.origin == .source } }

            try await fx.execute("INSERT INTO \(fx.schemaName).desks VALUES ('d2', 'Harbour 2', 2)")
            let created = [try await next(), try await next()]
            #expect(Set(created.map(\.className)) == ["Desk", "Seat"])
            #expect(created.allSatisfy { $0.kind == .create && $0.objectId == "d2" && $0.connector == name && $0.object == nil })

            try await fx.execute("UPDATE \(fx.schemaName).desks SET floor = 3 WHERE id = 'd2'")
            let updated = try await next()
            #expect(updated.kind == .update && updated.objectId == "d2")
            _ = try await next()  // Seat's

            // A table without triggers: nothing. A write through the gateway: skipped (its own feed announced it).
            try await fx.execute("INSERT INTO \(fx.schemaName).rooms VALUES (7, 'seven')")
            _ = try await gateway.update("Desk", objectId: "d1", body: ["floor": .int(9)], caller: .master)
            _ = try await firstElement(events) { if case .skipped(let p) = $0 { return p.contains("\"d1\"") }; return false }

            try await fx.execute("DELETE FROM \(fx.schemaName).desks WHERE id = 'd2'")
            let deleted = try await next()
            #expect(deleted.kind == .delete && deleted.objectId == "d2")
            _ = try await next()

            // The listening backend is killed: the listener reconnects, announces a gap for its classes (what
            // changed meanwhile went unheard) and hears the next change.
            let gaps = gateway.changes.gaps()
            try await fx.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'causeway/\(name)/listen'")
            _ = try await firstElement(events) { $0 == .lost }
            _ = try await firstElement(events) { $0 == .listening }
            _ = try await firstElement(gaps) { $0 == "Desk" }
            _ = try await firstElement(gaps) { $0 == "Seat" }
            try await fx.execute("UPDATE \(fx.schemaName).desks SET name = 'renamed' WHERE id = 'd1'")
            let afterReconnect = try await next()
            #expect(afterReconnect.kind == .update && afterReconnect.objectId == "d1")
            run.cancel()
            await run.value
        }
    }
}

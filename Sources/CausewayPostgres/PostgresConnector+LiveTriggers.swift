import CausewayCore
import Logging
import PostgresNIO

/// The SQL that makes a PostgreSQL source announce its own changes for LiveQuery (`liveQuery: { triggers: true }`):
/// per mapped table a trigger function and an `AFTER INSERT OR UPDATE OR DELETE … FOR EACH ROW` trigger that
/// sends `pg_notify('causeway_changes', {"table": "schema.table", "op": TG_OP, "id": key, "by": application_name})`.
///
/// Only the key travels, never row data: a NOTIFY payload is limited to 8000 bytes and any role that may
/// LISTEN on the database can read it. `by` (the writing session's `application_name`) lets the listener skip
/// the changes this gateway's connector made itself, which its own change feed announces already.
///
/// Causeway never installs this by itself: `causeway live-triggers` prints it for review, `--apply` runs it.
/// Every statement is idempotent (`CREATE OR REPLACE FUNCTION`, `DROP TRIGGER IF EXISTS` then `CREATE
/// TRIGGER`), and every identifier comes from the validated configuration, quoted.
extension PostgresConnector {
    /// The NOTIFY channel the triggers send on.
    public static let changeChannel = "causeway_changes"
    /// The trigger's name on every table.
    static let changeTriggerName = "causeway_changes"

    /// The mapped tables whose collections declare `liveQuery.triggers`, by `schema.table` as the trigger
    /// names them (`TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME`), with the classes served from each.
    var triggerTables: [String: (table: PostgresTable, classNames: [String])] {
        var out: [String: (table: PostgresTable, classNames: [String])] = [:]
        for t in declared.values.sorted(by: { $0.schema.className < $1.schema.className }) where t.schema.liveQueryTriggers {
            let key = t.schemaName + "." + t.table
            if out[key] == nil { out[key] = (t, []) }
            out[key]!.classNames.append(t.schema.className)
        }
        return out
    }

    /// Whether some collection of this connector declares `liveQuery.triggers`.
    public var usesChangeTriggers: Bool { !triggerTables.isEmpty }

    /// The statements, table by table (sorted by `schema.table`), to run in this order in one transaction.
    public func changeTriggerStatements() -> [String] {
        triggerTables.keys.sorted().flatMap { key -> [String] in
            let t = triggerTables[key]!.table
            // Names were validated when the configuration was read; the quoting doubles any quote regardless.
            let schema = Self.quote(t.schemaName), table = t.qualifiedName
            let function = "\(schema).\(Self.quote(Self.functionName(for: t.table)))"
            let key = Self.quote(t.schema.objectId.column)
            let trigger = Self.quote(Self.changeTriggerName)
            return [
                """
                CREATE OR REPLACE FUNCTION \(function)() RETURNS trigger LANGUAGE plpgsql AS $causeway$
                BEGIN
                  -- Only the key (never row data): NOTIFY payloads are limited and readable by any role that may LISTEN.
                  IF TG_OP = 'UPDATE' AND OLD.\(key) IS DISTINCT FROM NEW.\(key) THEN
                    -- A changed key: the old object is gone, a new one appeared.
                    PERFORM pg_notify('\(Self.changeChannel)', json_build_object('table', TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME,
                      'op', 'DELETE', 'id', OLD.\(key)::text, 'by', current_setting('application_name', true))::text);
                    PERFORM pg_notify('\(Self.changeChannel)', json_build_object('table', TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME,
                      'op', 'INSERT', 'id', NEW.\(key)::text, 'by', current_setting('application_name', true))::text);
                  ELSIF TG_OP = 'DELETE' THEN
                    PERFORM pg_notify('\(Self.changeChannel)', json_build_object('table', TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME,
                      'op', TG_OP, 'id', OLD.\(key)::text, 'by', current_setting('application_name', true))::text);
                  ELSE
                    PERFORM pg_notify('\(Self.changeChannel)', json_build_object('table', TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME,
                      'op', TG_OP, 'id', NEW.\(key)::text, 'by', current_setting('application_name', true))::text);
                  END IF;
                  RETURN NULL;
                END
                $causeway$
                """,
                "DROP TRIGGER IF EXISTS \(trigger) ON \(table)",
                "CREATE TRIGGER \(trigger) AFTER INSERT OR UPDATE OR DELETE ON \(table) FOR EACH ROW EXECUTE FUNCTION \(function)()",
            ]
        }
    }

    /// The script `causeway live-triggers` prints: the statements in one transaction, with a header naming
    /// the collections.
    public func changeTriggerScript() -> String {
        var lines = ["-- Causeway LiveQuery triggers for connector '\(name)' (review, then run as the tables' owner).",
                     "-- Each row change sends NOTIFY \(Self.changeChannel) with the table, the operation and the key only."]
        for key in triggerTables.keys.sorted() {
            lines.append("--   \(key): \(triggerTables[key]!.classNames.joined(separator: ", "))")
        }
        lines.append("BEGIN;")
        for statement in changeTriggerStatements() { lines.append(statement + ";") }
        lines.append("COMMIT;")
        return lines.joined(separator: "\n") + "\n"
    }

    /// Runs the statements in one transaction on a connection of its own (`--apply`); nothing stays changed
    /// when one fails.
    public func installChangeTriggers(logger: Logger) async throws {
        var configuration = try tlsChecked { try settings.connectionConfiguration(connectorName: name) }
        configuration.options.additionalStartupParameters = [("application_name", "causeway/\(name)/live-triggers")]
        let c = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
        do {
            try await c.query("BEGIN", logger: logger)
            do {
                for statement in changeTriggerStatements() { try await c.query(PostgresQuery(unsafeSQL: statement), logger: logger) }
                try await c.query("COMMIT", logger: logger)
            } catch {
                _ = try? await c.query("ROLLBACK", logger: logger)
                throw error
            }
        } catch {
            try? await c.close()
            throw error
        }
        try await c.close()
    }

    /// For `causeway check`: a warning for each table of a `liveQuery.triggers` collection that has no enabled
    /// `causeway_changes` trigger (its direct changes would go unannounced).
    func verifyChangeTriggers() async -> [CheckFinding] {
        var findings: [CheckFinding] = []
        let logger = self.logger
        for key in triggerTables.keys.sorted() {
            let (t, classNames) = triggerTables[key]!
            let query = PostgresStatement(sql: """
                SELECT count(*)::int FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname::text = $1 AND c.relname::text = $2 AND g.tgname::text = $3 AND g.tgenabled <> 'D'
                """, values: [t.schemaName, t.table, Self.changeTriggerName]).query
            let subject = "\(name)/\(classNames.joined(separator: ", ")) (\(key))"
            do {
                let rows = try await statement(on: nil) { c, _ in try await c.query(query, logger: logger).collect() }
                if try rows.first?.decode(Int.self) ?? 0 == 0 {
                    findings.append(CheckFinding(.warning, subject, "liveQuery.triggers: no enabled trigger \(Self.changeTriggerName) on \(key), so changes made by other applications are not announced; review and install it with causeway live-triggers --connector \(name)", location: t.schema.origin))
                } else {
                    findings.append(CheckFinding(.ok, subject, "LiveQuery trigger installed"))
                }
            } catch {
                findings.append(CheckFinding(.warning, subject, "liveQuery.triggers: cannot tell whether the trigger is installed: \(String(describing: error))"))
            }
        }
        return findings
    }

    /// `causeway_notify_<table>`, kept within PostgreSQL's 63 bytes (a long name is cut and given a hash of
    /// the whole, so two long tables never share a function).
    static func functionName(for table: String) -> String {
        let full = "causeway_notify_" + table
        guard full.utf8.count > 63 else { return full }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in table.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        var prefix = ""
        for ch in full {
            guard prefix.utf8.count + String(ch).utf8.count <= 46 else { break }
            prefix.append(ch)
        }
        let hex = String(hash, radix: 16)
        return prefix + "_" + String(repeating: "0", count: 16 - hex.count) + hex
    }

    static func quote(_ identifier: String) -> String { "\"" + identifier.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }
}

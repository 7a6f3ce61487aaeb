import CausewayCore
import Logging

extension PostgresConnector {
    /// Introspects the database (`pg_catalog`) and reports each mapped table or column that is missing or whose
    /// type does not fit the mapping. Connects by itself when the connector is not started; changes nothing.
    public func verify(logger: Logger) async -> [CheckFinding] { await verify(logger: logger, classes: [:]) }

    /// `verify` knowing every connector's classes: pointer columns and join tables holding keys of other connectors'
    /// classes are checked against those keys' types too (`causeway check` passes them; see `PointerCheck.verify`).
    public func verify(logger: Logger, classes: [String: CollectionSchema]) async -> [CheckFinding] {
        var classes = classes
        for schema in collections { classes[schema.className] = schema }
        if (try? connections()) != nil { return await verifyTables(classes) + verifyRelations(classes) + verifyChangeTriggers() }
        // Not started: connect for the check alone, with the deadline watchdog running meanwhile.
        return await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.watchdog.run() }
            let findings: [CheckFinding]
            do {
                try await start(logger: logger)
                findings = await verifyTables(classes) + verifyRelations(classes) + verifyChangeTriggers()
            } catch {
                findings = [CheckFinding(.error, "connector \(name)", "cannot connect: \(String(reflecting: error))")]
            }
            await shutdown()
            group.cancelAll()
            return findings
        }
    }

    private func verifyTables(_ classes: [String: CollectionSchema]) async -> [CheckFinding] {
        var findings: [CheckFinding] = []
        for schema in collections {
            guard let declared = try? PostgresTable(schema: schema, schemaName: tableName(schema).0, table: tableName(schema).1) else {
                findings.append(CheckFinding(.error, "\(name)/\(schema.className)", "a table, schema or column name cannot be used in SQL"))
                continue
            }
            let subject = "\(name)/\(schema.className) (\(declared.schemaName).\(declared.table))"
            let columns: [String: PostgresColumn]
            let isView: Bool
            do {
                (columns, isView) = try await introspect(declared)
            } catch {
                return findings + [CheckFinding(.error, "connector \(name)", "cannot reach \(settings.host):\(settings.port)/\(settings.database): \(String(reflecting: error))")]
            }
            if columns.isEmpty {
                findings.append(CheckFinding(.error, subject, "table or view does not exist (or the user may not see it)"))
                continue
            }
            var problems = 0
            func report(_ severity: CheckFinding.Severity, _ message: String) {
                findings.append(CheckFinding(severity, subject, message))
                if severity == .error { problems += 1 }
            }
            let key = schema.objectId
            if let c = columns[key.column] {
                if !c.fits(key.type) { report(.error, "key column \(key.column) is \(c.typeName), which cannot hold \(key.type.rawValue) objectIds") }
                if key.generation == .source, !c.hasDefault, !isView {
                    report(.error, "key column \(key.column) has no default, so the database cannot generate ids (use generatedBy: gateway)")
                }
            } else {
                report(.error, "key column \(key.column) does not exist")
            }
            for (label, column) in [("createdAt", schema.createdAtColumn), ("updatedAt", schema.updatedAtColumn)] {
                guard let column else { continue }
                if let c = columns[column] {
                    if !c.fits(.date) { report(.error, "\(label) column \(column) is \(c.typeName), not a timestamp") }
                } else {
                    report(.error, "\(label) column \(column) does not exist")
                }
            }
            for f in schema.fields.values.sorted(by: { $0.name < $1.name }) {
                for column in PostgresTable.columns(of: f) {
                    guard let c = columns[column] else { report(.error, "column \(column) (field \(f.name)) does not exist"); continue }
                    if !c.fits(f.type) {
                        report(.error, "column \(column) is \(c.typeName), which does not fit a \(f.type.parseName) field")
                    } else if f.type == .pointer, let target = f.targetClass.flatMap({ classes[$0] }),
                              let problem = PointerCheck.keyProblem(column: column, declared: c.typeName, kind: c.keyKind, target: target, from: name) {
                        findings.append(CheckFinding(.error, subject, "\(f.origin): \(schema.className).\(f.name): " + problem, location: f.origin))
                        problems += 1
                    } else if f.type == .number, c.baseType == "numeric" {
                        report(.warning, "column \(column) is \(c.typeName): values with more than 15 significant digits are refused rather than rounded; map the field as type string to read them exactly")
                    }
                }
            }
            for (name, c) in columns.sorted(by: { $0.key < $1.key }) where c.notNull && !c.hasDefault {
                let mapped = declared.mappedColumns().contains(name)
                if !mapped, !isView, !schema.readOnly { report(.warning, "column \(name) is NOT NULL without a default but not mapped, so creates will fail") }
            }
            if isView, !schema.readOnly { report(.error, "\(declared.table) is a view; declare the collection readOnly: true") }
            if let hinted = declaredTable(schema.className), !hinted.indexHints.isEmpty {
                let indexes = isView ? [] : ((try? await indexes(of: declared)) ?? [])
                for message in Self.indexHintProblems(hinted, columns: columns, indexes: indexes, isView: isView) { report(.warning, message) }
            }
            if problems == 0 { findings.append(CheckFinding(.ok, subject, "\(declared.mappedColumns().count) columns mapped" + (isView ? " (view)" : ""))) }
        }
        return findings
    }

    /// For each `indexHints` field that no index of the table serves: a warning naming the file, line and key.
    static func indexHintProblems(_ t: PostgresTable, columns: [String: PostgresColumn], indexes: [PostgresIndex], isView: Bool) -> [String] {
        let at = t.indexHintsLocation.map { "\($0): " } ?? "indexHints: "
        if isView { return [at + "\(t.table) is a view: its indexes cannot be checked (check those of the tables behind it)"] }
        var out: [String] = []
        for hint in t.indexHints {
            guard let name = hint == "objectId" ? t.schema.objectId.column : t.column(for: hint), let column = columns[name] else { continue }
            let leading = indexes.filter { $0.leads(with: name) }
            if leading.isEmpty {
                out.append(at + "\(hint) (column \(name)) is commonly sorted or filtered on, but no index of \(t.schemaName).\(t.table) starts with it: such queries scan the table")
            } else if column.isText, !leading.contains(where: { $0.method != "btree" || $0.keys[0].collation == column.sortCollation }) {
                let names = leading.map(\.name).joined(separator: ", ")
                out.append(at + "\(hint) (column \(name)): \(names) uses collation '\(leading[0].keys[0].collation)'; sorts and range filters compare bytes (COLLATE \"C\"), so only equality can use it (add an index with COLLATE \"C\")")
            }
        }
        return out
    }

    func tableName(_ schema: CollectionSchema) -> (String, String) {
        let t = declaredTable(schema.className)
        return (t?.schemaName ?? "public", t?.table ?? schema.className)
    }
}

import CausewayCore
import Foundation
import Logging
import SQLiteNIO
import Synchronization

/// Serves collections from tables of a SQLite file: the embedded default store.
///
/// Everything SQLite can evaluate is pushed down (comparisons, `$in`, `$regex` through a registered
/// function, array membership through `json_each`, geo distance through a registered haversine function),
/// along with order, paging, projection and counts. Updates run in an immediate transaction on the single
/// writer connection, so `__op` operations are atomic.
public final class SQLiteConnector: Connector {
    public let name: String
    public let kind = "sqlite"
    public let capabilities: ConnectorCapabilities
    public let path: String
    public let createMissingTables: Bool
    public let readerCount: Int
    public let busyTimeoutMs: Int
    let tables: [String: SQLiteTable]
    private let pool = Mutex<SQLiteConnectionPool?>(nil)

    public static let fullCapabilities = ConnectorCapabilities(
        filterOperators: Set(FilterOperator.allCases).subtracting([.withinPolygon]),
        nestedPaths: false, sorting: true, distanceSorting: true, paging: true, projection: true, counting: true,
        updateOperations: Set(UpdateOperation.Kind.allCases), writes: true)

    init(name: String, path: String, tables: [SQLiteTable], createMissingTables: Bool, readerCount: Int,
         busyTimeoutMs: Int, capabilities: ConnectorCapabilities = SQLiteConnector.fullCapabilities) {
        self.name = name
        self.path = path
        self.createMissingTables = createMissingTables
        self.readerCount = readerCount
        self.busyTimeoutMs = busyTimeoutMs
        self.capabilities = capabilities
        var byClass: [String: SQLiteTable] = [:]
        for t in tables { byClass[t.schema.className] = t }
        self.tables = byClass
    }

    /// The same connector with other declared capabilities (used to test pushdown against the evaluator).
    public func withCapabilities(_ capabilities: ConnectorCapabilities) -> SQLiteConnector {
        SQLiteConnector(name: name, path: path, tables: Array(tables.values), createMissingTables: createMissingTables,
                        readerCount: readerCount, busyTimeoutMs: busyTimeoutMs, capabilities: capabilities)
    }

    public var collections: [CollectionSchema] { tables.values.map(\.schema).sorted { $0.className < $1.className } }

    // MARK: Lifecycle

    public func start(logger: Logger) async throws {
        if path != ":memory:" {
            let dir = (path as NSString).deletingLastPathComponent
            if !dir.isEmpty { try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        }
        let opened: SQLiteConnectionPool
        do {
            opened = try await SQLiteConnectionPool.open(path: path, readers: readerCount, busyTimeoutMs: busyTimeoutMs, logger: logger)
        } catch {
            throw GatewayError(.connectionFailed, "Connector '\(name)' cannot open its SQLite database.", detail: "\(path): \(error)")
        }
        let previous = pool.withLock { p -> SQLiteConnectionPool? in
            defer { p = opened }
            return p
        }
        await previous?.close()
        do {
            if createMissingTables {
                try await createTables(opened, logger: logger)
                try await createJoinTables(opened, logger: logger)
            }
        } catch {
            // A failed start leaves nothing open: the connector's service tries again later.
            pool.withLock { $0 = nil }
            await opened.close()
            throw error
        }
    }

    private func createTables(_ opened: SQLiteConnectionPool, logger: Logger) async throws {
        for table in tables.values.sorted(by: { $0.table < $1.table }) {
            let existed = try await tableExists(table.table, opened)
            if !existed {
                _ = try await opened.write { try await $0.query(table.createStatement) }
                logger.info("created table", metadata: ["causeway.connector": .string(name), "causeway.table": .string(table.table)])
                try await seed(table, logger: logger)
            }
        }
    }

    public func shutdown() async {
        let p = pool.withLock { p -> SQLiteConnectionPool? in
            defer { p = nil }
            return p
        }
        await p?.close()
    }

    func connections() throws -> SQLiteConnectionPool {
        guard let p = pool.withLock({ $0 }) else {
            throw GatewayError(.connectionFailed, "Connector '\(name)' is not started.")
        }
        return p
    }

    private func tableExists(_ name: String, _ pool: SQLiteConnectionPool) async throws -> Bool {
        let rows = try await pool.read("SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name = ?", [.text(name)])
        return !rows.isEmpty
    }

    private func seed(_ table: SQLiteTable, logger: Logger) async throws {
        guard !table.seed.isEmpty else { return }
        let parser = WriteRequestParser(schema: table.schema, capabilities: .scanOnly)
        for body in table.seed {
            let ops = try parser.parse(body, isCreate: true)
            var object = ParseObject()
            for (field, op) in ops { object.fields[field] = try op.apply(to: nil, field: field) }
            let now = ParseDate.now()
            object.createdAt = now
            object.updatedAt = now
            if table.schema.objectId.generation == .gateway { object.objectId = ObjectIdGenerator.make() }
            _ = try await create(object, in: table.schema, context: .system(logger))
        }
        logger.info("seeded table", metadata: ["causeway.table": .string(table.table), "causeway.rows": .stringConvertible(table.seed.count)])
    }

    func table(_ schema: CollectionSchema) throws -> SQLiteTable {
        guard let t = tables[schema.className] else {
            throw GatewayError(.invalidClassName, "Connector '\(name)' does not serve class \(schema.className).")
        }
        return t
    }

    // MARK: Pushdown

    public func canPushDown(_ path: String, _ condition: FieldCondition, in collection: CollectionSchema) -> Bool {
        guard capabilities.filterOperators.contains(condition.filterOperator), let t = tables[collection.className] else { return false }
        return SQLiteFilterTranslator.canTranslate(path, condition, t)
    }

    // MARK: Reads

    private func selectList(_ t: SQLiteTable, fields: Set<String>?) -> (String, [String]) {
        var columns = [t.schema.objectId.column]
        if let c = t.schema.createdAtColumn { columns.append(c) }
        if let u = t.schema.updatedAtColumn { columns.append(u) }
        for name in t.schema.fields.keys.sorted() where fields?.contains(name) ?? true {
            columns.append(contentsOf: SQLiteTable.columns(of: t.schema.fields[name]!))
        }
        return (columns.map(t.quoted).joined(separator: ", "), columns)
    }

    public func find(_ query: SourceQuery, in collection: CollectionSchema, context: ConnectorContext) async throws -> [ParseObject] {
        try await find(query, in: collection, on: nil)
    }

    /// `on`: the writer connection of a transaction (`TransactionBoundConnector`); nil: the pool. (`context`: unused.)
    public func find(_ query: SourceQuery, in collection: CollectionSchema, on c: SQLiteConnection?,
                     context: ConnectorContext? = nil) async throws -> [ParseObject] {
        let t = try table(collection)
        var translator = SQLiteFilterTranslator(table: t)
        let (select, _) = selectList(t, fields: query.fields)
        var sql = "SELECT \(select) FROM \(t.quotedTable)"
        if let filter = query.filter { sql += " WHERE " + translator.whereClause(filter) }
        if capabilities.sorting { sql += " ORDER BY " + translator.orderBy(query.sort) }
        if let limit = query.limit {
            sql += " LIMIT \(translator.bind(.integer(limit)))"
            if query.skip > 0 { sql += " OFFSET \(translator.bind(.integer(query.skip)))" }
        } else if query.skip > 0 {
            sql += " LIMIT -1 OFFSET \(translator.bind(.integer(query.skip)))"
        }
        let rows = try await run { try await self.read(sql, try translator.checkedBinds(), on: c) }
        return rows.map { decode($0, t, fields: query.fields) }
    }

    public func count(_ filter: QueryFilter?, in collection: CollectionSchema, context: ConnectorContext) async throws -> Int {
        try await count(filter, in: collection, on: nil)
    }

    public func count(_ filter: QueryFilter?, in collection: CollectionSchema, on c: SQLiteConnection?) async throws -> Int {
        let t = try table(collection)
        var translator = SQLiteFilterTranslator(table: t)
        var sql = "SELECT COUNT(*) FROM \(t.quotedTable)"
        if let filter { sql += " WHERE " + translator.whereClause(filter) }
        let rows = try await run { try await self.read(sql, try translator.checkedBinds(), on: c) }
        return rows.first?.columns.first?.data.integer ?? 0
    }

    public func get(objectId: String, fields: Set<String>?, in collection: CollectionSchema, context: ConnectorContext) async throws -> ParseObject? {
        try await get(objectId: objectId, fields: fields, in: collection, on: nil)
    }

    public func get(objectId: String, fields: Set<String>?, in collection: CollectionSchema, on c: SQLiteConnection?) async throws -> ParseObject? {
        let t = try table(collection)
        guard let key = SQLiteValueCodec.encodeId(objectId, t.schema.objectId) else { return nil }
        let (select, _) = selectList(t, fields: fields)
        let sql = "SELECT \(select) FROM \(t.quotedTable) WHERE \(t.quoted(t.schema.objectId.column)) = ?"
        let rows = try await run { try await self.read(sql, [key], on: c) }
        return rows.first.map { decode($0, t, fields: fields) }
    }

    func decode(_ row: SQLiteRow, _ t: SQLiteTable, fields: Set<String>?) -> ParseObject {
        let columns = row.columns
        var i = 0
        func nextValue() -> SQLiteData {
            defer { i += 1 }
            return i < columns.count ? columns[i].data : .null
        }
        var object = ParseObject()
        object.objectId = SQLiteValueCodec.decodeId(nextValue())
        if t.schema.createdAtColumn != nil { object.createdAt = SQLiteValueCodec.decodeDate(nextValue()) }
        if t.schema.updatedAtColumn != nil { object.updatedAt = SQLiteValueCodec.decodeDate(nextValue()) }
        for name in t.schema.fields.keys.sorted() where fields?.contains(name) ?? true {
            let f = t.schema.fields[name]!
            if f.type == .geoPoint {
                let lat = nextValue(), lon = nextValue()
                if let la = lat.double, let lo = lon.double, !lat.isNull, !lon.isNull {
                    object.fields[name] = .geoPoint(GeoPoint(latitude: la, longitude: lo))
                }
                continue
            }
            let v = SQLiteValueCodec.decode(nextValue(), as: f)
            if !v.isNull { object.fields[name] = v }
        }
        return object
    }

    // MARK: Writes

    /// Column/value pairs for the given field values (nil or null clears the field).
    private func assignments(_ values: [String: ParseValue?], _ t: SQLiteTable) -> [(String, SQLiteData)] {
        var out: [(String, SQLiteData)] = []
        for name in values.keys.sorted() {
            let f = t.schema.fields[name]!
            let v = values[name]! ?? .null
            if f.type == .geoPoint {
                if case .geoPoint(let p) = v {
                    out.append((SQLiteTable.latitudeColumn(f), .float(p.latitude)))
                    out.append((SQLiteTable.longitudeColumn(f), .float(p.longitude)))
                } else {
                    out.append((SQLiteTable.latitudeColumn(f), .null))
                    out.append((SQLiteTable.longitudeColumn(f), .null))
                }
            } else {
                out.append((f.column, SQLiteValueCodec.encode(v)))
            }
        }
        return out
    }

    public func create(_ object: ParseObject, in collection: CollectionSchema, context: ConnectorContext) async throws -> ParseObject {
        try await create(object, in: collection, on: nil)
    }

    public func create(_ object: ParseObject, in collection: CollectionSchema, on c: SQLiteConnection?) async throws -> ParseObject {
        let t = try table(collection)
        var pairs: [(String, SQLiteData)] = []
        if let id = object.objectId, let key = SQLiteValueCodec.encodeId(id, t.schema.objectId) {
            pairs.append((t.schema.objectId.column, key))
        }
        if let c = t.schema.createdAtColumn, let d = object.createdAt { pairs.append((c, .integer(SQLiteInt64(d.millisecondsSince1970)))) }
        if let u = t.schema.updatedAtColumn, let d = object.updatedAt { pairs.append((u, .integer(SQLiteInt64(d.millisecondsSince1970)))) }
        pairs += assignments(object.fields.mapValues { Optional($0) }, t)
        let (select, _) = selectList(t, fields: nil)
        let sql: String
        if pairs.isEmpty {
            sql = "INSERT INTO \(t.quotedTable) DEFAULT VALUES RETURNING \(select)"
        } else {
            sql = "INSERT INTO \(t.quotedTable) (\(pairs.map { t.quoted($0.0) }.joined(separator: ", "))) VALUES (\(pairs.map { _ in "?" }.joined(separator: ", "))) RETURNING \(select)"
        }
        let binds = pairs.map(\.1)
        let rows = try await run { try await self.write(on: c) { try await $0.query(sql, binds) } }
        guard let row = rows.first else { throw GatewayError(.internalServerError, "Insert returned no row.") }
        return decode(row, t, fields: nil)
    }

    public func update(objectId: String, operations: [String: UpdateOperation], updatedAt: ParseDate,
                       in collection: CollectionSchema, context: ConnectorContext) async throws -> ParseObject? {
        try await update(objectId: objectId, operations: operations, updatedAt: updatedAt, in: collection, on: nil)
    }

    public func update(objectId: String, operations: [String: UpdateOperation], updatedAt: ParseDate,
                       in collection: CollectionSchema, on connection: SQLiteConnection?) async throws -> ParseObject? {
        let t = try table(collection)
        guard let key = SQLiteValueCodec.encodeId(objectId, t.schema.objectId) else { return nil }
        let (select, _) = selectList(t, fields: nil)
        let idColumn = t.quoted(t.schema.objectId.column)
        let tableName = t.quotedTable
        return try await run {
            try await self.transaction(on: connection) { c -> ParseObject? in
                let current = try await c.query("SELECT \(select) FROM \(tableName) WHERE \(idColumn) = ?", [key])
                guard let row = current.first else { return nil }
                let before = self.decode(row, t, fields: nil)
                var changed: [String: ParseValue?] = [:]
                for (field, op) in operations {
                    changed[field] = try op.apply(to: before.fields[field], field: "\(collection.className).\(field)")
                }
                var pairs = self.assignments(changed, t)
                if let u = t.schema.updatedAtColumn { pairs.append((u, .integer(SQLiteInt64(updatedAt.millisecondsSince1970)))) }
                guard !pairs.isEmpty else { return before }
                let sets = pairs.map { "\(t.quoted($0.0)) = ?" }.joined(separator: ", ")
                let rows = try await c.query("UPDATE \(tableName) SET \(sets) WHERE \(idColumn) = ? RETURNING \(select)", pairs.map(\.1) + [key])
                return rows.first.map { self.decode($0, t, fields: nil) }
            }
        }
    }

    public func delete(objectId: String, in collection: CollectionSchema, context: ConnectorContext) async throws -> Bool {
        try await delete(objectId: objectId, in: collection, on: nil)
    }

    public func delete(objectId: String, in collection: CollectionSchema, on c: SQLiteConnection?) async throws -> Bool {
        let t = try table(collection)
        guard let key = SQLiteValueCodec.encodeId(objectId, t.schema.objectId) else { return false }
        let sql = "DELETE FROM \(t.quotedTable) WHERE \(t.quoted(t.schema.objectId.column)) = ? RETURNING \(t.quoted(t.schema.objectId.column))"
        let rows = try await run { try await self.write(on: c) { try await $0.query(sql, [key]) } }
        return !rows.isEmpty
    }

    // MARK: Errors

    /// Runs a statement, translating SQLite failures into Parse errors at this boundary.
    func run<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as GatewayError {
            throw error
        } catch let error as SQLiteError {
            throw translate(error)
        }
    }

    func translate(_ error: SQLiteError) -> GatewayError {
        // Our own regexp function stopped a match at its limits (sqlite-nio passes only the text through).
        if error.message.contains(SQLiteFunctions.regexBudgetMessage) {
            return GatewayError(.invalidQuery, "A $regex in this query needs more backtracking than this server allows for one value; simplify it (nested quantifiers such as (a+)+ are the usual cause).", detail: error.message)
        }
        // A statement past SQLite's own size limits (bound values, expression depth, statement length): the
        // request is too large for this source, not a server fault.
        if error.message.contains("too many SQL variables") || error.message.contains("Expression tree is too large")
            || error.message.contains("string or blob too big") || error.message.contains("too many terms") {
            return GatewayError(.invalidQuery, "This query is too large for the embedded store (more values or conditions than SQLite takes in one statement); use fewer or shorter $in/$nin lists.", detail: error.message)
        }
        switch error.reason {
        case .constraintUniqueFailed, .constraintPrimaryKeyFailed:
            return GatewayError(.duplicateValue, "A duplicate value for a field with unique values was provided", detail: error.message)
        case .constraintNotNullFailed:
            return GatewayError(.validationError, "A required field is missing.", detail: error.message)
        case .constraintCheckFailed, .constraintForeignKeyFailed, .constraint:
            return GatewayError(.validationError, "The values violate a rule of the embedded store (a check or reference constraint).", detail: error.message)
        case .busy, .busyTimeout, .locked:
            return GatewayError(.timeout, "The embedded store is busy; retry the request.", detail: error.message)
        default:
            return GatewayError(.internalServerError, "Internal server error.", detail: "sqlite: \(error.reason) \(error.message)")
        }
    }

    // MARK: Check

    public func verify(logger: Logger) async -> [CheckFinding] { await verify(logger: logger, classes: [:]) }

    /// `verify` knowing every connector's classes: join tables holding keys of other connectors' classes are checked
    /// against those keys' types too (`causeway check` passes them; see `PointerCheck.verify`).
    public func verify(logger: Logger, classes: [String: CollectionSchema]) async -> [CheckFinding] {
        var findings: [CheckFinding] = []
        var p = pool.withLock { $0 }
        var temporary: SQLiteConnectionPool?
        if p == nil {
            if path != ":memory:", !FileManager.default.fileExists(atPath: path) {
                if createMissingTables {
                    return [CheckFinding(.ok, "connector \(name)", "\(path) does not exist yet; it and its tables are created on first start")]
                }
                return [CheckFinding(.error, "connector \(name)", "\(path) does not exist (createMissingTables is off)")]
            }
            do {
                temporary = try await SQLiteConnectionPool.open(path: path, readers: 1, busyTimeoutMs: busyTimeoutMs, logger: logger, readOnly: true)
                p = temporary
            } catch {
                return [CheckFinding(.error, "connector \(name)", "cannot open \(path): \(error)")]
            }
        }
        guard let p else { return findings }
        findings += await verifyTables(p)
        findings += await verifyRelations(p, classes: classes)
        await temporary?.close()
        return findings
    }

    private func verifyTables(_ p: SQLiteConnectionPool) async -> [CheckFinding] {
        var findings: [CheckFinding] = []
        for t in tables.values.sorted(by: { $0.schema.className < $1.schema.className }) {
            let subject = "\(name)/\(t.schema.className) (table \(t.table))"
            do {
                let rows = try await p.read("SELECT name, type FROM pragma_table_info(?)", [.text(t.table)])
                if rows.isEmpty {
                    if createMissingTables {
                        findings.append(CheckFinding(.ok, subject, "table does not exist yet; it is created on first start"))
                    } else {
                        findings.append(CheckFinding(.error, subject, "table does not exist in \(path) (createMissingTables is off)"))
                    }
                    continue
                }
                var declared: [String: String] = [:]
                for r in rows {
                    if let n = r.column("name")?.string { declared[n] = r.column("type")?.string?.uppercased() ?? "" }
                }
                var problems = 0
                for column in t.columns where declared[column] == nil {
                    findings.append(CheckFinding(.error, subject, "column \(column) does not exist"))
                    problems += 1
                }
                for f in t.schema.fields.values.sorted(by: { $0.name < $1.name }) {
                    for column in SQLiteTable.columns(of: f) {
                        guard let type = declared[column], !type.isEmpty else { continue }
                        if !SQLiteConnector.compatible(type, f.type) {
                            findings.append(CheckFinding(.warning, subject, "column \(column) is declared \(type), which does not fit a \(f.type.parseName) field"))
                        }
                    }
                }
                if problems == 0 { findings.append(CheckFinding(.ok, subject, "\(t.columns.count) columns mapped")) }
            } catch {
                findings.append(CheckFinding(.error, subject, "cannot inspect the table: \(String(reflecting: error))"))
            }
        }
        return findings
    }

    /// Whether a declared SQLite column type (by affinity) fits a field type.
    static func compatible(_ declared: String, _ type: FieldType) -> Bool {
        let textual = declared.contains("CHAR") || declared.contains("CLOB") || declared.contains("TEXT")
        let integral = declared.contains("INT")
        let real = declared.contains("REAL") || declared.contains("FLOA") || declared.contains("DOUB") || declared.contains("NUM") || declared.contains("DEC")
        switch type {
        case .string, .pointer, .array, .object, .file: return textual
        case .number, .geoPoint: return integral || real
        case .boolean, .date: return integral || real
        case .bytes: return declared.contains("BLOB")
        }
    }
}

import CausewayCore
import Logging
import PostgresNIO
import Synchronization

/// Serves existing PostgreSQL tables and views as collections. It maps onto them and never alters them.
///
/// Everything the `where` language can express that PostgreSQL evaluates identically is pushed into one
/// parameterized statement with order, paging, projection and counts; updates (including `Increment`,
/// `Add`, `AddUnique`, `Remove`, `Delete`) are single `UPDATE … RETURNING` statements, so concurrent
/// operations on one row are serialized by PostgreSQL's row lock and none is lost.
public final class PostgresConnector: Connector {
    public let name: String
    public let kind = "postgres"
    public let capabilities: ConnectorCapabilities
    let settings: PostgresConnectionSettings
    private let declared: [String: PostgresTable]
    private let state = Mutex<State>(State())
    let watchdog = DeadlineWatchdog()

    struct State {
        /// For transactions; made on first use, run by `runBackground`.
        var client: PostgresClient?
        /// Whether some `runBackground` runs the client (a client runs once).
        var clientRunning = false
        /// For every other statement.
        var connections: PostgresConnectionSet?
        /// Tables with their introspected columns, once loaded.
        var tables: [String: PostgresTable]?
        var logger = Logger(label: "causeway.postgres")
    }

    public static let fullCapabilities = ConnectorCapabilities(
        filterOperators: Set(FilterOperator.allCases).subtracting([.withinPolygon]),
        nestedPaths: false, sorting: true, distanceSorting: true, paging: true, projection: true, counting: true,
        updateOperations: Set(UpdateOperation.Kind.allCases), writes: true)

    init(name: String, settings: PostgresConnectionSettings, tables: [PostgresTable],
         capabilities: ConnectorCapabilities = PostgresConnector.fullCapabilities) {
        self.name = name
        self.settings = settings
        self.capabilities = capabilities
        var byClass: [String: PostgresTable] = [:]
        for t in tables { byClass[t.schema.className] = t }
        self.declared = byClass
    }

    /// The same connector with other declared capabilities (used to test pushdown against the evaluator).
    public func withCapabilities(_ capabilities: ConnectorCapabilities) -> PostgresConnector {
        PostgresConnector(name: name, settings: settings, tables: Array(declared.values), capabilities: capabilities)
    }

    public var collections: [CollectionSchema] { declared.values.map(\.schema).sorted { $0.className < $1.className } }

    func declaredTable(_ className: String) -> PostgresTable? { declared[className] }

    // MARK: Lifecycle

    /// Runs the deadline watchdog and PostgresNIO's pooled client (transactions) until cancelled.
    public func runBackground(logger: Logger) async {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.watchdog.run() }
            let client = try? state.withLock { s throws -> PostgresClient? in
                guard !s.clientRunning else { return nil }
                s.clientRunning = true
                return try pooledClient(&s, logger: logger)
            }
            if let client { group.addTask { await client.run() } }
        }
    }

    /// Opens the shared connections and loads the mapped tables' column types. Throws a retryable error while
    /// PostgreSQL is unreachable (the connector's service tries again), a clear one when TLS cannot be set up.
    public func start(logger: Logger) async throws {
        let connections = try state.withLock { s throws -> PostgresConnectionSet in
            s.logger = logger
            _ = try pooledClient(&s, logger: logger)
            if let c = s.connections { return c }
            let c = PostgresConnectionSet(
                size: settings.poolSize, configuration: try tlsChecked { try settings.connectionConfiguration(connectorName: name) },
                connectorName: name, logger: logger, openTimeout: .milliseconds(Int64(settings.connectTimeoutMs) + 2000))
            s.connections = c
            return c
        }
        try await run { try await connections.open() }
        do {
            _ = try await tables()
        } catch let error as GatewayError where error.code != .connectionFailed && error.code != .timeout {
            // The database is there but a mapped table is not (yet): the other classes serve; this one is
            // looked up again on its next request.
            logger.error("the mapping does not match the database; run causeway check", metadata: [
                "causeway.connector": .string(name), "error": .string(String(reflecting: error)),
            ])
        }
    }

    private func pooledClient(_ s: inout State, logger: Logger) throws -> PostgresClient {
        if let c = s.client { return c }
        let configuration = try tlsChecked { try settings.clientConfiguration(connectorName: name) }
        let c = PostgresClient(configuration: configuration, backgroundLogger: logger)
        s.client = c
        return c
    }

    private func tlsChecked<T>(_ make: () throws -> T) throws -> T {
        do { return try make() } catch {
            throw GatewayError(.connectionFailed, "Connector '\(name)' cannot set up TLS (check the CA and certificate files).", detail: "\(error)")
        }
    }

    /// Closes the shared connections; the pooled client closes its own when `runBackground` is cancelled.
    public func shutdown() async {
        let connections = state.withLock { s -> PostgresConnectionSet? in
            defer { s.connections = nil }
            return s.connections
        }
        await connections?.shutdown()
    }

    func client() throws -> PostgresClient {
        guard let c = state.withLock({ $0.clientRunning ? $0.client : nil }) else {
            throw GatewayError(.connectionFailed, "Connector '\(name)' is not started.")
        }
        return c
    }

    func connections() throws -> PostgresConnectionSet {
        guard let c = state.withLock({ $0.connections }) else {
            throw GatewayError(.connectionFailed, "Connector '\(name)' is not started.")
        }
        return c
    }

    var logger: Logger { state.withLock { $0.logger } }

    /// Loads the column types (once) before the gateway plans a query.
    public func ready() async throws {
        _ = try await tables()
    }

    /// The mapped tables with their columns, introspected once.
    func tables() async throws -> [String: PostgresTable] {
        if let t = state.withLock({ $0.tables }) { return t }
        var loaded = declared
        for (className, table) in declared {
            let (columns, isView) = try await introspect(table)
            guard !columns.isEmpty else {
                throw GatewayError(.internalServerError, "The source no longer matches the mapping of \(className); run causeway check.",
                                   detail: "table \(table.schemaName).\(table.table) not found")
            }
            loaded[className]!.columns = columns
            loaded[className]!.isView = isView
        }
        state.withLock { $0.tables = loaded }
        return loaded
    }

    func table(_ schema: CollectionSchema) async throws -> PostgresTable {
        guard let t = try await tables()[schema.className] else {
            throw GatewayError(.invalidClassName, "Connector '\(name)' does not serve class \(schema.className).")
        }
        return t
    }

    static let introspection = """
        SELECT a.attname, format_type(a.atttypid, a.atttypmod), format_type(a.atttypid, NULL), t.typcategory::text,
               format_type(NULLIF(t.typelem, 0), NULL), et.typcategory::text, a.attnotnull, a.atthasdef OR a.attidentity <> '',
               c.relkind::text
        FROM pg_catalog.pg_attribute a
        JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
        JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
        LEFT JOIN pg_catalog.pg_type et ON et.oid = NULLIF(t.typelem, 0) AND t.typcategory = 'A'
        WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped
        """

    func introspect(_ table: PostgresTable) async throws -> ([String: PostgresColumn], Bool) {
        // Unprepared: this statement's rows are decoded by type, which needs the text/binary format codes right.
        let query = PostgresStatement(sql: Self.introspection, values: [table.schemaName, table.table]).query
        let logger = self.logger
        let rows = try await statement(on: nil) { c, _ in try await c.query(query, logger: logger).collect() }
        var columns: [String: PostgresColumn] = [:]
        var isView = false
        for row in rows {
            let (name, type, castType, category, elementType, elementCategory, notNull, hasDefault, relkind) =
                try row.decode((String, String, String, String?, String?, String?, Bool, Bool, String).self)
            // Casting to char(1) ("character") would cut values; text assigned to char(n)/varchar(n) is checked instead.
            let cast = ["character", "character varying"].contains(castType) ? "text"
                : ["character[]", "character varying[]"].contains(castType) ? "text[]" : castType
            columns[name] = PostgresColumn(name: name, typeName: type, castType: cast, category: category?.first ?? "X",
                                           elementTypeName: category == "A" ? elementType : nil,
                                           elementCategory: elementCategory?.first, notNull: notNull, hasDefault: hasDefault)
            isView = relkind == "v" || relkind == "m"
        }
        return (columns, isView)
    }

    // MARK: Pushdown

    public func canPushDown(_ path: String, _ condition: FieldCondition, in collection: CollectionSchema) -> Bool {
        guard capabilities.filterOperators.contains(condition.filterOperator),
              let t = state.withLock({ $0.tables?[collection.className] }) else { return false }
        return PostgresFilterTranslator.canTranslate(path, condition, t)
    }

    // MARK: Reads

    func selectList(_ t: PostgresTable, fields: Set<String>?) -> String { t.selectList(fields: fields) }

    public func find(_ query: SourceQuery, in collection: CollectionSchema, context: ConnectorContext) async throws -> [ParseObject] {
        try await find(query, in: collection, on: nil)
    }

    func find(_ query: SourceQuery, in collection: CollectionSchema, on connection: PostgresConnection?) async throws -> [ParseObject] {
        let t = try await table(collection)
        var translator = PostgresFilterTranslator(table: t)
        var sql = "SELECT \(selectList(t, fields: query.fields)) FROM \(t.qualifiedName)"
        if let filter = query.filter { sql += " WHERE " + translator.whereClause(filter) }
        if capabilities.sorting { sql += " ORDER BY " + translator.orderBy(query.sort) }
        if let limit = query.limit { sql += " LIMIT \(translator.bind(String(limit), as: "bigint"))" }
        if query.skip > 0 { sql += " OFFSET \(translator.bind(String(query.skip), as: "bigint"))" }
        return try await rows(translator.statement(sql), t, fields: query.fields, on: connection)
    }

    public func count(_ filter: QueryFilter?, in collection: CollectionSchema, context: ConnectorContext) async throws -> Int {
        try await count(filter, in: collection, on: nil)
    }

    func count(_ filter: QueryFilter?, in collection: CollectionSchema, on connection: PostgresConnection?) async throws -> Int {
        let t = try await table(collection)
        var translator = PostgresFilterTranslator(table: t)
        var sql = "SELECT count(*) FROM \(t.qualifiedName)"
        if let filter { sql += " WHERE " + translator.whereClause(filter) }
        let rows = try await run(translator.statement(sql), on: connection)
        guard let cell = rows.first?.first, case .int(let n) = try PostgresValueCodec.decode(cell, as: .number) else { return 0 }
        return Int(n)
    }

    public func get(objectId: String, fields: Set<String>?, in collection: CollectionSchema, context: ConnectorContext) async throws -> ParseObject? {
        try await get(objectId: objectId, fields: fields, in: collection, on: nil)
    }

    func get(objectId: String, fields: Set<String>?, in collection: CollectionSchema, on connection: PostgresConnection?) async throws -> ParseObject? {
        let t = try await table(collection)
        let key = t.info(t.schema.objectId.column)
        guard let literal = PostgresFilterTranslator.keyLiteral(objectId, t.schema.objectId, key) else { return nil }
        var translator = PostgresFilterTranslator(table: t)
        let sql = "SELECT \(selectList(t, fields: fields)) FROM \(t.qualifiedName) WHERE \(PGSQL.quote(t.schema.objectId.column)) = \(translator.bind(literal, as: key.castType))"
        return try await rows(translator.statement(sql), t, fields: fields, on: connection).first
    }

    /// Runs `body` on the transaction's connection, or on a shared one, within the statement deadline
    /// (statement timeout + connect timeout + 2 s): past it the connection is closed, which fails the statements
    /// waiting on it, and the caller gets a timeout error. No request waits forever for a server that stopped
    /// answering or a connection that died under it. Failures become Parse errors here.
    func statement<T>(on connection: PostgresConnection?, _ body: (PostgresConnection, PreparedStatementCache?) async throws -> T) async throws -> T {
        do {
            if let connection { return try await bounded(connection, retire: { $0.close().whenComplete { _ in _ = connection } }) { try await body($0, nil) } }
            let set = try connections()
            return try await set.withConnection { c, prepared in try await bounded(c, retire: set.retire) { try await body($0, prepared) } }
        } catch {
            // Anything else PostgresNIO passes on (a socket error, say) means the connection failed.
            throw translate(error, otherwise: { GatewayError(.connectionFailed, "The PostgreSQL source of connector '\(name)' is unreachable; retry the request.", detail: String(reflecting: $0)) })
        }
    }

    /// Runs `statement` and reads all its rows: prepared on a shared connection, unprepared in a transaction.
    func run(_ statement: PostgresStatement, on connection: PostgresConnection?) async throws -> [PostgresRow] {
        let logger = self.logger
        logger.debug("postgres statement", metadata: ["causeway.connector": .string(name), "causeway.sql": .string(statement.sql)])
        return try await self.statement(on: connection) { c, prepared in
            if let answer = prepared?.execute(statement, on: c) { return try await answer.get() }
            return try await c.query(statement.query, logger: logger).collect()
        }
    }

    private var deadline: Duration { .milliseconds(settings.statementTimeoutMs + settings.connectTimeoutMs + 2000) }

    private func bounded<T>(_ connection: PostgresConnection, retire: @escaping @Sendable (PostgresConnection) -> Void,
                            _ body: (PostgresConnection) async throws -> T) async throws -> T {
        let flag = ExpiryFlag()
        let id = watchdog.register(.now + deadline) {
            flag.set()
            retire(connection)
        }
        defer { watchdog.unregister(id) }
        do {
            return try await body(connection)
        } catch where flag.isSet {
            throw GatewayError(.timeout, "PostgreSQL did not answer in time (it may be unreachable or overloaded); retry the request.",
                               detail: String(reflecting: error))
        }
    }

    func rows(_ statement: PostgresStatement, _ t: PostgresTable, fields: Set<String>?, on connection: PostgresConnection? = nil) async throws -> [ParseObject] {
        try await run(statement, on: connection).map { try self.decode($0, t, fields: fields) }
    }

    func decode(_ row: PostgresRow, _ t: PostgresTable, fields: Set<String>?) throws -> ParseObject {
        var cells = row.makeIterator()
        func next() throws -> PostgresCell {
            guard let c = cells.next() else { throw GatewayError(.internalServerError, "Internal server error.", detail: "row has too few columns") }
            return c
        }
        var object = ParseObject()
        object.fields.reserveCapacity(fields?.count ?? t.fieldOrder.count)
        do {
            switch try PostgresValueCodec.decode(try next(), as: .string) {
            case .string(let s): object.objectId = s
            case .int(let i): object.objectId = String(i)
            default: break
            }
            if t.schema.createdAtColumn != nil, case .date(let d) = try PostgresValueCodec.decode(try next(), as: .date) { object.createdAt = d }
            if t.schema.updatedAtColumn != nil, case .date(let d) = try PostgresValueCodec.decode(try next(), as: .date) { object.updatedAt = d }
            for name in t.fieldOrder where fields?.contains(name) ?? true {
                let f = t.schema.fields[name]!
                if f.type == .geoPoint {
                    let lat = try PostgresValueCodec.decode(try next(), as: .number), lon = try PostgresValueCodec.decode(try next(), as: .number)
                    if let la = lat.doubleValue, let lo = lon.doubleValue { object.fields[name] = .geoPoint(GeoPoint(latitude: la, longitude: lo)) }
                    continue
                }
                let cell = try next()
                let value: ParseValue
                do {
                    value = try PostgresValueCodec.decode(cell, as: f.type, targetClass: f.targetClass)
                } catch PostgresValueCodec.DecodeError.imprecise(let text) {
                    throw GatewayError(.incorrectType, "\(t.schema.className).\(name) holds \(text), which a JSON number cannot represent exactly; map the field as type string to read it.")
                }
                if !value.isNull { object.fields[name] = value }
            }
        } catch let error as GatewayError {
            throw error
        } catch {
            throw GatewayError(.internalServerError, "Internal server error.", detail: "decoding a row of \(t.qualifiedName): \(error)")
        }
        return object
    }

    // MARK: Writes

    private func writable(_ t: PostgresTable) throws {
        if t.isView { throw GatewayError(.operationForbidden, "Class \(t.schema.className) is served from a view and is read-only.") }
    }

    public func create(_ object: ParseObject, in collection: CollectionSchema, context: ConnectorContext) async throws -> ParseObject {
        try await create(object, in: collection, on: nil)
    }

    func create(_ object: ParseObject, in collection: CollectionSchema, on connection: PostgresConnection?) async throws -> ParseObject {
        let t = try await table(collection)
        try writable(t)
        var translator = PostgresFilterTranslator(table: t)
        var columns: [String] = []
        var values: [String] = []
        if let id = object.objectId {
            let key = t.info(t.schema.objectId.column)
            columns.append(t.schema.objectId.column)
            values.append(translator.bind(id, as: key.castType))
        }
        for (column, date) in [(t.schema.createdAtColumn, object.createdAt), (t.schema.updatedAtColumn, object.updatedAt)] {
            guard let column, let date else { continue }
            columns.append(column)
            values.append(translator.bind(.date(date), for: t.info(column)))
        }
        for name in object.fields.keys.sorted() {
            let f = t.schema.fields[name]!
            let v = object.fields[name]!
            try checkEncodable(v, f, t)
            let cols = PostgresTable.columns(of: f)
            if f.type == .geoPoint, case .geoPoint(let p) = v {
                columns += cols
                values.append(translator.bind(.double(p.latitude), for: t.info(cols[0])))
                values.append(translator.bind(.double(p.longitude), for: t.info(cols[1])))
            } else {
                columns.append(cols[0])
                values.append(translator.bind(v, for: t.info(cols[0])))
            }
        }
        let sql = columns.isEmpty
            ? "INSERT INTO \(t.qualifiedName) DEFAULT VALUES RETURNING \(selectList(t, fields: nil))"
            : "INSERT INTO \(t.qualifiedName) (\(columns.map(PGSQL.quote).joined(separator: ", "))) VALUES (\(values.joined(separator: ", "))) RETURNING \(selectList(t, fields: nil))"
        guard let stored = try await rows(translator.statement(sql), t, fields: nil, on: connection).first else {
            throw GatewayError(.internalServerError, "Internal server error.", detail: "INSERT returned no row")
        }
        return stored
    }

    /// Refuses values the column cannot hold with a Parse type error instead of a database error.
    private func checkEncodable(_ v: ParseValue, _ f: FieldMapping, _ t: PostgresTable) throws {
        let column = t.info(PostgresTable.columns(of: f)[0])
        var ok = true
        switch (f.type, v) {
        case (.array, .array(let items)): ok = PostgresValueCodec.elementsEncodable(items, for: column)
        case (.geoPoint, _), (.object, _), (.file, _), (.bytes, _), (.pointer, _): ok = true
        default: ok = PostgresValueCodec.encodable(v, for: column)
        }
        if !ok {
            throw GatewayError(.incorrectType, "schema mismatch for \(t.schema.className).\(f.name); the column is \(column.typeName) and cannot hold \(JSONWriter.string(ParseCodec.encode(v)).prefix(60))")
        }
    }

    public func update(objectId: String, operations: [String: UpdateOperation], updatedAt: ParseDate,
                       in collection: CollectionSchema, context: ConnectorContext) async throws -> ParseObject? {
        try await update(objectId: objectId, operations: operations, updatedAt: updatedAt, in: collection, on: nil)
    }

    func update(objectId: String, operations: [String: UpdateOperation], updatedAt: ParseDate,
                in collection: CollectionSchema, on connection: PostgresConnection?) async throws -> ParseObject? {
        let t = try await table(collection)
        try writable(t)
        let key = t.info(t.schema.objectId.column)
        guard let literal = PostgresFilterTranslator.keyLiteral(objectId, t.schema.objectId, key) else { return nil }
        var translator = PostgresFilterTranslator(table: t)
        var sets: [String] = []
        for name in operations.keys.sorted() {
            let f = t.schema.fields[name]!
            let op = operations[name]!
            if case .set(let v) = op { try checkEncodable(v, f, t) }
            sets += try assignments(f, op, t, &translator)
        }
        if let u = t.schema.updatedAtColumn {
            sets.append("\(PGSQL.quote(u)) = \(translator.bind(.date(updatedAt), for: t.info(u)))")
        }
        let idColumn = PGSQL.quote(t.schema.objectId.column)
        let condition = "\(idColumn) = \(translator.bind(literal, as: key.castType))"
        let sql = sets.isEmpty
            ? "SELECT \(selectList(t, fields: nil)) FROM \(t.qualifiedName) WHERE \(condition)"
            : "UPDATE \(t.qualifiedName) SET \(sets.joined(separator: ", ")) WHERE \(condition) RETURNING \(selectList(t, fields: nil))"
        return try await rows(translator.statement(sql), t, fields: nil, on: connection).first
    }

    /// `SET` terms for one field operation, evaluated by PostgreSQL on the current row.
    private func assignments(_ f: FieldMapping, _ op: UpdateOperation, _ t: PostgresTable,
                             _ tr: inout PostgresFilterTranslator) throws -> [String] {
        let cols = PostgresTable.columns(of: f)
        let c = PGSQL.quote(cols[0])
        let info = t.info(cols[0])
        switch op {
        case .set(let v):
            if f.type == .geoPoint {
                guard case .geoPoint(let p) = v else { return ["\(c) = NULL", "\(PGSQL.quote(cols[1])) = NULL"] }
                return ["\(c) = \(tr.bind(.double(p.latitude), for: info))", "\(PGSQL.quote(cols[1])) = \(tr.bind(.double(p.longitude), for: t.info(cols[1])))"]
            }
            return ["\(c) = \(tr.bind(v, for: info))"]
        case .delete:
            return cols.map { "\(PGSQL.quote($0)) = NULL" }
        case .increment(let amount):
            guard PostgresValueCodec.encodable(amount, for: info) else {
                throw GatewayError(.incorrectType, "Cannot increment \(t.schema.className).\(f.name) by \(JSONWriter.string(ParseCodec.encode(amount))): the column is \(info.typeName).")
            }
            return ["\(c) = COALESCE(\(c), 0) + \(tr.bind(amount, for: info))"]
        case .add(let items), .addUnique(let items), .remove(let items):
            guard PostgresValueCodec.elementsEncodable(items, for: info) else {
                throw GatewayError(.incorrectType, "The values cannot be stored in \(t.schema.className).\(f.name) (\(info.typeName)).")
            }
            if info.isJSON {
                let arg = tr.bind(JSONWriter.string(.array(items.map(ParseCodec.encode))), as: "jsonb")
                let current = "COALESCE(\(c), '[]'::jsonb)"
                let value: String
                switch op {
                case .add: value = "\(current) || \(arg)"
                case .addUnique:
                    value = "\(current) || COALESCE((SELECT jsonb_agg(e ORDER BY i) FROM (SELECT e, min(i) AS i FROM jsonb_array_elements(\(arg)) WITH ORDINALITY AS u(e, i) WHERE NOT (\(current) @> jsonb_build_array(e)) GROUP BY e) AS s), '[]'::jsonb)"
                default:
                    value = "COALESCE((SELECT jsonb_agg(e ORDER BY i) FROM jsonb_array_elements(\(current)) WITH ORDINALITY AS u(e, i) WHERE NOT (\(arg) @> jsonb_build_array(e))), '[]'::jsonb)"
                }
                return ["\(c) = \(value)::\(info.castType)"]
            }
            let arg = tr.bind(PostgresValueCodec.arrayLiteral(items), as: info.castType)
            let current = "COALESCE(\(c), '{}'::\(info.castType))"
            switch op {
            case .add: return ["\(c) = \(current) || \(arg)"]
            case .addUnique:
                return ["\(c) = \(current) || ARRAY(SELECT e FROM unnest(\(arg)) WITH ORDINALITY AS u(e, i) WHERE e IS NOT NULL AND e <> ALL(\(current)) GROUP BY e ORDER BY min(i))"]
            default:
                return ["\(c) = ARRAY(SELECT e FROM unnest(\(current)) WITH ORDINALITY AS u(e, i) WHERE e IS NULL OR e <> ALL(\(arg)) ORDER BY i)"]
            }
        }
    }

    public func delete(objectId: String, in collection: CollectionSchema, context: ConnectorContext) async throws -> Bool {
        try await delete(objectId: objectId, in: collection, on: nil)
    }

    func delete(objectId: String, in collection: CollectionSchema, on connection: PostgresConnection?) async throws -> Bool {
        let t = try await table(collection)
        try writable(t)
        let key = t.info(t.schema.objectId.column)
        guard let literal = PostgresFilterTranslator.keyLiteral(objectId, t.schema.objectId, key) else { return false }
        var translator = PostgresFilterTranslator(table: t)
        let idColumn = PGSQL.quote(t.schema.objectId.column)
        let sql = "DELETE FROM \(t.qualifiedName) WHERE \(idColumn) = \(translator.bind(literal, as: key.castType)) RETURNING \(idColumn)"
        return try await !run(translator.statement(sql), on: connection).isEmpty
    }

    // MARK: Errors

    /// Runs work that has no connection of its own to close (the pooled client's calls, opening the shared
    /// connections) in a task of its own with the deadline, translating failures into Parse errors.
    func run<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        do {
            return try await watchdog.run(deadline, onTimeout: {
                GatewayError(.timeout, "PostgreSQL did not answer in time (it may be unreachable or overloaded); retry the request.")
            }, body)
        } catch {
            throw translate(error)
        }
    }

    private func translate(_ error: any Error, otherwise: (any Error) -> any Error = { $0 }) -> any Error {
        switch error {
        case let error as GatewayError: return error
        case let error as PSQLError: return PostgresErrorTranslator.translate(error, connector: name)
        case let error as PostgresError: return PostgresErrorTranslator.translate(error, connector: name)
        case is CancellationError: return GatewayError(.timeout, "PostgreSQL did not answer in time; retry the request.")
        default: return otherwise(error)
        }
    }
}

/// Set once a statement's deadline has passed.
final class ExpiryFlag: Sendable {
    private let value = Atomic<Bool>(false)
    func set() { value.store(true, ordering: .releasing) }
    var isSet: Bool { value.load(ordering: .acquiring) }
}

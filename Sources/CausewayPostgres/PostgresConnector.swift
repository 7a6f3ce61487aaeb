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
    /// A `skip` above this is answered with a keyset condition where the order allows (see `PostgresFindStatement`).
    let keysetSkipThreshold: Int
    let declared: [String: PostgresTable]
    let state = Mutex<State>(State())
    let watchdog = DeadlineWatchdog()

    struct State {
        /// For transactions; made on first use, run by `runBackground`.
        var client: PostgresClient?
        /// Whether some `runBackground` has taken the client to run it (a client runs once).
        var clientClaimed = false
        /// Set by that task right before it calls the client's run(); `client()` hands it out only then.
        var clientRunning = false
        /// For every other statement.
        var connections: PostgresConnectionSet?
        /// Tables with their introspected columns, once loaded.
        var tables: [String: PostgresTable]?
        /// Relations' join tables with their introspected columns, by `schema.table` (PostgresConnector+Relations.swift).
        var joinTables: [String: PostgresTable] = [:]
        /// How often a join table was read from the catalog (for tests).
        var joinTableIntrospections = 0
        var logger = Logger(label: "causeway.postgres")
    }

    public static let fullCapabilities = ConnectorCapabilities(
        filterOperators: Set(FilterOperator.allCases).subtracting([.withinPolygon]),
        nestedPaths: false, sorting: true, distanceSorting: true, paging: true, projection: true, counting: true,
        updateOperations: Set(UpdateOperation.Kind.allCases), writes: true)

    init(name: String, settings: PostgresConnectionSettings, tables: [PostgresTable],
         capabilities: ConnectorCapabilities = PostgresConnector.fullCapabilities, keysetSkipThreshold: Int = 1000) {
        self.name = name
        self.keysetSkipThreshold = keysetSkipThreshold
        self.settings = settings
        self.capabilities = capabilities
        var byClass: [String: PostgresTable] = [:]
        for t in tables { byClass[t.schema.className] = t }
        self.declared = byClass
    }

    /// The same connector with other declared capabilities (used to test pushdown against the evaluator).
    public func withCapabilities(_ capabilities: ConnectorCapabilities) -> PostgresConnector {
        PostgresConnector(name: name, settings: settings, tables: Array(declared.values), capabilities: capabilities,
                          keysetSkipThreshold: keysetSkipThreshold)
    }

    public var collections: [CollectionSchema] { declared.values.map(\.schema).sorted { $0.className < $1.className } }

    func declaredTable(_ className: String) -> PostgresTable? { declared[className] }

    // MARK: Lifecycle

    /// Runs the deadline watchdog and PostgresNIO's pooled client (transactions) until cancelled.
    public func runBackground(logger: Logger) async {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.watchdog.run() }
            let client = try? state.withLock { s throws -> PostgresClient? in
                guard !s.clientClaimed else { return nil }
                s.clientClaimed = true
                return try pooledClient(&s, logger: logger)
            }
            if let client {
                group.addTask {
                    // Transactions lease from the client only once its run() is under way: a lease before it was
                    // seen never to be answered under load.
                    self.state.withLock { $0.clientRunning = true }
                    await client.run()
                }
            }
        }
    }

    /// Opens the shared connections and loads the mapped tables' column types. Throws a retryable error while
    /// PostgreSQL is unreachable (the connector's service tries again), a clear one when TLS cannot be set up.
    public func start(logger: Logger) async throws {
        let connections = try state.withLock { s throws -> PostgresConnectionSet in
            s.logger = logger
            s.joinTables = [:]  // introspected again after a restart
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

    func pooledClient(_ s: inout State, logger: Logger) throws -> PostgresClient {
        if let c = s.client { return c }
        let configuration = try tlsChecked { try settings.clientConfiguration(connectorName: name) }
        let c = PostgresClient(configuration: configuration, backgroundLogger: logger)
        s.client = c
        return c
    }

    func tlsChecked<T>(_ make: () throws -> T) throws -> T {
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

    // MARK: Pushdown

    public func canPushDown(_ path: String, _ condition: FieldCondition, in collection: CollectionSchema) -> Bool {
        guard capabilities.filterOperators.contains(condition.filterOperator),
              let t = state.withLock({ $0.tables?[collection.className] }) else { return false }
        return PostgresFilterTranslator.canTranslate(path, condition, t)
    }

    // MARK: Reads

    func selectList(_ t: PostgresTable, fields: Set<String>?) -> String { t.selectList(fields: fields) }

    public func find(_ query: SourceQuery, in collection: CollectionSchema, context: ConnectorContext) async throws -> [ParseObject] {
        try await find(query, in: collection, on: nil, context: context)
    }

    public func find(_ query: SourceQuery, in collection: CollectionSchema, on connection: PostgresConnection?,
                     context: ConnectorContext? = nil) async throws -> [ParseObject] {
        let t = try await table(collection)
        let (statement, _) = try findStatement(query, t)
        if let context, context.explainRequested { await logPlan(statement, context: context) }
        return try await rows(statement, t, fields: query.fields, on: connection)
    }

    public func count(_ filter: QueryFilter?, in collection: CollectionSchema, context: ConnectorContext) async throws -> Int {
        try await count(filter, in: collection, on: nil)
    }

    public func count(_ filter: QueryFilter?, in collection: CollectionSchema, on connection: PostgresConnection?) async throws -> Int {
        let t = try await table(collection)
        var translator = PostgresFilterTranslator(table: t)
        var sql = "SELECT count(*) FROM \(t.qualifiedName)"
        if let filter { sql += " WHERE " + translator.whereClause(filter) }
        let rows = try await run(try translator.statement(sql), on: connection)
        guard let cell = rows.first?.first, case .int(let n) = try PostgresValueCodec.decode(cell, as: .number) else { return 0 }
        return Int(n)
    }

    public func get(objectId: String, fields: Set<String>?, in collection: CollectionSchema, context: ConnectorContext) async throws -> ParseObject? {
        try await get(objectId: objectId, fields: fields, in: collection, on: nil)
    }

    public func get(objectId: String, fields: Set<String>?, in collection: CollectionSchema, on connection: PostgresConnection?) async throws -> ParseObject? {
        let t = try await table(collection)
        let key = t.info(t.schema.objectId.column)
        guard let literal = PostgresFilterTranslator.keyLiteral(objectId, t.schema.objectId, key) else { return nil }
        var translator = PostgresFilterTranslator(table: t)
        let sql = "SELECT \(selectList(t, fields: fields)) FROM \(t.qualifiedName) WHERE \(t.quoted(t.schema.objectId.column)) = \(translator.bind(literal, as: key.castType))"
        return try await rows(try translator.statement(sql), t, fields: fields, on: connection).first
    }
}

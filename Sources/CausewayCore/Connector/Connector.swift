import Logging

/// A source of collections: the embedded SQLite store, a PostgreSQL database, a REST API.
///
/// The gateway validates requests against the collection schema and plans queries from the declared
/// capabilities before calling a connector; a connector never sees an operator it did not declare.
/// Connectors translate their own failures into `GatewayError`s at this boundary.
///
/// A minimal connector declares its name, kind, capabilities and collections and implements `find`;
/// everything else has a default: reads by id and counts go through `find`, writes answer 119
/// (read-only), and there is nothing to start, run, stop or verify. The gateway runs every connector
/// inside a `ConnectorService` (see there for the order of `start`, `runBackground` and `shutdown`).
public protocol Connector: Sendable {
    /// The connector's name: its file name in `Connectors/`, used in logs, metrics and errors.
    var name: String { get }
    /// The connector kind (`sqlite`, `postgres`, `rest`, …).
    var kind: String { get }
    /// What the source can evaluate itself; the planner pushes down nothing else.
    var capabilities: ConnectorCapabilities { get }
    /// The classes this connector serves.
    var collections: [CollectionSchema] { get }
    /// Whether the source's answers depend on who asks (it receives `context.caller`); then cached
    /// answers are kept per user. Default: false.
    var answersDependOnCaller: Bool { get }

    /// Opens connections. Called by the connector's service before the connector serves, again after a
    /// failure (with back-off) until it succeeds; its classes answer 100 until then. Default: nothing.
    func start(logger: Logger) async throws
    /// Work the connector keeps running while it serves (a connection pool's run loop, a watchdog), as a
    /// child task of its service: started before `start`, cancelled after `shutdown`. Default: nothing.
    func runBackground(logger: Logger) async
    /// Closes connections; called once at shutdown (also when `start` never succeeded). Default: nothing.
    func shutdown() async

    /// Called before a request is planned: a connector that learns its source's shape lazily (column
    /// types) loads it here, so planning never falls back to a full scan for want of it. Default: nothing.
    func ready() async throws

    /// Runs the pushed-down part of a query.
    func find(_ query: SourceQuery, in collection: CollectionSchema, context: ConnectorContext) async throws -> [ParseObject]
    /// Counts rows matching a pushed-down filter (only called when `capabilities.counting`).
    /// Default: the number of rows `find` returns for the filter.
    func count(_ filter: QueryFilter?, in collection: CollectionSchema, context: ConnectorContext) async throws -> Int
    /// Reads one object by id. Default: `find` with an `objectId` condition (or a scan when the source
    /// cannot filter).
    func get(objectId: String, fields: Set<String>?, in collection: CollectionSchema, context: ConnectorContext) async throws -> ParseObject?
    /// Inserts an object. `object.objectId` is set when the gateway generates ids; the result carries
    /// the stored object's id and timestamps. Default: 119, read-only.
    func create(_ object: ParseObject, in collection: CollectionSchema, context: ConnectorContext) async throws -> ParseObject
    /// Applies field operations atomically and returns the object as stored afterwards, or nil if absent.
    /// Default: 119, read-only.
    func update(objectId: String, operations: [String: UpdateOperation], updatedAt: ParseDate,
                in collection: CollectionSchema, context: ConnectorContext) async throws -> ParseObject?
    /// Deletes an object; false if it did not exist. Default: 119, read-only.
    func delete(objectId: String, in collection: CollectionSchema, context: ConnectorContext) async throws -> Bool

    /// Whether one condition can be pushed down for this collection (beyond the operator being declared,
    /// a connector may refuse a condition because of the field's storage). Default: the declared operators.
    func canPushDown(_ path: String, _ condition: FieldCondition, in collection: CollectionSchema) -> Bool
    /// Checks that what the collections map really exists in the source. It connects by itself when the
    /// connector is not started and never changes the source. Default: nothing to check.
    func verify(logger: Logger) async -> [CheckFinding]
}

extension Connector {
    public var answersDependOnCaller: Bool { false }
    public func start(logger: Logger) async throws {}
    public func runBackground(logger: Logger) async {}
    public func shutdown() async {}
    public func ready() async throws {}
    public func verify(logger: Logger) async -> [CheckFinding] { [] }

    public func canPushDown(_ path: String, _ condition: FieldCondition, in collection: CollectionSchema) -> Bool {
        guard capabilities.filterOperators.contains(condition.filterOperator) else { return false }
        if path.contains(".") { return capabilities.nestedPaths }
        return true
    }

    public func count(_ filter: QueryFilter?, in collection: CollectionSchema, context: ConnectorContext) async throws -> Int {
        try await find(SourceQuery(filter: filter), in: collection, context: context).count
    }

    public func get(objectId: String, fields: Set<String>?, in collection: CollectionSchema, context: ConnectorContext) async throws -> ParseObject? {
        if capabilities.filterOperators.contains(.equal) {
            let query = SourceQuery(filter: .field("objectId", .equal(.string(objectId))), limit: 1, fields: fields)
            return try await find(query, in: collection, context: context).first
        }
        return try await find(SourceQuery(), in: collection, context: context).first { $0.objectId == objectId }
    }

    public func create(_ object: ParseObject, in collection: CollectionSchema, context: ConnectorContext) async throws -> ParseObject {
        throw Self.readOnly(collection)
    }

    public func update(objectId: String, operations: [String: UpdateOperation], updatedAt: ParseDate,
                       in collection: CollectionSchema, context: ConnectorContext) async throws -> ParseObject? {
        throw Self.readOnly(collection)
    }

    public func delete(objectId: String, in collection: CollectionSchema, context: ConnectorContext) async throws -> Bool {
        throw Self.readOnly(collection)
    }

    static func readOnly(_ collection: CollectionSchema) -> GatewayError {
        GatewayError(.operationForbidden, "Class \(collection.className) is read-only.")
    }
}

import Logging

/// A source of collections: the embedded SQLite store, a PostgreSQL database, a REST API.
///
/// The gateway validates requests against the collection schema and plans queries from the declared
/// capabilities before calling a connector; a connector never sees an operator it did not declare.
/// Connectors translate their own failures into `GatewayError`s at this boundary.
public protocol Connector: Sendable {
    var name: String { get }
    var kind: String { get }
    var capabilities: ConnectorCapabilities { get }
    var collections: [CollectionSchema] { get }
    /// Whether the source's answers depend on who asks (see the extension's default).
    var answersDependOnCaller: Bool { get }

    /// Opens connections; called once before the gateway serves requests.
    func start(logger: Logger) async throws
    /// Closes connections; called once at shutdown.
    func shutdown() async

    /// Called before a request is planned: a connector that learns its source's shape lazily (column
    /// types) loads it here, so planning never falls back to a full scan for want of it.
    func ready() async throws

    /// Runs the pushed-down part of a query.
    func find(_ query: SourceQuery, in collection: CollectionSchema) async throws -> [ParseObject]
    /// Counts rows matching a pushed-down filter (only called when `capabilities.counting`).
    func count(_ filter: QueryFilter?, in collection: CollectionSchema) async throws -> Int
    /// Reads one object by id.
    func get(objectId: String, fields: Set<String>?, in collection: CollectionSchema) async throws -> ParseObject?
    /// Inserts an object. `object.objectId` is set when the gateway generates ids; the result carries
    /// the stored object's id and timestamps.
    func create(_ object: ParseObject, in collection: CollectionSchema) async throws -> ParseObject
    /// Applies field operations atomically and returns the object as stored afterwards, or nil if absent.
    func update(objectId: String, operations: [String: UpdateOperation], updatedAt: ParseDate,
                in collection: CollectionSchema) async throws -> ParseObject?
    /// Deletes an object; false if it did not exist.
    func delete(objectId: String, in collection: CollectionSchema) async throws -> Bool

    /// Whether one condition can be pushed down for this collection (beyond the operator being declared,
    /// a connector may refuse a condition because of the field's storage).
    func canPushDown(_ path: String, _ condition: FieldCondition, in collection: CollectionSchema) -> Bool
    /// Checks that what the collections map really exists in the source. It connects by itself when the
    /// connector is not started and never changes the source.
    func verify(logger: Logger) async -> [CheckFinding]
}

extension Connector {
    public func ready() async throws {}

    /// Whether the source's answers depend on who asks (it receives the caller's identity); then cached
    /// answers are kept per user.
    public var answersDependOnCaller: Bool { false }

    public func canPushDown(_ path: String, _ condition: FieldCondition, in collection: CollectionSchema) -> Bool {
        guard capabilities.filterOperators.contains(condition.filterOperator) else { return false }
        if path.contains(".") { return capabilities.nestedPaths }
        return true
    }

    public func get(objectId: String, fields: Set<String>?, in collection: CollectionSchema) async throws -> ParseObject? {
        let query = SourceQuery(filter: .field("objectId", .equal(.string(objectId))), limit: 1, fields: fields)
        if capabilities.filterOperators.contains(.equal) {
            return try await find(query, in: collection).first
        }
        return try await find(SourceQuery(), in: collection).first { $0.objectId == objectId }
    }
}

/// One line of a `causeway check` report.
public struct CheckFinding: Sendable, Hashable, CustomStringConvertible {
    public enum Severity: String, Sendable { case error, warning, ok }
    public var severity: Severity
    public var subject: String
    public var message: String

    public init(_ severity: Severity, _ subject: String, _ message: String) {
        self.severity = severity
        self.subject = subject
        self.message = message
    }

    public var description: String { "\(severity.rawValue): \(subject): \(message)" }
}

import CausewayCore
import Logging
import SQLiteNIO

/// Transactions of the embedded store: `BEGIN IMMEDIATE … COMMIT` on the single writer connection, held for the
/// whole body (other writers wait; readers of a file database keep reading the last commit). Used for an owner's
/// row and its join-table links written together and for `/batch` with `"transaction": true`.
extension SQLiteConnector: TransactionalConnector {
    public func withTransaction<T: Sendable>(_ body: @Sendable (any Connector) async throws -> T) async throws -> T {
        try await run {
            try await self.connections().transaction { c in try await body(SQLiteTransactionConnector(base: self, connection: c)) }
        }
    }

    /// One read on `c` (inside a transaction) or on the pool's readers.
    func read(_ sql: String, _ binds: [SQLiteData], on c: SQLiteConnection?) async throws -> [SQLiteRow] {
        if let c { return try await c.query(sql, binds) }
        return try await connections().read(sql, binds)
    }

    /// Statements on `c` (inside a transaction) or on the writer with exclusive use of it.
    func write<T: Sendable>(on c: SQLiteConnection?, _ body: (SQLiteConnection) async throws -> T) async throws -> T {
        if let c { return try await body(c) }
        return try await connections().write(body)
    }

    /// Statements that must apply together: on `c`, part of the caller's transaction; otherwise in one of their own.
    func transaction<T: Sendable>(on c: SQLiteConnection?, _ body: (SQLiteConnection) async throws -> T) async throws -> T {
        if let c { return try await body(c) }
        return try await connections().transaction(body)
    }
}

/// The connector's operations on the writer connection inside one transaction, join tables included. It is not
/// itself transactional: a transaction inside would wait for the writer it holds.
struct SQLiteTransactionConnector: RelationConnector, @unchecked Sendable {
    let base: SQLiteConnector
    let connection: SQLiteConnection

    var name: String { base.name }
    var kind: String { base.kind }
    var capabilities: ConnectorCapabilities { base.capabilities }
    var collections: [CollectionSchema] { base.collections }

    func canPushDown(_ path: String, _ condition: FieldCondition, in collection: CollectionSchema) -> Bool {
        base.canPushDown(path, condition, in: collection)
    }
    func find(_ query: SourceQuery, in collection: CollectionSchema, context: ConnectorContext) async throws -> [ParseObject] {
        try await base.find(query, in: collection, on: connection)
    }
    func count(_ filter: QueryFilter?, in collection: CollectionSchema, context: ConnectorContext) async throws -> Int {
        try await base.count(filter, in: collection, on: connection)
    }
    func get(objectId: String, fields: Set<String>?, in collection: CollectionSchema, context: ConnectorContext) async throws -> ParseObject? {
        try await base.get(objectId: objectId, fields: fields, in: collection, on: connection)
    }
    func create(_ object: ParseObject, in collection: CollectionSchema, context: ConnectorContext) async throws -> ParseObject {
        try await base.create(object, in: collection, on: connection)
    }
    func update(objectId: String, operations: [String: UpdateOperation], updatedAt: ParseDate, in collection: CollectionSchema,
                context: ConnectorContext) async throws -> ParseObject? {
        try await base.update(objectId: objectId, operations: operations, updatedAt: updatedAt, in: collection, on: connection)
    }
    func delete(objectId: String, in collection: CollectionSchema, context: ConnectorContext) async throws -> Bool {
        try await base.delete(objectId: objectId, in: collection, on: connection)
    }
    func verify(logger: Logger) async -> [CheckFinding] { await base.verify(logger: logger) }

    func relatedIds(owner objectId: String, relation: RelationMapping, in collection: CollectionSchema, target: ObjectIdMapping,
                    limit: Int, context: ConnectorContext) async throws -> [String] {
        try await base.relatedIds(owner: objectId, relation: relation, in: collection, limit: limit, on: connection)
    }
    func ownerIds(linkedTo targets: [String], relation: RelationMapping, in collection: CollectionSchema, target: ObjectIdMapping,
                  limit: Int, context: ConnectorContext) async throws -> [String] {
        try await base.ownerIds(linkedTo: targets, relation: relation, target: target, limit: limit, on: connection)
    }
    func changeRelation(owner objectId: String, relation: RelationMapping, in collection: CollectionSchema, target: ObjectIdMapping,
                        adding: [String], removing: [String], context: ConnectorContext) async throws {
        try await base.changeRelation(owner: objectId, relation: relation, in: collection, target: target,
                                      adding: adding, removing: removing, on: connection)
    }
}

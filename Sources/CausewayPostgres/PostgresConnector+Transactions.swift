import CausewayCore
import Logging
import PostgresNIO

extension PostgresConnector: TransactionalConnector {
    public func withTransaction<T: Sendable>(_ body: @Sendable (any Connector) async throws -> T) async throws -> T {
        try await inTransaction { connection in try await body(PostgresTransactionConnector(base: self, connection: connection)) }
    }

    /// Runs `body` on one pooled connection inside `BEGIN … COMMIT`; rolled back when it throws.
    func inTransaction<T: Sendable>(_ body: @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        let client = try client()
        do {
            return try await client.withTransaction(logger: logger) { connection in try await body(connection) }
        } catch let error as PostgresTransactionError {
            if let closure = error.closureError { throw closure }
            throw GatewayError(.connectionFailed, "The PostgreSQL transaction of connector '\(name)' failed; nothing was changed.", detail: String(reflecting: error))
        }
    }
}

/// The connector's operations bound to one connection inside a transaction, join tables included (so an
/// owner's row and its links, or a transactional batch's relation changes, commit or roll back together).
struct PostgresTransactionConnector: RelationConnector, @unchecked Sendable {
    let base: PostgresConnector
    let connection: PostgresConnection

    var name: String { base.name }
    var kind: String { base.kind }
    var capabilities: ConnectorCapabilities { base.capabilities }
    var collections: [CollectionSchema] { base.collections }

    func ready() async throws { try await base.ready() }

    func canPushDown(_ path: String, _ condition: FieldCondition, in collection: CollectionSchema) -> Bool {
        base.canPushDown(path, condition, in: collection)
    }
    func find(_ query: SourceQuery, in collection: CollectionSchema, context: ConnectorContext) async throws -> [ParseObject] {
        try await base.find(query, in: collection, on: connection, context: context)
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
    func update(objectId: String, operations: [String: UpdateOperation], updatedAt: ParseDate, in collection: CollectionSchema, context: ConnectorContext) async throws -> ParseObject? {
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
        try await base.ownerIds(linkedTo: targets, relation: relation, in: collection, limit: limit, on: connection)
    }
    func changeRelation(owner objectId: String, relation: RelationMapping, in collection: CollectionSchema, target: ObjectIdMapping,
                        adding: [String], removing: [String], context: ConnectorContext) async throws {
        try await base.changeRelation(owner: objectId, relation: relation, in: collection, adding: adding, removing: removing, on: connection)
    }
}

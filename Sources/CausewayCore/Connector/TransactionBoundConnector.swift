import Logging

/// A connector's operations bound to one connection inside a transaction, join tables included: what
/// `TransactionalConnector.withTransaction` hands its body. It is not itself transactional (a transaction inside
/// would wait for the connection it holds, or nest).
public struct TransactionBoundConnector<Base: ConnectionBoundConnector>: RelationConnector, @unchecked Sendable {
    public let base: Base
    public let connection: Base.BoundConnection

    public init(base: Base, connection: Base.BoundConnection) {
        self.base = base
        self.connection = connection
    }

    public var name: String { base.name }
    public var kind: String { base.kind }
    public var capabilities: ConnectorCapabilities { base.capabilities }
    public var collections: [CollectionSchema] { base.collections }

    public func ready() async throws { try await base.ready() }

    public func canPushDown(_ path: String, _ condition: FieldCondition, in collection: CollectionSchema) -> Bool {
        base.canPushDown(path, condition, in: collection)
    }
    public func find(_ query: SourceQuery, in collection: CollectionSchema, context: ConnectorContext) async throws -> [ParseObject] {
        try await base.find(query, in: collection, on: connection, context: context)
    }
    public func count(_ filter: QueryFilter?, in collection: CollectionSchema, context: ConnectorContext) async throws -> Int {
        try await base.count(filter, in: collection, on: connection)
    }
    public func get(objectId: String, fields: Set<String>?, in collection: CollectionSchema, context: ConnectorContext) async throws -> ParseObject? {
        try await base.get(objectId: objectId, fields: fields, in: collection, on: connection)
    }
    public func create(_ object: ParseObject, in collection: CollectionSchema, context: ConnectorContext) async throws -> ParseObject {
        try await base.create(object, in: collection, on: connection)
    }
    public func update(objectId: String, operations: [String: UpdateOperation], updatedAt: ParseDate, in collection: CollectionSchema,
                       context: ConnectorContext) async throws -> ParseObject? {
        try await base.update(objectId: objectId, operations: operations, updatedAt: updatedAt, in: collection, on: connection)
    }
    public func delete(objectId: String, in collection: CollectionSchema, context: ConnectorContext) async throws -> Bool {
        try await base.delete(objectId: objectId, in: collection, on: connection)
    }
    public func verify(logger: Logger) async -> [CheckFinding] { await base.verify(logger: logger) }

    public func relatedIds(owner objectId: String, relation: RelationMapping, in collection: CollectionSchema, target: ObjectIdMapping,
                           limit: Int, context: ConnectorContext) async throws -> [String] {
        try await base.relatedIds(owner: objectId, relation: relation, in: collection, limit: limit, on: connection)
    }
    public func ownerIds(linkedTo targets: [String], relation: RelationMapping, in collection: CollectionSchema, target: ObjectIdMapping,
                         limit: Int, context: ConnectorContext) async throws -> [String] {
        try await base.ownerIds(linkedTo: targets, relation: relation, in: collection, target: target, limit: limit, on: connection)
    }
    public func changeRelation(owner objectId: String, relation: RelationMapping, in collection: CollectionSchema, target: ObjectIdMapping,
                               adding: [String], removing: [String], context: ConnectorContext) async throws {
        try await base.changeRelation(owner: objectId, relation: relation, in: collection, target: target,
                                      adding: adding, removing: removing, on: connection)
    }
}

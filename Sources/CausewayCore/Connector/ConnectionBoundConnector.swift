import Logging

/// A relation connector whose operations can also run on one connection of its own (a transaction's), given as
/// `on:`; nil there means the connector's pool, as its `Connector` methods do. `TransactionBoundConnector` binds
/// one connection to them, so that an owner's row and its links, or a transactional batch's writes, commit or
/// roll back together (SQLite, PostgreSQL).
public protocol ConnectionBoundConnector: RelationConnector {
    /// The connection type of the source's client library.
    associatedtype BoundConnection

    func find(_ query: SourceQuery, in collection: CollectionSchema, on connection: BoundConnection?,
              context: ConnectorContext?) async throws -> [ParseObject]
    func count(_ filter: QueryFilter?, in collection: CollectionSchema, on connection: BoundConnection?) async throws -> Int
    func get(objectId: String, fields: Set<String>?, in collection: CollectionSchema, on connection: BoundConnection?) async throws -> ParseObject?
    func create(_ object: ParseObject, in collection: CollectionSchema, on connection: BoundConnection?) async throws -> ParseObject
    func update(objectId: String, operations: [String: UpdateOperation], updatedAt: ParseDate,
                in collection: CollectionSchema, on connection: BoundConnection?) async throws -> ParseObject?
    func delete(objectId: String, in collection: CollectionSchema, on connection: BoundConnection?) async throws -> Bool
    func relatedIds(owner objectId: String, relation: RelationMapping, in collection: CollectionSchema, limit: Int,
                    on connection: BoundConnection?) async throws -> [String]
    func ownerIds(linkedTo targets: [String], relation: RelationMapping, in collection: CollectionSchema, target: ObjectIdMapping,
                  limit: Int, on connection: BoundConnection?) async throws -> [String]
    func changeRelation(owner objectId: String, relation: RelationMapping, in collection: CollectionSchema, target: ObjectIdMapping,
                        adding: [String], removing: [String], on connection: BoundConnection?) async throws
}

import Logging

/// A connector that keeps `type: relation` fields in join tables of its source (SQLite, PostgreSQL).
/// Optional: the gateway answers relation queries and operations on other connectors' classes with 102
/// ("not supported by connector …").
public protocol RelationConnector: Connector {
    /// The target ids linked to one owner in the relation's join table, at most `limit` of them.
    func relatedIds(owner objectId: String, relation: RelationMapping, in collection: CollectionSchema, target: ObjectIdMapping,
                    limit: Int, context: ConnectorContext) async throws -> [String]
    /// The owners linked to any of `targets` in the relation's join table (distinct, at most `limit` of them); ids the
    /// target's key cannot hold match nothing. Used for `{"relationField": pointer}` and its `$in` / `$ne` / `$nin`.
    func ownerIds(linkedTo targets: [String], relation: RelationMapping, in collection: CollectionSchema, target: ObjectIdMapping,
                  limit: Int, context: ConnectorContext) async throws -> [String]
    /// Adds links (an existing link stays as it is) and removes links (a missing link is no error), in one
    /// transaction.
    func changeRelation(owner objectId: String, relation: RelationMapping, in collection: CollectionSchema, target: ObjectIdMapping,
                        adding: [String], removing: [String], context: ConnectorContext) async throws
    /// `causeway check` knowing every connector's classes (`classes`, by class name), so that join tables and pointer
    /// columns holding keys of other connectors' classes are checked against those keys' types too.
    func verify(logger: Logger, classes: [String: CollectionSchema]) async -> [CheckFinding]
}

extension RelationConnector {
    public func verify(logger: Logger, classes: [String: CollectionSchema]) async -> [CheckFinding] { await verify(logger: logger) }
}

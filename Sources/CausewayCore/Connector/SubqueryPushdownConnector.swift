/// One sub-query (`$inQuery`, `$notInQuery`, `$select`, `$dontSelect`) that the outer class's connector runs inside
/// its own statement, as a semi-join (or, negated, an anti-join): the outer rows whose `field` equals (or equals
/// none of) the inner class's `key` over the inner rows that match `filter`.
///
/// The gateway builds it only when the inner query is complete as it stands: `filter` already holds the caller's
/// row rules and ACL read conditions on the inner class, the caller's class-level `find` on it has been checked,
/// and every conjunct of `filter` is pushable on `innerConnector`. Comparing with values that are missing or null:
/// an outer row without a value is never in the inner values and always outside them, and inner rows without a
/// value contribute nothing, exactly as the `$in` / `$nin` list of the two-step path.
public struct SemiJoin: Sendable {
    /// The outer class's top-level field compared.
    public var field: String
    /// `$notInQuery` / `$dontSelect`: the rows whose value is not among the inner values.
    public var negated: Bool
    /// The Parse operator this came from (for logs).
    public var operatorName: String
    public var inner: CollectionSchema
    /// The connector serving `inner` (the outer connector itself, or another one it may recognise as the same source).
    public var innerConnector: any Connector
    /// The inner query with the caller's permission filters; nil: every row.
    public var filter: QueryFilter?
    /// The inner top-level field whose values are compared: `objectId` for `$inQuery` / `$notInQuery`.
    public var key: String

    public init(field: String, negated: Bool, operatorName: String, inner: CollectionSchema, innerConnector: any Connector,
                filter: QueryFilter?, key: String) {
        self.field = field
        self.negated = negated
        self.operatorName = operatorName
        self.inner = inner
        self.innerConnector = innerConnector
        self.filter = filter
        self.key = key
    }
}

extension SemiJoin: CustomStringConvertible {
    public var description: String {
        "\(field) \(operatorName) \(inner.className).\(key) on \(innerConnector.name) where \(filter.map { String(describing: $0) } ?? "all")"
    }
}

/// A connector that can run sub-queries inside its own statements (Hasura NDC's relationship comparisons, Trino's
/// join pushdown): the gateway asks `canEmbed` for each sub-query it could hand over and keeps the two-step path
/// (inner find, then an `$in` / `$nin` list) for every other. The semi-joins are conjuncts of the pushed filter;
/// residual conditions, sorting and paging are planned as for any find.
public protocol SubqueryPushdownConnector: Connector {
    /// Whether this connector can evaluate `semiJoin` on `outer` inside its statement, with results equal to the
    /// two-step path: the inner class is in the same source, read with the same rights, and the compared values are
    /// of one kind. Called after the inner filter was found pushable on `semiJoin.innerConnector`.
    func canEmbed(_ semiJoin: SemiJoin, outer: CollectionSchema) -> Bool
    /// `find` with the semi-joins added to `query.filter` as conjuncts.
    func find(_ query: SourceQuery, semiJoins: [SemiJoin], in collection: CollectionSchema, context: ConnectorContext) async throws -> [ParseObject]
    /// `count` with the semi-joins added to `filter` as conjuncts.
    func count(_ filter: QueryFilter?, semiJoins: [SemiJoin], in collection: CollectionSchema, context: ConnectorContext) async throws -> Int
}

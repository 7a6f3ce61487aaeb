/// Splits a query between the connector and the in-memory evaluator.
///
/// Top-level conjuncts the connector can run are pushed down; the rest is the residual filter.
/// Sorting is pushed when every key is sortable by the source. Paging is pushed only when no
/// residual filter remains and the order is the source's, so the source's page is the final page.
public struct QueryPlan: Sendable, Hashable {
    public var source: SourceQuery
    public var residualFilter: QueryFilter?
    /// Sort to apply in memory; nil when the source already returns the final order
    /// (an empty array still sorts, by the `objectId` tie-breaker).
    public var memorySort: [SortKey]?
    public var memorySkip: Int
    public var memoryLimit: Int?
    /// Whether `count` can be answered by the source.
    public var countInSource: Bool

    /// Everything was pushed down.
    public var isFullyPushed: Bool {
        residualFilter == nil && memorySort == nil && memorySkip == 0 && memoryLimit == nil
    }
}

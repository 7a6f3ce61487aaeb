/// Bounds on following relations in one request (`include`) and on sub-queries (`$inQuery`, `$select`, …).
/// Each refusal is a 102 naming the limit and its `limits.*` key.
public struct FederationLimits: Sendable, Hashable {
    /// Components in one include path: `a.b.c` is 3 (`limits.maxIncludeDepth`).
    public var maxIncludeDepth = 5
    /// Distinct objects looked up for `include` in one request, over all levels (`limits.maxIncludedObjects`).
    public var maxIncludedObjects = 10_000
    /// Objects one sub-query may match before the request is refused (`limits.maxSubqueryResults`).
    public var maxSubqueryResults = 10_000
    /// Sub-queries nested inside sub-queries (`$inQuery` whose `where` has an `$inQuery`, …).
    public var maxSubqueryNesting = 3
    /// Ids in one batched include lookup (`objectId $in [...]`); more ids are split into several lookups.
    /// 500 stays far below SQLite's bound parameters (32,766), PostgreSQL's (65,535) and common URL lengths.
    public var lookupChunkSize = 500
    /// Concurrent by-id reads for a source that cannot filter `objectId` with `$in`.
    public var getConcurrency = 8

    public init() {}

    mutating func read(_ l: YAMLReader) throws(ConfigError) {
        maxIncludeDepth = try l.int("maxIncludeDepth", default: maxIncludeDepth, range: 1...32)
        maxIncludedObjects = try l.int("maxIncludedObjects", default: maxIncludedObjects, range: 1...10_000_000)
        maxSubqueryResults = try l.int("maxSubqueryResults", default: maxSubqueryResults, range: 1...10_000_000)
    }
}

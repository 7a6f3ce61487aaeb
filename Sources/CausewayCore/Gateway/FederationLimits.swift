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
    /// Sub-queries in one request, at any depth (`limits.maxSubqueries`): each runs a find.
    public var maxSubqueries = 10
    /// Distinct include paths in one request, prefixes counted (`limits.maxIncludePaths`).
    public var maxIncludePaths = 100

    public init() {}

    mutating func read(_ l: YAMLReader) throws(ConfigError) {
        maxIncludeDepth = try l.int("maxIncludeDepth", default: maxIncludeDepth, range: 1...32)
        maxIncludedObjects = try l.int("maxIncludedObjects", default: maxIncludedObjects, range: 1...10_000_000)
        maxSubqueryResults = try l.int("maxSubqueryResults", default: maxSubqueryResults, range: 1...10_000_000)
        maxSubqueries = try l.int("maxSubqueries", default: maxSubqueries, range: 1...1000)
        maxIncludePaths = try l.int("maxIncludePaths", default: maxIncludePaths, range: 1...10_000)
    }

    /// Refuses a `where` that holds more than `maxSubqueries` sub-queries, counted at any depth (inside
    /// `$and`/`$or`/`$nor` and inside the inner queries themselves), before any of them runs. With `schema` (the
    /// queried class), each condition on one of its relation fields (top level and in `$and`/`$or`/`$nor`, where
    /// they are resolved through the join table) counts as a sub-query too, and the objects those conditions name
    /// may be at most `maxSubqueryResults` in all.
    public func checkSubqueryCount(_ json: JSONValue, schema: CollectionSchema? = nil) throws(GatewayError) {
        var count = 0
        var relationTargets = 0
        func walk(_ value: JSONValue) {
            switch value {
            case .object(let object):
                for (key, inner) in object {
                    if SubqueryRewriter.operators.contains(key) || key == "$relatedTo" { count += 1 }
                    walk(inner)
                }
            case .array(let items):
                for item in items { walk(item) }
            default:
                break
            }
        }
        func walkRelations(_ value: JSONValue, _ relations: [String: RelationMapping]) {
            guard case .object(let object) = value else { return }
            for (key, inner) in object {
                if relations[key] != nil {
                    count += 1
                    relationTargets += Self.pointerCount(inner)
                } else if ["$and", "$or", "$nor"].contains(key), case .array(let branches) = inner {
                    for branch in branches { walkRelations(branch, relations) }
                }
            }
        }
        walk(json)
        if let schema, !schema.relations.isEmpty { walkRelations(json, schema.relations) }
        guard count <= maxSubqueries else {
            throw GatewayError(.invalidQuery, "The where clause holds \(count) sub-queries ($inQuery, $notInQuery, $select, $dontSelect, $relatedTo, conditions on relation fields); at most \(maxSubqueries) are allowed (limits.maxSubqueries).")
        }
        guard relationTargets <= maxSubqueryResults else {
            throw GatewayError(.invalidQuery, "The where clause's conditions on relation fields name \(relationTargets) objects in all; at most \(maxSubqueryResults) are allowed (limits.maxSubqueryResults).")
        }
    }

    /// The objects a relation-field condition names: a pointer, or the items of its `$in` / `$nin` list.
    static func pointerCount(_ condition: JSONValue) -> Int {
        guard case .object(let o) = condition else { return 0 }
        if o["__type"] != nil { return 1 }
        var n = 0
        for (_, operand) in o {
            if case .array(let items) = operand { n += items.count } else { n += 1 }
        }
        return n
    }
}

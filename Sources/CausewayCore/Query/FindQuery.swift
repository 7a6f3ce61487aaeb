/// A `find` request on one collection, after parsing and validation.
public struct FindQuery: Sendable, Hashable {
    public var filter: QueryFilter?
    public var sort: [SortKey]
    public var skip: Int
    public var limit: Int
    /// `keys=`: nil means every field.
    public var keys: Set<String>?
    public var excludeKeys: Set<String>
    public var count: Bool
    /// `include=`: the pointer paths to replace by their objects, every prefix listed, shortest first
    /// (`a.b` gives `[a]`, `[a, b]`). Empty: nothing is included.
    public var include: [[String]] = []
    /// A `where` holding sub-queries (`$inQuery`, `$select`, …): kept as JSON until the gateway has run them
    /// for the caller and rewritten them to `$in` / `$nin`; then `filter` is parsed from it.
    public var pendingWhere: JSONValue?

    /// Whether answering needs more than one source read (includes or sub-queries).
    public var isFederated: Bool { !include.isEmpty || pendingWhere != nil }

    public init(filter: QueryFilter? = nil, sort: [SortKey] = [], skip: Int = 0, limit: Int = 100,
                keys: Set<String>? = nil, excludeKeys: Set<String> = [], count: Bool = false) {
        self.filter = filter
        self.sort = sort
        self.skip = skip
        self.limit = limit
        self.keys = keys
        self.excludeKeys = excludeKeys
        self.count = count
    }
}

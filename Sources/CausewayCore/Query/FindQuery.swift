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

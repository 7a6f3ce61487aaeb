/// The part of a query a connector executes: filter, order, paging and the fields it must return.
public struct SourceQuery: Sendable, Hashable {
    public var filter: QueryFilter?
    public var sort: [SortKey]
    public var skip: Int
    /// nil: all matching rows.
    public var limit: Int?
    /// Fields the source must return (nil: every mapped field). Built-in fields always come back.
    public var fields: Set<String>?

    public init(filter: QueryFilter? = nil, sort: [SortKey] = [], skip: Int = 0, limit: Int? = nil, fields: Set<String>? = nil) {
        self.filter = filter
        self.sort = sort
        self.skip = skip
        self.limit = limit
        self.fields = fields
    }
}

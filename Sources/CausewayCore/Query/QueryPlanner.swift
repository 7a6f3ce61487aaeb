
public enum QueryPlanner {
    public static func plan(_ query: FindQuery, connector: some Connector, collection: CollectionSchema) -> QueryPlan {
        let caps = connector.capabilities
        var pushed: [QueryFilter] = []
        var residual: [QueryFilter] = []
        for conjunct in query.filter?.conjuncts ?? [] {
            if pushable(conjunct, connector, collection) { pushed.append(conjunct) } else { residual.append(conjunct) }
        }
        let residualFilter = QueryFilter.conjunction(residual)
        // The default order (objectId) is a sort too, so a source that cannot sort never gives the final order.
        let sortPushed = caps.sorting && query.sort.allSatisfy { key in
            switch key {
            case .field(let path, _): return caps.sorting && (!path.contains(".") || caps.nestedPaths)
            case .distance: return caps.distanceSorting
            }
        }
        let pagingPushed = caps.paging && sortPushed && residualFilter == nil
        var fields: Set<String>?
        if caps.projection, let keys = query.keys {
            var needed = Set(keys.map { String($0.split(separator: ".").first ?? Substring($0)) })
            for path in residualFilter?.fieldPaths ?? [] { needed.insert(String(path.split(separator: ".").first!)) }
            if !sortPushed { for key in query.sort { needed.insert(String(key.fieldPath.split(separator: ".").first!)) } }
            fields = needed
        }
        let source = SourceQuery(
            filter: QueryFilter.conjunction(pushed),
            sort: sortPushed ? query.sort : [],
            skip: pagingPushed ? query.skip : 0,
            limit: pagingPushed ? query.limit : nil,
            fields: fields)
        return QueryPlan(
            source: source,
            residualFilter: residualFilter,
            memorySort: sortPushed ? nil : query.sort,
            memorySkip: pagingPushed ? 0 : query.skip,
            memoryLimit: pagingPushed ? nil : query.limit,
            countInSource: caps.counting && residualFilter == nil)
    }

    /// Whether the whole of `filter` can run in `connector`'s source.
    public static func pushable(_ filter: QueryFilter, _ connector: some Connector, _ collection: CollectionSchema) -> Bool {
        let caps = connector.capabilities
        switch filter {
        case .and(let parts):
            return caps.filterOperators.contains(.and) && parts.allSatisfy { pushable($0, connector, collection) }
        case .or(let parts):
            return caps.filterOperators.contains(.or) && parts.allSatisfy { pushable($0, connector, collection) }
        case .nor(let parts):
            return caps.filterOperators.contains(.nor) && parts.allSatisfy { pushable($0, connector, collection) }
        case .field(let path, let condition):
            return connector.canPushDown(path, condition, in: collection)
        }
    }
}

import Logging

/// Reads: `find` (planned, pushed down, finished in memory, cached) and `get`.
extension Gateway {
    public func parseFind(_ className: String, _ params: [String: JSONValue]) throws(GatewayError) -> FindQuery {
        try FindRequestParser(schema: route(className).schema, limits: config.limits).parse(params)
    }

    public func find(_ className: String, _ request: FindQuery, caller: Caller, logger: Logger, cacheMode: CacheMode = .use) async throws -> FindResult {
        try await find(className, ParsedFind(query: request, canonical: nil), caller: caller, logger: logger, cacheMode: cacheMode)
    }

    /// A parsed `find` and, when known, its canonical text (before the caller's permission filters).
    public struct ParsedFind: Sendable {
        public var query: FindQuery
        var canonical: String?

        public init(query: FindQuery) {
            self.query = query
            self.canonical = nil
        }

        init(query: FindQuery, canonical: String?) {
            self.query = query
            self.canonical = canonical
        }
    }

    /// `parseFind` with the query's canonical text worked out once, for callers that keep the parsed form
    /// for repeated requests (the HTTP layer's memo of recent URL query strings).
    public func parseFindForReuse(_ className: String, _ params: [String: JSONValue]) throws(GatewayError) -> ParsedFind {
        let query = try parseFind(className, params)
        return ParsedFind(query: query, canonical: CanonicalQuery.text(query, hidden: []))
    }

    public func find(_ className: String, _ parsed: ParsedFind, caller: Caller, logger: Logger, cacheMode: CacheMode = .use) async throws -> FindResult {
        // `include` and sub-queries read other classes first or afterwards (Gateway+Federation.swift).
        if parsed.query.isFederated { return try await findFederated(className, parsed, caller: caller, logger: logger, cacheMode: cacheMode) }
        return try await findDirect(className, parsed, caller: caller, logger: logger, cacheMode: cacheMode)
    }

    /// A find of one class. `authorizeAs`: the class-level permission to check instead of `find`/`count`
    /// (include lookups are gated by `get`, as in Parse). `semiJoins`: sub-queries the connector runs in its own
    /// statement (Gateway+SubqueryPushdown.swift); such a find is not cached.
    func findDirect(_ className: String, _ parsed: ParsedFind, caller: Caller, logger: Logger, cacheMode: CacheMode,
                    authorizeAs: ClassPermissions.Operation? = nil, semiJoins: [SemiJoin] = []) async throws -> FindResult {
        let context = ConnectorContext(caller: caller, logger: logger)
        let request = parsed.query
        let route = try route(className)
        countRequest(route)
        try authorize(authorizeAs ?? (request.limit == 0 && request.count ? .count : .find), route, caller)
        if request.count { try authorize(.count, route, caller) }
        // Row rules and ACLs become part of the filter, so they are pushed down like any other condition.
        var query = request
        let hidden = route.schema.access.hiddenFields(caller)
        try refuseQueries(on: hidden, query, route.schema)
        let rows = try route.schema.access.readFilter(caller, schema: route.schema)
        if let rows { query.filter = QueryFilter.conjunction([query.filter, rows].compactMap { $0 }) }
        let operation: CachePolicy.Operation = query.limit == 0 && query.count ? .count : .find
        if !semiJoins.isEmpty { return try await runFind(route, query, hidden: hidden, context: context, semiJoins: semiJoins) }
        guard let (cache, policy) = caches.cache(for: route.schema, operation) else {
            return try await runFind(route, query, hidden: hidden, context: context)
        }
        if cacheMode == .bypass {
            var result = try await runFind(route, query, hidden: hidden, context: context)
            result.cache = .bypass
            cache.metrics.record(.bypass, className)
            return result
        }
        // The key is the query as it will run, permission filters and hidden fields included: callers
        // who may see different rows never share an entry.
        let planned = query
        let key = "find|\(className)|" + (parsed.canonical ?? CanonicalQuery.text(request, hidden: []))
            + "|rows " + CanonicalQuery.text(rows) + "|hidden " + hidden.sorted().joined(separator: ",") + callerKey(route, caller)
        let (answer, outcome) = try await cache.answer(key: key, className: className, policy: policy, logger: logger) {
            let r = try await self.runFind(route, planned, hidden: hidden, context: context)
            return .find(r.objects, count: r.count)
        }
        countCache(route, outcome)
        return FindResult(objects: [], count: nil, plan: nil, cache: outcome, body: answer.body)
    }

    /// Runs a find; a `$regex` evaluated in memory on the way (by the gateway or the connector) that goes over
    /// its limits fails the request with 102.
    private func runFind(_ route: Route, _ query: FindQuery, hidden: Set<String>, context: ConnectorContext,
                         semiJoins: [SemiJoin] = []) async throws -> FindResult {
        guard query.filter?.containsRegex == true else {
            return try await measured(route) { try await runFindUnbounded(route, query, hidden: hidden, context: context, semiJoins: semiJoins) }
        }
        return try await measured(route) {
            try await RegexBudget.enforcing { try await self.runFindUnbounded(route, query, hidden: hidden, context: context, semiJoins: semiJoins) }
        }
    }

    private func runFindUnbounded(_ route: Route, _ query: FindQuery, hidden: Set<String>, context: ConnectorContext,
                                  semiJoins: [SemiJoin]) async throws -> FindResult {
        let className = route.schema.className
        let logger = context.logger
        try await route.connector.ready()
        let plan = QueryPlanner.plan(query, connector: route.connector, collection: route.schema)
        logger.debug("query plan", metadata: [
            "causeway.class": .string(className),
            "causeway.connector": .string(route.connector.name),
            "causeway.pushed": .string(String(describing: plan.source)),
            "causeway.residual": .string(plan.residualFilter.map { String(describing: $0) } ?? "none"),
            "causeway.semiJoins": .string(semiJoins.isEmpty ? "none" : semiJoins.map(\.description).joined(separator: "; ")),
        ])
        // The semi-joins are conjuncts every source call carries (only a SubqueryPushdownConnector is given any).
        let pushdown = semiJoins.isEmpty ? nil : route.connector as? any SubqueryPushdownConnector
        func sourceFind(_ q: SourceQuery) async throws -> [ParseObject] {
            if let pushdown { return try await pushdown.find(q, semiJoins: semiJoins, in: route.schema, context: context) }
            return try await route.connector.find(q, in: route.schema, context: context)
        }
        func sourceCount(_ f: QueryFilter?) async throws -> Int {
            if let pushdown { return try await pushdown.count(f, semiJoins: semiJoins, in: route.schema, context: context) }
            return try await route.connector.count(f, in: route.schema, context: context)
        }
        // Count alone.
        if query.limit == 0 && query.count && plan.countInSource {
            let n = try await sourceCount(plan.source.filter)
            return FindResult(objects: [], count: n, plan: plan)
        }
        var count: Int?
        var objects: [ParseObject]
        if plan.isFullyPushed {
            objects = query.limit == 0 ? [] : try await sourceFind(plan.source)
            if query.count {
                count = try await sourceCount(plan.source.filter)
            }
        } else {
            var candidates = try await sourceFind(plan.source)
            let deadline = now() + config.limits.evaluationBudget
            if let residual = plan.residualFilter {
                candidates = try filterWithinBudget(candidates, residual, until: deadline, className: className)
            }
            if let sort = plan.memorySort {
                try checkBudget(deadline, className)
                candidates = QueryEvaluator.sort(candidates, by: sort, numericIds: route.schema.objectId.type == .integer)
            }
            if query.count {
                count = candidates.count  // the source returned every candidate (no paging was pushed)
            }
            let start = min(plan.memorySkip, candidates.count)
            let end = plan.memoryLimit.map { min(start + $0, candidates.count) } ?? candidates.count
            objects = Array(candidates[start..<end])
        }
        objects = withRelationMarkers(objects, route.schema)
        if query.keys != nil || !query.excludeKeys.isEmpty || !hidden.isEmpty {
            objects = objects.map { $0.projected(keys: query.keys, excluding: query.excludeKeys.union(hidden)) }
        }
        return FindResult(objects: objects, count: count, plan: plan)
    }

    /// The residual filter over the source's rows, checking the evaluation budget every 256 rows.
    private func filterWithinBudget(_ rows: [ParseObject], _ filter: QueryFilter, until deadline: ContinuousClock.Instant,
                                    className: String) throws(GatewayError) -> [ParseObject] {
        var kept: [ParseObject] = []
        for (i, row) in rows.enumerated() {
            if i & 255 == 0 { try checkBudget(deadline, className) }
            if QueryEvaluator.matches(row, filter) { kept.append(row) }
        }
        return kept
    }

    /// 124 once a request's in-memory evaluation has used its budget (`limits.evaluationSeconds`).
    private func checkBudget(_ deadline: ContinuousClock.Instant, _ className: String) throws(GatewayError) {
        guard now() > deadline else { return }
        throw GatewayError(.timeout, "Evaluating this query on \(className) in memory took longer than \(config.limits.evaluationBudget.components.seconds) s (limits.evaluationSeconds); add conditions the source can filter on, or narrow it.")
    }

    /// A protected field may not be filtered or sorted on: the answers would reveal its values.
    private func refuseQueries(on hidden: Set<String>, _ query: FindQuery, _ schema: CollectionSchema) throws(GatewayError) {
        guard !hidden.isEmpty else { return }
        let used = (query.filter?.fieldPaths ?? []).union(query.sort.map(\.fieldPath))
        for path in used {
            let root = String(path.split(separator: ".").first ?? Substring(path))
            if hidden.contains(root) {
                throw GatewayError(.operationForbidden, "Permission denied: \(schema.className).\(root) is a protected field and cannot be queried.")
            }
        }
    }

    public func get(_ className: String, objectId: String, keys: Set<String>?, excludeKeys: Set<String> = [],
                    caller: Caller, logger: Logger = Gateway.quietLogger) async throws -> ParseObject {
        let route = try route(className)
        countRequest(route)
        try authorize(.get, route, caller)
        return try await runGet(route, objectId, keys, excludeKeys, try route.schema.access.readFilter(caller, schema: route.schema),
                                route.schema.access.hiddenFields(caller), ConnectorContext(caller: caller, logger: logger))
    }

    /// The logger of calls that pass none (tools and tests).
    public static let quietLogger = Logger(label: "causeway.gateway")

    /// A `get` through the cache: the encoded answer and what the cache did (nil outcome: not cached).
    public func getEncoded(_ className: String, objectId: String, keys: Set<String>?, excludeKeys: Set<String> = [],
                           caller: Caller, logger: Logger, cacheMode: CacheMode = .use) async throws -> ([UInt8], CacheOutcome?) {
        let context = ConnectorContext(caller: caller, logger: logger)
        let route = try route(className)
        countRequest(route)
        try authorize(.get, route, caller)
        let rows = try route.schema.access.readFilter(caller, schema: route.schema)
        let hidden = route.schema.access.hiddenFields(caller)
        guard let (cache, policy) = caches.cache(for: route.schema, .get) else {
            return (CachedAnswer.object(try await runGet(route, objectId, keys, excludeKeys, rows, hidden, context)).body, nil)
        }
        if cacheMode == .bypass {
            cache.metrics.record(.bypass, className)
            return (CachedAnswer.object(try await runGet(route, objectId, keys, excludeKeys, rows, hidden, context)).body, .bypass)
        }
        let key = "get|\(className)|\(objectId)|" + callerKey(route, caller) + CanonicalQuery.text(rows) + "|keys " + (keys.map { $0.sorted().joined(separator: ",") } ?? "*")
            + "|exclude " + excludeKeys.union(hidden).sorted().joined(separator: ",")
        let (answer, outcome) = try await cache.answer(key: key, className: className, policy: policy, logger: logger) {
            .object(try await self.runGet(route, objectId, keys, excludeKeys, rows, hidden, context))
        }
        countCache(route, outcome)
        return (answer.body, outcome)
    }

    private func runGet(_ route: Route, _ objectId: String, _ keys: Set<String>?, _ excludeKeys: Set<String>,
                        _ rows: QueryFilter?, _ hidden: Set<String>, _ context: ConnectorContext) async throws -> ParseObject {
        // A row rule or ACL needs the fields it tests, so then the whole object is read.
        let fields = rows == nil ? keys.map { Set($0.map { String($0.split(separator: ".").first ?? Substring($0)) }) } : nil
        let found = try await measured(route) {
            try await route.connector.get(objectId: objectId, fields: route.connector.capabilities.projection ? fields : nil, in: route.schema, context: context)
        }
        guard let object = found.map({ withRelationMarkers($0, route.schema) }),
              rows.map({ QueryEvaluator.matches(object, $0) }) ?? true else {
            throw GatewayError.objectNotFound()  // not there, or not visible to this caller: the same answer
        }
        if keys != nil || !excludeKeys.isEmpty || !hidden.isEmpty { return object.projected(keys: keys, excluding: excludeKeys.union(hidden)) }
        return object
    }
}

import Logging

/// Requests that read more than one class: sub-queries run first (for the caller, then pushed to the outer
/// source as `$in` / `$nin`), the outer find runs as any find (cached under its own class), and `include`
/// replaces pointers afterwards with objects read through each target class's own find (its permissions,
/// its cache). A cached answer therefore never holds another class's data, and a write to a target class
/// invalidates exactly what it invalidates for direct reads of that class. See Docs/federation.md.
extension Gateway {
    func findFederated(_ className: String, _ parsed: ParsedFind, caller: Caller, logger: Logger, cacheMode: CacheMode) async throws -> FindResult {
        var query = parsed.query
        let include = query.include
        query.include = []
        var canonical = parsed.canonical
        var semiJoins: [SemiJoin] = []
        if let pending = query.pendingWhere {
            let schema = try route(className).schema
            let related = try await resolveRelatedTo(pending, className: className, caller: caller, logger: logger)
            // Sub-queries the outer source runs itself (Gateway+SubqueryPushdown.swift), then the others in two steps.
            let remaining: JSONValue
            (remaining, semiJoins) = try await pushableSubqueries(related, className: className, count: query.limit == 0 && query.count,
                                                                  caller: caller, logger: logger, cacheMode: cacheMode)
            let resolved = try await resolveSubqueries(remaining, caller: caller, logger: logger, cacheMode: cacheMode, nesting: 0)
            query.filter = try QueryParser(schema: schema).parse(resolved)
            query.pendingWhere = nil
            canonical = nil  // the key is the query as it runs, with the sub-queries' answers in it
        }
        let base = ParsedFind(query: query, canonical: canonical)
        guard !include.isEmpty else {
            return try await findDirect(className, base, caller: caller, logger: logger, cacheMode: cacheMode, semiJoins: semiJoins)
        }
        var result = try await findObjects(className, base, caller: caller, logger: logger, cacheMode: cacheMode, semiJoins: semiJoins)
        var budget = IncludeBudget(limit: config.limits.federation.maxIncludedObjects)
        result.objects = try await resolveIncludes(result.objects, paths: include, keys: query.keys, excludeKeys: query.excludeKeys,
                                                   budget: &budget, caller: caller, logger: logger, cacheMode: cacheMode)
        return result
    }

    /// A find whose objects the gateway needs (a cached answer is decoded).
    func findObjects(_ className: String, _ parsed: ParsedFind, caller: Caller, logger: Logger, cacheMode: CacheMode,
                     authorizeAs: ClassPermissions.Operation? = nil, semiJoins: [SemiJoin] = []) async throws -> FindResult {
        var result = try await findDirect(className, parsed, caller: caller, logger: logger, cacheMode: cacheMode, authorizeAs: authorizeAs,
                                          semiJoins: semiJoins)
        if let body = result.body {
            (result.objects, result.count) = try FindAnswerDecoder.decodeFind(body)
            result.body = nil
        }
        return result
    }

    /// The include paths of a `get` (`include`, `include=*`, and the includes `keys=a.b` implies), and the keys
    /// it then reads.
    public func includePaths(_ className: String, include: JSONValue?, keys: Set<String>?) throws(GatewayError) -> (paths: [[String]], keys: Set<String>?) {
        let (paths, extra) = try IncludePath.paths(include: include, includeAll: false, keys: keys, schema: route(className).schema,
                                                   limits: config.limits.federation)
        return (paths, extra.isEmpty ? keys : keys.map { $0.union(extra) })
    }

    /// `get` with includes: the object through the cache as any `get`, then its pointers followed.
    public func getEncoded(_ className: String, objectId: String, keys: Set<String>?, excludeKeys: Set<String> = [], include: [[String]],
                           caller: Caller, logger: Logger, cacheMode: CacheMode = .use) async throws -> ([UInt8], CacheOutcome?) {
        let (body, outcome) = try await getEncoded(className, objectId: objectId, keys: keys, excludeKeys: excludeKeys, caller: caller,
                                                   logger: logger, cacheMode: cacheMode)
        guard !include.isEmpty else { return (body, outcome) }
        let object = try FindAnswerDecoder.decodeObject(body)
        var budget = IncludeBudget(limit: config.limits.federation.maxIncludedObjects)
        let included = try await resolveIncludes([object], paths: include, keys: keys, excludeKeys: excludeKeys, budget: &budget,
                                                 caller: caller, logger: logger, cacheMode: cacheMode)
        return (CachedAnswer.object(included[0]).body, outcome)
    }
}

/// What is left of `limits.maxIncludedObjects` in one request.
struct IncludeBudget {
    var limit: Int
    var used = 0

    mutating func spend(_ n: Int) throws(GatewayError) {
        used += n
        guard used <= limit else {
            throw GatewayError(.invalidQuery, "This request would include more than \(limit) objects (limits.maxIncludedObjects); narrow the query, lower its limit or include fewer paths.")
        }
    }
}

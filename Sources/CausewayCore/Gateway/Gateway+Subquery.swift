import Logging

/// Sub-queries (Parse's `$inQuery`, `$notInQuery`, `$select`, `$dontSelect`), across connectors: the inner
/// query runs first, as a find of its class for the caller (its class-level `find` permission, row rules,
/// ACLs, protected fields and cache), and its answer becomes an `$in` / `$nin` list on the outer field,
/// which the outer source filters like any other list. An inner query matching more than
/// `limits.maxSubqueryResults` objects fails the request with 102: never a silently shortened list.
extension Gateway {
    /// `where` with every sub-query replaced by its values (`$in` for `$inQuery`/`$select`, `$nin` for the
    /// negations; added to an `$in`/`$nin` already there, as Parse does).
    func resolveSubqueries(_ json: JSONValue, caller: Caller, logger: Logger, cacheMode: CacheMode, nesting: Int) async throws -> JSONValue {
        guard case .object(let object) = json else { return json }
        var out = object
        for key in object.keys.sorted() {
            let value = object[key]!
            switch key {
            case "$and", "$or", "$nor":
                guard case .array(let branches) = value else { continue }
                var resolved: [JSONValue] = []
                for branch in branches {
                    resolved.append(try await resolveSubqueries(branch, caller: caller, logger: logger, cacheMode: cacheMode, nesting: nesting))
                }
                out[key] = .array(resolved)
            default:
                guard case .object(var ops) = value, ops.keys.contains(where: SubqueryRewriter.operators.contains) else { continue }
                for op in SubqueryRewriter.operators.sorted() {
                    guard let operand = ops[op] else { continue }
                    ops[op] = nil
                    let values = try await subqueryValues(op, operand, field: key, caller: caller, logger: logger, cacheMode: cacheMode, nesting: nesting)
                    let target = op == "$inQuery" || op == "$select" ? "$in" : "$nin"
                    if case .array(let existing)? = ops[target] { ops[target] = .array(existing + values) } else { ops[target] = .array(values) }
                }
                out[key] = .object(ops)
            }
        }
        return .object(out)
    }

    private func subqueryValues(_ op: String, _ operand: JSONValue, field: String, caller: Caller, logger: Logger,
                                cacheMode: CacheMode, nesting: Int) async throws -> [JSONValue] {
        let className: String, inner: JSONValue?, key: String?
        switch op {
        case "$inQuery", "$notInQuery":
            guard case .object(let q) = operand, case .string(let cls)? = q["className"], let w = q["where"], case .object = w else {
                throw GatewayError(.invalidQuery, "improper usage of \(op): expected {\"where\": {…}, \"className\": \"…\"} on \(LogText.clean(field, limit: 64)).")
            }
            (className, inner, key) = (cls, w, nil)
        default:
            guard case .object(let s) = operand, s.count == 2, case .string(let k)? = s["key"], case .object(let q)? = s["query"],
                  case .string(let cls)? = q["className"], QueryParser.isValidKeyPath(k) else {
                throw GatewayError(.invalidQuery, "improper usage of \(op): expected {\"query\": {\"className\": \"…\", \"where\": {…}}, \"key\": \"…\"} on \(LogText.clean(field, limit: 64)).")
            }
            if let w = q["where"], case .object = w {} else if q["where"] != nil {
                throw GatewayError(.invalidQuery, "improper usage of \(op): where must be an object.")
            }
            (className, inner, key) = (cls, q["where"], k)
        }
        guard nesting < config.limits.federation.maxSubqueryNesting else {
            throw GatewayError(.invalidQuery, "Sub-queries are nested more than \(config.limits.federation.maxSubqueryNesting) levels deep.")
        }
        let schema = try route(className).schema
        var filter: QueryFilter?
        if var json = inner {
            try config.limits.whereClause.check(json)
            if SubqueryRewriter.contains(json) {
                json = try await resolveSubqueries(json, caller: caller, logger: logger, cacheMode: cacheMode, nesting: nesting + 1)
            }
            filter = try QueryParser(schema: schema).parse(json)
        }
        if let key, schema.resolve(path: key) == nil {
            throw GatewayError(.invalidQuery, "\(op) selects \(schema.className).\(LogText.clean(key, limit: 64)), which is not a field.")
        }
        let cap = config.limits.federation.maxSubqueryResults
        let root = key.map { String($0.split(separator: ".")[0]) }.flatMap { ["objectId", "createdAt", "updatedAt"].contains($0) ? nil : $0 }
        let query = FindQuery(filter: filter, limit: cap + 1, keys: root.map { [$0] } ?? [])
        let result = try await findObjects(className, ParsedFind(query: query), caller: caller, logger: logger, cacheMode: cacheMode)
        guard result.objects.count <= cap else {
            throw GatewayError(.invalidQuery, "The \(op) sub-query on \(schema.className) matches more than \(cap) objects (limits.maxSubqueryResults); narrow its where.")
        }
        logger.debug("sub-query", metadata: ["causeway.class": .string(className), "causeway.operator": .string(op),
                                             "causeway.values": .stringConvertible(result.objects.count)])
        guard let key else {
            return result.objects.compactMap { o in o.objectId.map { ParseCodec.encode(.pointer(className: className, objectId: $0)) } }
        }
        return result.objects.compactMap { o in o.value(forPath: key).flatMap { $0.isNull ? nil : ParseCodec.encode($0) } }
    }
}

/// Finds the sub-query operators in a `where` clause (before it is parsed).
public enum SubqueryRewriter {
    public static let operators: Set<String> = ["$inQuery", "$notInQuery", "$select", "$dontSelect"]

    public static func contains(_ json: JSONValue) -> Bool {
        guard case .object(let object) = json else { return false }
        for (key, value) in object {
            switch key {
            case "$relatedTo":
                return true  // resolved through the owner's join table (Gateway+Relation.swift)
            case "$and", "$or", "$nor":
                if case .array(let branches) = value, branches.contains(where: contains) { return true }
            default:
                if case .object(let ops) = value, ops.keys.contains(where: operators.contains) { return true }
            }
        }
        return false
    }
}

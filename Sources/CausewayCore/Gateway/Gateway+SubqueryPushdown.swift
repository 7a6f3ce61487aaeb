import Logging

/// Sub-queries the outer source runs itself (semi-joins), decided before the two-step path of
/// `Gateway+Subquery.swift` resolves the rest.
///
/// A top-level sub-query (a conjunct of the outer `where`, alone on its field) is handed to the outer class's
/// connector when all of these hold; otherwise it stays on the two-step path, which then answers or refuses exactly
/// as it always does:
/// - the outer connector is a `SubqueryPushdownConnector` and the outer class's answer is not cached (a cached answer
///   holds one class's data only: the two-step path keys it by the inner values);
/// - the inner class exists and its connector is up, the caller may `find` it, and neither the compared outer field,
///   the selected inner key nor any field the inner `where` reads is protected from the caller;
/// - the compared fields are top-level fields of one type (`$inQuery`: a pointer to the inner class; `$select`:
///   string, number, boolean or pointer to one class);
/// - the inner `where` (its own sub-queries resolved first, on the two-step path) and the caller's row rules and ACL
///   read conditions on the inner class are pushable on the inner connector, every conjunct;
/// - the outer connector's `canEmbed` accepts it (for PostgreSQL: the same database, read as the same user).
///
/// The inner values are never materialised, so `limits.maxSubqueryResults` (which bounds the two-step list) does not
/// apply to a pushed-down sub-query; the statement runs under the source's own statement timeout.
extension Gateway {
    /// `where` without the sub-queries the outer connector runs itself, and those as semi-joins.
    func pushableSubqueries(_ json: JSONValue, className: String, count: Bool, caller: Caller, logger: Logger,
                            cacheMode: CacheMode) async throws -> (JSONValue, [SemiJoin]) {
        guard case .object(var object) = json, let outer = try? route(className),
              let pushdown = outer.connector as? any SubqueryPushdownConnector,
              config.limits.federation.maxSubqueryNesting > 0,
              cacheMode == .bypass || caches.cache(for: outer.schema, count ? .count : .find) == nil else { return (json, []) }
        try await outer.connector.ready()  // a connector that learns its tables lazily answers canEmbed from them
        let outerHidden = outer.schema.access.hiddenFields(caller)
        var joins: [SemiJoin] = []
        for field in object.keys.sorted() where !field.hasPrefix("$") {
            guard case .object(let ops)? = object[field], ops.count == 1, let (op, operand) = ops.first.map({ ($0.key, $0.value) }),
                  SubqueryRewriter.operators.contains(op), !outerHidden.contains(field) else { continue }
            let join: SemiJoin
            switch try await semiJoin(op, operand, field: field, outer: outer, pushdown: pushdown, caller: caller,
                                      logger: logger, cacheMode: cacheMode) {
            case .pushed(let j):
                join = j
            case .refused(let resolved):
                // The inner where's own sub-queries already ran: the two-step path takes their answers, not runs them again.
                if let resolved { object[field] = .object([op: resolved]) }
                continue
            }
            object[field] = nil
            joins.append(join)
            logger.debug("sub-query pushed down", metadata: [
                "causeway.class": .string(className), "causeway.operator": .string(op),
                "causeway.inner": .string(join.inner.className), "causeway.connector": .string(outer.connector.name),
            ])
        }
        return (.object(object), joins)
    }

    /// A sub-query handed to the outer connector, or left on the two-step path (with its operand rewritten when the
    /// inner where's own sub-queries were resolved before the refusal).
    private enum PushdownDecision {
        case pushed(SemiJoin)
        case refused(JSONValue?)
    }

    /// The semi-join for one sub-query, or a refusal: it stays on the two-step path. The checks that need no source run
    /// first; the inner where's own sub-queries run only when nothing else refuses, and a refusal after them hands their
    /// answers to the two-step path.
    private func semiJoin(_ op: String, _ operand: JSONValue, field: String, outer: Route, pushdown: any SubqueryPushdownConnector,
                          caller: Caller, logger: Logger, cacheMode: CacheMode) async throws -> PushdownDecision {
        // The operand's shape (malformed: the two-step path refuses it with its own message).
        let innerClass: String, innerWhere: JSONValue?, key: String
        switch op {
        case "$inQuery", "$notInQuery":
            guard case .object(let q) = operand, case .string(let cls)? = q["className"], let w = q["where"], case .object = w else { return .refused(nil) }
            (innerClass, innerWhere, key) = (cls, w, "objectId")
        default:
            guard case .object(let s) = operand, s.count == 2, case .string(let k)? = s["key"], case .object(let q)? = s["query"],
                  case .string(let cls)? = q["className"] else { return .refused(nil) }
            if let w = q["where"] { guard case .object = w else { return .refused(nil) } }
            (innerClass, innerWhere, key) = (cls, q["where"], k)
        }
        guard let inner = try? route(innerClass), (try? authorize(.find, inner, caller)) != nil else { return .refused(nil) }
        // The compared fields: top-level, of one type.
        guard let outerType = outer.schema.type(of: field), let keyType = inner.schema.type(of: key), field != "objectId" else { return .refused(nil) }
        if op == "$inQuery" || op == "$notInQuery" {
            guard outerType == .pointer, outer.schema.fields[field]?.targetClass == innerClass else { return .refused(nil) }
        } else {
            guard outerType == keyType, [.string, .number, .boolean, .pointer].contains(outerType) else { return .refused(nil) }
            if outerType == .pointer, outer.schema.fields[field]?.targetClass != inner.schema.fields[key]?.targetClass { return .refused(nil) }
        }
        let hidden = inner.schema.access.hiddenFields(caller)
        guard !hidden.contains(key) else { return .refused(nil) }
        // The caller's row rules and ACLs on the inner class, and the connectors' own word, before anything runs.
        let rows: QueryFilter?
        do { rows = try inner.schema.access.readFilter(caller, schema: inner.schema) } catch { return .refused(nil) }
        try await inner.connector.ready()
        guard (rows?.conjuncts ?? []).allSatisfy({ QueryPlanner.pushable($0, inner.connector, inner.schema) }) else { return .refused(nil) }
        func join(_ filter: QueryFilter?) -> SemiJoin {
            SemiJoin(field: field, negated: op == "$notInQuery" || op == "$dontSelect", operatorName: op, inner: inner.schema,
                     innerConnector: inner.connector, filter: filter, key: key)
        }
        guard pushdown.canEmbed(join(rows), outer: outer.schema) else { return .refused(nil) }
        // The inner query as the two-step path would run it: its where (own sub-queries resolved), then the row rules and ACLs.
        var filter: QueryFilter?
        var resolvedOperand: JSONValue?
        if var json = innerWhere {
            guard (try? config.limits.whereClause.check(json)) != nil else { return .refused(nil) }
            if SubqueryRewriter.contains(json) {
                json = try await resolveSubqueries(json, caller: caller, logger: logger, cacheMode: cacheMode, nesting: 1)
                resolvedOperand = Self.operand(operand, withWhere: json, op: op)
            }
            do { filter = try QueryParser(schema: inner.schema).parse(json) } catch { return .refused(resolvedOperand) }
        }
        if let filter, filter.fieldPaths.contains(where: { hidden.contains(String($0.split(separator: ".")[0])) }) { return .refused(resolvedOperand) }
        let full = QueryFilter.conjunction([filter, rows].compactMap { $0 })
        guard (full?.conjuncts ?? []).allSatisfy({ QueryPlanner.pushable($0, inner.connector, inner.schema) }) else { return .refused(resolvedOperand) }
        let semiJoin = join(full)
        guard pushdown.canEmbed(semiJoin, outer: outer.schema) else { return .refused(resolvedOperand) }
        countRequest(inner)
        return .pushed(semiJoin)
    }

    /// `operand` (an `$inQuery` / `$select` operand) with its inner query's `where` replaced.
    private static func operand(_ operand: JSONValue, withWhere json: JSONValue, op: String) -> JSONValue {
        guard case .object(var o) = operand else { return operand }
        if op == "$inQuery" || op == "$notInQuery" {
            o["where"] = json
        } else if case .object(var q)? = o["query"] {
            q["where"] = json
            o["query"] = .object(q)
        }
        return .object(o)
    }
}

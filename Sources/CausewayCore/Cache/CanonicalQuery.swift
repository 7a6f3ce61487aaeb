/// The canonical text of a planned query, used as a cache key: equivalent queries (the same conditions in
/// another order, `$in` lists in another order, `limit` defaulted or explicit) give the same text, and
/// anything that changes the answer (every condition, including the permission filters added for the
/// caller, sort, paging, projection, hidden fields) is in it.
public enum CanonicalQuery {
    public static func text(_ filter: QueryFilter?) -> String {
        guard let filter else { return "*" }
        return text(filter)
    }

    static func text(_ filter: QueryFilter) -> String {
        switch filter {
        case .and(let parts): return group("and", parts)
        case .or(let parts): return group("or", parts)
        case .nor(let parts): return group("nor", parts)
        case .field(let path, let condition): return "\(quoted(path)):\(text(condition))"
        }
    }

    private static func group(_ name: String, _ parts: [QueryFilter]) -> String {
        // `$and` of one `$and` is the same as its parts.
        let flat = name == "and" ? parts.flatMap(\.conjuncts) : parts
        if name == "and", flat.count == 1 { return text(flat[0]) }
        return "\(name)(" + Set(flat.map(text)).sorted().joined(separator: ",") + ")"
    }

    static func text(_ c: FieldCondition) -> String {
        switch c {
        case .equal(let v): return "eq " + value(v)
        case .notEqual(let v): return "ne " + value(v)
        case .lessThan(let v): return "lt " + value(v)
        case .lessThanOrEqual(let v): return "lte " + value(v)
        case .greaterThan(let v): return "gt " + value(v)
        case .greaterThanOrEqual(let v): return "gte " + value(v)
        case .isIn(let vs): return "in " + set(vs)
        case .notIn(let vs): return "nin " + set(vs)
        case .exists(let b): return "exists \(b)"
        case .regex(let pattern, let options): return "regex \(quoted(pattern)) \(String(options.sorted()))"
        case .all(let vs): return "all " + set(vs)
        case .containedBy(let vs): return "containedBy " + set(vs)
        case .nearSphere(let p, let max): return "near \(p.latitude),\(p.longitude) \(max.map { String($0) } ?? "-")"
        case .withinBox(let sw, let ne): return "box \(sw.latitude),\(sw.longitude) \(ne.latitude),\(ne.longitude)"
        case .withinCircle(let c, let r): return "circle \(c.latitude),\(c.longitude) \(r)"
        case .withinPolygon(let points): return "polygon " + points.map { "\($0.latitude),\($0.longitude)" }.joined(separator: " ")
        case .aclAllows(let keys, let write): return "acl \(write ? "w" : "r") " + Set(keys).sorted().map(quoted).joined(separator: ",")
        }
    }

    static func value(_ v: ParseValue) -> String { JSONWriter.string(ParseCodec.encode(v)) }

    private static func set(_ vs: [ParseValue]) -> String { "[" + Set(vs.map(value)).sorted().joined(separator: ",") + "]" }

    private static func quoted(_ s: String) -> String { JSONWriter.string(.string(s)) }

    /// A whole `find`: filter, order, paging, projection, count, and the fields hidden from the caller.
    public static func text(_ q: FindQuery, hidden: Set<String>) -> String {
        var s = "where " + text(q.filter)
        s += " order " + q.sort.map { key -> String in
            switch key {
            case .field(let f, let descending): return (descending ? "-" : "+") + f
            case .distance(let f, let from): return "~\(f)@\(from.latitude),\(from.longitude)"
            }
        }.joined(separator: ",")
        s += " skip \(q.skip) limit \(q.limit) count \(q.count)"
        s += " keys " + (q.keys.map { $0.sorted().joined(separator: ",") } ?? "*")
        s += " exclude " + q.excludeKeys.union(hidden).sorted().joined(separator: ",")
        return s
    }
}

/// Executes the whole `where` language, sorting, paging and projection in memory.
///
/// It is the reference semantics: whatever a connector cannot push down is finished here,
/// and connectors are tested to return the same results as this evaluator.
public enum QueryEvaluator {
    public static func matches(_ object: ParseObject, _ filter: QueryFilter?) -> Bool {
        guard let filter else { return true }
        switch filter {
        case .and(let parts): return parts.allSatisfy { matches(object, $0) }
        case .or(let parts): return parts.contains { matches(object, $0) }
        case .nor(let parts): return !parts.contains { matches(object, $0) }
        case .field(let path, let condition):
            let v = object.value(forPath: path)
            return matches(v.flatMap { $0.isNull ? nil : $0 }, condition)
        }
    }

    /// Whether a field value (nil when missing or null) satisfies a condition.
    public static func matches(_ value: ParseValue?, _ condition: FieldCondition) -> Bool {
        switch condition {
        case .equal(let target): return equals(value, target)
        case .notEqual(let target): return !equals(value, target)
        case .lessThan(let t): return compareEach(value, t) { $0 < 0 }
        case .lessThanOrEqual(let t): return compareEach(value, t) { $0 <= 0 }
        case .greaterThan(let t): return compareEach(value, t) { $0 > 0 }
        case .greaterThanOrEqual(let t): return compareEach(value, t) { $0 >= 0 }
        case .isIn(let list): return list.contains { equals(value, $0) }
        case .notIn(let list): return !list.contains { equals(value, $0) }
        case .exists(let shouldExist): return (value != nil) == shouldExist
        case .regex(let pattern, let options):
            guard case .string(let s)? = value, let re = try? BoundedRegex.compile(pattern, options: options) else { return false }
            return RegexBudget.matches(re, s)
        case .all(let required):
            guard case .array(let items)? = value else { return false }
            return required.allSatisfy { r in items.contains { ValueOrdering.equal($0, r) } }
        case .containedBy(let allowed):
            guard case .array(let items)? = value else { return false }
            return items.allSatisfy { i in allowed.contains { ValueOrdering.equal(i, $0) } }
        case .nearSphere(let center, let max):
            guard case .geoPoint(let p)? = value else { return false }
            guard let max else { return true }
            return p.radians(to: center) <= max
        case .withinBox(let sw, let ne):
            guard case .geoPoint(let p)? = value else { return false }
            guard p.latitude >= sw.latitude, p.latitude <= ne.latitude else { return false }
            if sw.longitude <= ne.longitude {
                return p.longitude >= sw.longitude && p.longitude <= ne.longitude
            }
            // A box that crosses the antimeridian.
            return p.longitude >= sw.longitude || p.longitude <= ne.longitude
        case .withinCircle(let center, let radius):
            guard case .geoPoint(let p)? = value else { return false }
            return p.radians(to: center) <= radius
        case .withinPolygon(let polygon):
            guard case .geoPoint(let p)? = value else { return false }
            return contains(polygon, p)
        case .aclAllows(let keys, let write):
            guard let value, !value.isNull else { return true }
            guard case .object(let acl) = value else { return false }
            return keys.contains { key in
                guard case .object(let grant)? = acl[key] else { return false }
                return grant[write ? "write" : "read"] == .bool(true)
            }
        }
    }

    /// Parse equality: null matches missing; a scalar matches an array that contains it.
    static func equals(_ value: ParseValue?, _ target: ParseValue) -> Bool {
        guard let value else { return target.isNull }
        if target.isNull { return false }
        if ValueOrdering.equal(value, target) { return true }
        if case .array(let items) = value {
            if case .array = target { return false }
            return items.contains { ValueOrdering.equal($0, target) }
        }
        return false
    }

    /// Ordered comparison; on an array field, true when any element satisfies it.
    static func compareEach(_ value: ParseValue?, _ target: ParseValue, _ test: (Int) -> Bool) -> Bool {
        guard let value else { return false }
        if let c = ValueOrdering.compare(value, target) { return test(c) }
        if case .array(let items) = value {
            return items.contains { ValueOrdering.compare($0, target).map(test) ?? false }
        }
        return false
    }

    static func contains(_ polygon: [GeoPoint], _ p: GeoPoint) -> Bool {
        var inside = false
        var j = polygon.count - 1
        for i in 0..<polygon.count {
            let a = polygon[i], b = polygon[j]
            if (a.latitude > p.latitude) != (b.latitude > p.latitude) {
                let x = (b.longitude - a.longitude) * (p.latitude - a.latitude) / (b.latitude - a.latitude) + a.longitude
                if p.longitude < x { inside.toggle() }
            }
            j = i
        }
        return inside
    }

    /// Sorts by the keys, then by `objectId` so that ties are stable and the same everywhere.
    /// - Parameter numericIds: the source's keys are integers, so ids order numerically.
    public static func sort(_ objects: [ParseObject], by keys: [SortKey], numericIds: Bool = false) -> [ParseObject] {
        objects.sorted { a, b in compare(a, b, by: keys, numericIds: numericIds) < 0 }
    }

    public static func compare(_ a: ParseObject, _ b: ParseObject, by keys: [SortKey], numericIds: Bool = false) -> Int {
        for key in keys {
            let c: Int
            switch key {
            case .field("objectId", let descending):
                let raw = compareIds(a.objectId, b.objectId, numericIds)
                c = descending ? -raw : raw
            case .field(let path, let descending):
                let raw = ValueOrdering.sortCompare(normalized(a.value(forPath: path)), normalized(b.value(forPath: path)))
                c = descending ? -raw : raw
            case .distance(let path, let from):
                let da = distance(a.value(forPath: path), from), db = distance(b.value(forPath: path), from)
                c = da < db ? -1 : (da == db ? 0 : 1)
            }
            if c != 0 { return c }
        }
        return compareIds(a.objectId, b.objectId, numericIds)
    }

    static func compareIds(_ a: String?, _ b: String?, _ numeric: Bool) -> Int {
        let x = a ?? "", y = b ?? ""
        if numeric, let i = Int64(x), let j = Int64(y) { return i < j ? -1 : (i == j ? 0 : 1) }
        return ValueOrdering.compareUTF8(x, y)
    }

    private static func normalized(_ v: ParseValue?) -> ParseValue? {
        if let v, v.isNull { return nil }
        return v
    }

    private static func distance(_ v: ParseValue?, _ from: GeoPoint) -> Double {
        guard case .geoPoint(let p)? = v else { return .infinity }
        return p.radians(to: from)
    }

    /// Runs a complete query over objects: filter, sort, skip, limit.
    public static func run(_ objects: [ParseObject], filter: QueryFilter?, sort: [SortKey], skip: Int, limit: Int?,
                           numericIds: Bool = false) -> [ParseObject] {
        let matching = objects.filter { matches($0, filter) }
        let sorted = QueryEvaluator.sort(matching, by: sort, numericIds: numericIds)
        let start = min(skip, sorted.count)
        let end = limit.map { min(start + $0, sorted.count) } ?? sorted.count
        return Array(sorted[start..<end])
    }
}

/// The `where` language as a tree: field conditions combined with `$and`, `$or` and `$nor`.
public indirect enum QueryFilter: Sendable, Hashable {
    case and([QueryFilter])
    case or([QueryFilter])
    case nor([QueryFilter])
    case field(String, FieldCondition)

    /// The top-level conjuncts (an `$and` is split; anything else is one conjunct).
    public var conjuncts: [QueryFilter] {
        if case .and(let parts) = self { return parts.flatMap(\.conjuncts) }
        return [self]
    }

    /// Joins conjuncts back together (nil for none).
    public static func conjunction(_ parts: [QueryFilter]) -> QueryFilter? {
        let flat = parts.flatMap(\.conjuncts)
        switch flat.count {
        case 0: return nil
        case 1: return flat[0]
        default: return .and(flat)
        }
    }

    /// Every field path the filter reads.
    public var fieldPaths: Set<String> {
        switch self {
        case .and(let parts), .or(let parts), .nor(let parts):
            return parts.reduce(into: Set<String>()) { $0.formUnion($1.fieldPaths) }
        case .field(let path, _):
            return [path]
        }
    }
}

/// One condition on one field.
public enum FieldCondition: Sendable, Hashable {
    case equal(ParseValue)
    case notEqual(ParseValue)
    case lessThan(ParseValue)
    case lessThanOrEqual(ParseValue)
    case greaterThan(ParseValue)
    case greaterThanOrEqual(ParseValue)
    case isIn([ParseValue])
    case notIn([ParseValue])
    case exists(Bool)
    case regex(pattern: String, options: String)
    case all([ParseValue])
    case containedBy([ParseValue])
    case nearSphere(GeoPoint, maxDistanceRadians: Double?)
    case withinBox(southwest: GeoPoint, northeast: GeoPoint)
    case withinCircle(center: GeoPoint, radiusRadians: Double)
    case withinPolygon([GeoPoint])
    /// A Parse ACL (`{"*":{"read":true},"<userId>":{…},"role:X":{…}}`) grants read (or write) to one of
    /// `keys`; an object without an ACL is open. Added by the gateway for callers, never parsed from `where`.
    case aclAllows(keys: [String], write: Bool)

    public var filterOperator: FilterOperator {
        switch self {
        case .equal: return .equal
        case .notEqual: return .notEqual
        case .lessThan: return .lessThan
        case .lessThanOrEqual: return .lessThanOrEqual
        case .greaterThan: return .greaterThan
        case .greaterThanOrEqual: return .greaterThanOrEqual
        case .isIn: return .isIn
        case .notIn: return .notIn
        case .exists: return .exists
        case .regex: return .regex
        case .all: return .all
        case .containedBy: return .containedBy
        case .nearSphere: return .nearSphere
        case .withinBox: return .withinBox
        case .withinCircle: return .withinCircle
        case .withinPolygon: return .withinPolygon
        case .aclAllows: return .aclAllows
        }
    }
}

/// Operators a connector can declare it executes.
public enum FilterOperator: String, Sendable, Hashable, CaseIterable {
    case equal, notEqual, lessThan, lessThanOrEqual, greaterThan, greaterThanOrEqual
    case isIn, notIn, exists, regex, all, containedBy
    case nearSphere, withinBox, withinCircle, withinPolygon
    case aclAllows
    case and, or, nor
}

/// One key of `order`.
public enum SortKey: Sendable, Hashable {
    case field(String, descending: Bool)
    /// Nearest first, implied by `$nearSphere` when no `order` is given.
    case distance(field: String, from: GeoPoint)

    public var fieldPath: String {
        switch self {
        case .field(let f, _): return f
        case .distance(let f, _): return f
        }
    }
}

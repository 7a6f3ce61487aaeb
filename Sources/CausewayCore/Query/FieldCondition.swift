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

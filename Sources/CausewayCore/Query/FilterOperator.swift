/// Operators a connector can declare it executes.
public enum FilterOperator: String, Sendable, Hashable, CaseIterable {
    case equal, notEqual, lessThan, lessThanOrEqual, greaterThan, greaterThanOrEqual
    case isIn, notIn, exists, regex, all, containedBy
    case nearSphere, withinBox, withinCircle, withinPolygon
    case aclAllows
    case and, or, nor
}

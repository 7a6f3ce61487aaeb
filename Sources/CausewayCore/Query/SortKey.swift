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

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

    /// Whether any condition is a `$regex`.
    public var containsRegex: Bool {
        switch self {
        case .and(let parts), .or(let parts), .nor(let parts): return parts.contains(where: \.containsRegex)
        case .field(_, .regex): return true
        case .field: return false
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

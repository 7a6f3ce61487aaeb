/// Equality and ordering of Parse values, shared by the evaluator and sorting.
///
/// Numbers compare numerically across integers and doubles; strings compare by UTF-8 bytes
/// (the order SQLite and PostgreSQL's "C" collation use). Values of different types order by
/// a fixed rank: missing/null < numbers < strings < objects < arrays < bytes < booleans < dates < others.
public enum ValueOrdering {
    public static func equal(_ a: ParseValue, _ b: ParseValue) -> Bool {
        switch (a, b) {
        case (.int(let x), .int(let y)): return x == y
        case (.int, .double), (.double, .int), (.double, .double): return a.doubleValue! == b.doubleValue!
        case (.array(let x), .array(let y)):
            return x.count == y.count && zip(x, y).allSatisfy { equal($0, $1) }
        case (.object(let x), .object(let y)):
            return x.count == y.count && x.allSatisfy { k, v in y[k].map { equal(v, $0) } ?? false }
        case (.pointer(_, let x), .pointer(_, let y)): return x == y && a == b
        default: return a == b
        }
    }

    /// Ordering within one type; nil when the two values are not comparable (`$lt` then fails).
    public static func compare(_ a: ParseValue, _ b: ParseValue) -> Int? {
        switch (a, b) {
        case (.int(let x), .int(let y)): return x < y ? -1 : (x == y ? 0 : 1)
        case (.int, .double), (.double, .int), (.double, .double):
            let x = a.doubleValue!, y = b.doubleValue!
            return x < y ? -1 : (x == y ? 0 : 1)
        case (.string(let x), .string(let y)): return compareUTF8(x, y)
        case (.date(let x), .date(let y)): return x < y ? -1 : (x == y ? 0 : 1)
        case (.bool(let x), .bool(let y)): return x == y ? 0 : (!x ? -1 : 1)
        default: return nil
        }
    }

    public static func compareUTF8(_ x: String, _ y: String) -> Int {
        if x == y { return 0 }
        return x.utf8.lexicographicallyPrecedes(y.utf8) ? -1 : 1
    }

    static func rank(_ v: ParseValue?) -> Int {
        guard let v else { return 0 }
        switch v {
        case .null: return 0
        case .int, .double: return 1
        case .string: return 2
        case .object: return 3
        case .array: return 4
        case .bytes: return 5
        case .bool: return 6
        case .date: return 7
        case .geoPoint: return 8
        case .pointer: return 9
        case .file: return 10
        }
    }

    /// A total order for sorting, missing values first.
    public static func sortCompare(_ a: ParseValue?, _ b: ParseValue?) -> Int {
        let ra = rank(a), rb = rank(b)
        if ra != rb { return ra < rb ? -1 : 1 }
        guard let a, let b else { return 0 }
        if let c = compare(a, b) { return c }
        // Same rank but not ordered (objects, arrays, geo): compare their canonical text.
        return compareUTF8(JSONWriter.string(ParseCodec.encode(a)), JSONWriter.string(ParseCodec.encode(b)))
    }
}

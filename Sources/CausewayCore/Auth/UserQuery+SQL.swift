/// The SQL of a `UserQuery` over the metadata store's users table, whose columns both stores share; each store
/// supplies its placeholders and how its text compares.
extension UserQuery {
    public struct SQL: Sendable {
        /// After `WHERE` (`TRUE` when there is no condition).
        public var whereClause: String
        /// After `ORDER BY`: the sort, then `object_id` ascending.
        public var orderBy: String
        public var binds: [Value]
    }

    /// `placeholder(n)`: the n-th bind (from 1). `byteOrder`: appended to text columns where order matters
    /// (ranges, sorting) so they compare by code point as Parse does (PostgreSQL: ` COLLATE "C"`; SQLite's
    /// default already does). `nullsExplicit`: the store sorts NULL last ascending (PostgreSQL), so missing
    /// emails are put first ascending and last descending, as Parse orders them.
    public func sql(placeholder: (Int) -> String, byteOrder: String, nullsExplicit: Bool) -> SQL {
        var binds: [Value] = []
        func bind(_ v: Value) -> String {
            binds.append(v)
            return placeholder(binds.count)
        }
        func ordered(_ c: Column) -> String { c.isText ? c.rawValue + byteOrder : c.rawValue }
        var parts: [String] = []
        for condition in conditions {
            switch condition {
            case .exists(let c, let present):
                parts.append("\(c.rawValue) IS \(present ? "NOT " : "")NULL")
            case .compare(let c, .equal, let v):
                parts.append("\(c.rawValue) = \(bind(v))")
            case .compare(let c, .notEqual, let v):
                // A missing value is "not equal" too.
                parts.append(c.isNullable ? "(\(c.rawValue) IS NULL OR \(c.rawValue) <> \(bind(v)))" : "\(c.rawValue) <> \(bind(v))")
            case .compare(let c, let op, let v):
                parts.append("\(ordered(c)) \(op.rawValue) \(bind(v))")
            case .isIn(_, let values, let negated) where values.isEmpty:
                parts.append(negated ? "TRUE" : "FALSE")
            case .isIn(let c, let values, let negated):
                let list = values.map(bind).joined(separator: ", ")
                if negated {
                    parts.append(c.isNullable ? "(\(c.rawValue) IS NULL OR \(c.rawValue) NOT IN (\(list)))" : "\(c.rawValue) NOT IN (\(list))")
                } else {
                    parts.append("\(c.rawValue) IN (\(list))")
                }
            }
        }
        var order = sort.map { o -> String in
            var s = "\(ordered(o.column)) \(o.descending ? "DESC" : "ASC")"
            if nullsExplicit, o.column.isNullable { s += o.descending ? " NULLS LAST" : " NULLS FIRST" }
            return s
        }
        if !sort.contains(where: { $0.column == .objectId }) { order.append("\(ordered(.objectId)) ASC") }
        return SQL(whereClause: parts.isEmpty ? "TRUE" : parts.joined(separator: " AND "), orderBy: order.joined(separator: ", "), binds: binds)
    }
}

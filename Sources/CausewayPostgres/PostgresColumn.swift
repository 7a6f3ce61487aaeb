import CausewayCore

/// A column as PostgreSQL describes it (from `pg_attribute` / `format_type`).
struct PostgresColumn: Sendable, Hashable {
    var name: String
    /// `format_type` spelling with modifiers: `integer`, `numeric(12,2)`, `character varying(20)`, `text[]`.
    var typeName: String
    /// The type without modifiers, used in casts: an explicit cast to `varchar(3)` or `numeric(12,2)` would silently
    /// truncate or round, while assigning the unmodified type lets PostgreSQL refuse a value that does not fit.
    var castType: String
    /// `pg_type.typcategory`: S string, N numeric, B boolean, D date/time, U user (uuid, bytea's is U too), A array.
    var category: Character
    /// For arrays: the element type (`text`, `integer`, …) and its category.
    var elementTypeName: String?
    var elementCategory: Character?
    var notNull: Bool
    var hasDefault: Bool
    /// The column's collation ('' for types without one) and whether it orders text by bytes as the evaluator
    /// does; when it does, comparisons and sorts use it as it is (so its indexes serve them), else `COLLATE "C"`.
    var collation: String = ""
    var byteOrdered: Bool = false

    /// The collation comparisons and sorts on this column use ('' when it has none).
    var sortCollation: String {
        guard isText else { return "" }
        return byteOrdered ? collation : "C"
    }

    var isArray: Bool { category == "A" }
    var isJSON: Bool { typeName == "jsonb" || typeName == "json" }
    var isText: Bool { category == "S" }
    var isNumeric: Bool { category == "N" }
    var baseType: String { typeName.split(separator: "(").first.map(String.init) ?? typeName }

    /// Precision and scale of `numeric(p,s)`.
    var numericPrecisionScale: (Int, Int)? {
        guard baseType == "numeric", let open = typeName.firstIndex(of: "("), let close = typeName.firstIndex(of: ")") else { return nil }
        let parts = typeName[typeName.index(after: open)..<close].split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard let p = parts.first else { return nil }
        return (p, parts.count > 1 ? parts[1] : 0)
    }

    /// Whether the column can hold a field of this Parse type.
    func fits(_ type: FieldType) -> Bool {
        switch type {
        case .string: return isText || typeName == "uuid" || baseType == "numeric"
        case .number: return isNumeric
        case .boolean: return typeName == "boolean"
        case .date: return typeName.hasPrefix("timestamp") || typeName == "date"
        case .array: return isArray || isJSON
        case .object, .file: return isJSON
        case .bytes: return typeName == "bytea"
        case .pointer: return isText || typeName == "uuid" || (isNumeric && baseType != "numeric")
        case .geoPoint: return isNumeric
        }
    }

    /// Whether a key column of this type can hold objectIds of this key type.
    func fits(_ key: ObjectIdMapping.KeyType) -> Bool {
        switch key {
        case .string: return isText
        case .integer: return ["smallint", "integer", "bigint"].contains(typeName)
        case .uuid: return typeName == "uuid"
        }
    }
}

import CausewayCore

/// A collection served from one SQLite table.
struct SQLiteTable: Sendable {
    let schema: CollectionSchema
    let table: String
    /// Objects inserted when the table is created by the connector.
    let seed: [[String: JSONValue]]
    /// The quoted table name and every mapped column's checked, quoted name.
    let quotedTable: String
    let identifiers: SQLIdentifierSet

    /// Throws when a name cannot be an identifier (the factory reports it as a configuration error first).
    init(schema: CollectionSchema, table: String, seed: [[String: JSONValue]]) throws(SQLIdentifier.Invalid) {
        self.schema = schema
        self.table = table
        self.seed = seed
        self.quotedTable = try SQLIdentifier(table).quoted
        self.identifiers = try SQLIdentifierSet(columnsOf: schema)
    }

    /// The quoted name of a mapped column.
    func quoted(_ column: String) -> String { identifiers.quoted(column) }

    /// Every column this collection reads, in a fixed order.
    var columns: [String] {
        var out = [schema.objectId.column]
        if let c = schema.createdAtColumn { out.append(c) }
        if let u = schema.updatedAtColumn { out.append(u) }
        for name in schema.fields.keys.sorted() { out.append(contentsOf: SQLiteTable.columns(of: schema.fields[name]!)) }
        return out
    }

    /// Columns holding a field: two for a GeoPoint, one otherwise.
    static func columns(of field: FieldMapping) -> [String] { field.storageColumns }

    static func latitudeColumn(_ f: FieldMapping) -> String { f.storageColumns[0] }
    static func longitudeColumn(_ f: FieldMapping) -> String { f.storageColumns[1] }

    /// The column (or latitude column) a condition or sort key on a top-level field reads.
    func column(for field: String) -> String? { schema.storageColumn(for: field) }

    /// Declared column type used when the connector creates the table.
    static func declaredType(_ type: FieldType) -> String {
        switch type {
        case .string, .pointer, .array, .object, .file: return "TEXT"
        case .number: return "NUMERIC"
        case .boolean, .date: return "INTEGER"
        case .geoPoint: return "REAL"
        case .bytes: return "BLOB"
        }
    }

    /// `CREATE TABLE IF NOT EXISTS` for this collection.
    var createStatement: String {
        var defs: [String] = []
        let id = schema.objectId
        switch id.type {
        case .integer: defs.append("\(quoted(id.column)) INTEGER PRIMARY KEY")
        case .string, .uuid: defs.append("\(quoted(id.column)) TEXT PRIMARY KEY NOT NULL")
        }
        if let c = schema.createdAtColumn { defs.append("\(quoted(c)) INTEGER") }
        if let u = schema.updatedAtColumn { defs.append("\(quoted(u)) INTEGER") }
        for name in schema.fields.keys.sorted() {
            let f = schema.fields[name]!
            for column in SQLiteTable.columns(of: f) {
                defs.append("\(quoted(column)) \(SQLiteTable.declaredType(f.type))")
            }
        }
        return "CREATE TABLE IF NOT EXISTS \(quotedTable) (\(defs.joined(separator: ", ")))"
    }
}

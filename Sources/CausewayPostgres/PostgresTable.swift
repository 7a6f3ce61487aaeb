import CausewayCore

/// A mapped collection and the real columns behind it.
struct PostgresTable: Sendable {
    let schema: CollectionSchema
    let schemaName: String
    let table: String
    /// Filled by introspection: every column of the table by name.
    var columns: [String: PostgresColumn] = [:]
    var isView = false
    /// Fields declared as commonly sorted or filtered on (`indexHints`), and where, for `causeway check`.
    var indexHints: [String] = []
    var indexHintsLocation: ConfigLocation?
    /// Filled by introspection: the table's valid indexes.
    var indexes: [PostgresIndex] = []
    /// Worked out once, not per request:
    /// the quoted `"schema"."table"`,
    let qualifiedName: String
    /// the field names in the order their columns are selected,
    let fieldOrder: [String]
    /// and the select list of every mapped column.
    let allColumns: String
    /// Every mapped column's checked, quoted name.
    let identifiers: SQLIdentifierSet

    /// Throws when a name cannot be an identifier (the factory reports it as a configuration error first).
    init(schema: CollectionSchema, schemaName: String, table: String) throws(SQLIdentifier.Invalid) {
        self.schema = schema
        self.schemaName = schemaName
        self.table = table
        self.identifiers = try SQLIdentifierSet(columnsOf: schema)
        self.qualifiedName = "\(try SQLIdentifier(schemaName).quoted).\(try SQLIdentifier(table).quoted)"
        self.fieldOrder = schema.fields.keys.sorted()
        var all = [schema.objectId.column]
        if let c = schema.createdAtColumn { all.append(c) }
        if let u = schema.updatedAtColumn { all.append(u) }
        for name in fieldOrder { all.append(contentsOf: PostgresTable.columns(of: schema.fields[name]!)) }
        self.allColumns = all.map(identifiers.quoted).joined(separator: ", ")
    }

    /// The select list for `fields` (all when nil).
    func selectList(fields: Set<String>?) -> String {
        guard fields != nil else { return allColumns }
        return mappedColumns(fields: fields).map(identifiers.quoted).joined(separator: ", ")
    }

    /// Columns holding a field (two for a GeoPoint).
    static func columns(of field: FieldMapping) -> [String] { field.storageColumns }

    /// Every column the mapping reads, in a fixed order: key, createdAt, updatedAt, then fields by name.
    func mappedColumns(fields: Set<String>? = nil) -> [String] {
        var out = [schema.objectId.column]
        if let c = schema.createdAtColumn { out.append(c) }
        if let u = schema.updatedAtColumn { out.append(u) }
        for name in fieldOrder where fields?.contains(name) ?? true {
            out.append(contentsOf: PostgresTable.columns(of: schema.fields[name]!))
        }
        return out
    }

    /// The column a condition on a top-level field reads (the latitude column for a GeoPoint).
    func column(for field: String) -> String? { schema.storageColumn(for: field) }

    /// The quoted name of a mapped column.
    func quoted(_ column: String) -> String { identifiers.quoted(column) }

    /// Whether the key column is unique by an index of its own (a primary key, say), so that it ends a sort as a
    /// total order and a keyset condition can start a page at one row.
    var keyIsUnique: Bool { indexes.contains { $0.makesUnique(schema.objectId.column) } }

    func info(_ column: String) -> PostgresColumn {
        columns[column] ?? PostgresColumn(name: column, typeName: "text", castType: "text", category: "S", notNull: false, hasDefault: false)
    }
}

import CausewayCore
import Logging
import PostgresNIO

/// The mapped tables' columns, read from `pg_catalog` once and again when a table was missing.
extension PostgresConnector {
    /// Loads the column types (once) before the gateway plans a query.
    public func ready() async throws {
        _ = try await tables()
    }

    /// The mapped tables with their columns, introspected once.
    func tables() async throws -> [String: PostgresTable] {
        if let t = state.withLock({ $0.tables }) { return t }
        var loaded = declared
        for (className, table) in declared {
            let (columns, isView) = try await introspect(table)
            guard !columns.isEmpty else {
                throw GatewayError(.internalServerError, "The source no longer matches the mapping of \(className); run causeway check.",
                                   detail: "table \(table.schemaName).\(table.table) not found")
            }
            loaded[className]!.columns = columns
            loaded[className]!.isView = isView
            loaded[className]!.indexes = try await indexes(of: table)
        }
        state.withLock { $0.tables = loaded }
        return loaded
    }

    func table(_ schema: CollectionSchema) async throws -> PostgresTable {
        guard let t = try await tables()[schema.className] else {
            throw GatewayError(.invalidClassName, "Connector '\(name)' does not serve class \(schema.className).")
        }
        return t
    }

    static let introspection = """
        SELECT a.attname, format_type(a.atttypid, a.atttypmod), format_type(a.atttypid, NULL), t.typcategory::text,
               format_type(NULLIF(t.typelem, 0), NULL), et.typcategory::text, a.attnotnull, a.atthasdef OR a.attidentity <> '',
               c.relkind::text, coalesce(co.collname::text, ''), current_setting('lc_collate')
        FROM pg_catalog.pg_attribute a
        JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
        JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
        LEFT JOIN pg_catalog.pg_type et ON et.oid = NULLIF(t.typelem, 0) AND t.typcategory = 'A'
        LEFT JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation
        WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped
        """

    /// `connection`: inside a transaction, its own connection (so that it never waits for a pooled one).
    func introspect(_ table: PostgresTable, on connection: PostgresConnection? = nil) async throws -> ([String: PostgresColumn], Bool) {
        // Unprepared: this statement's rows are decoded by type, which needs the text/binary format codes right.
        let query = PostgresStatement(sql: Self.introspection, values: [table.schemaName, table.table]).query
        let logger = self.logger
        let rows = try await statement(on: connection) { c, _ in try await c.query(query, logger: logger).collect() }
        var columns: [String: PostgresColumn] = [:]
        var isView = false
        for row in rows {
            let (name, type, castType, category, elementType, elementCategory, notNull, hasDefault, relkind, collation, databaseCollation) =
                try row.decode((String, String, String, String?, String?, String?, Bool, Bool, String, String, String).self)
            // Casting to char(1) ("character") would cut values; text assigned to char(n)/varchar(n) is checked instead.
            let cast = ["character", "character varying"].contains(castType) ? "text"
                : ["character[]", "character varying[]"].contains(castType) ? "text[]" : castType
            columns[name] = PostgresColumn(name: name, typeName: type, castType: cast, category: category?.first ?? "X",
                                           elementTypeName: category == "A" ? elementType : nil,
                                           elementCategory: elementCategory?.first, notNull: notNull, hasDefault: hasDefault,
                                           collation: collation,
                                           byteOrdered: PostgresIndex.byteOrdered(collation: collation, databaseCollation: databaseCollation))
            isView = relkind == "v" || relkind == "m"
        }
        return (columns, isView)
    }

    /// The valid indexes of a mapped table (none for a view).
    func indexes(of table: PostgresTable) async throws -> [PostgresIndex] {
        let query = PostgresStatement(sql: PostgresIndex.catalogQuery, values: [table.schemaName, table.table]).query
        let logger = self.logger
        let rows = try await statement(on: nil) { c, _ in try await c.query(query, logger: logger).collect() }
        var out: [PostgresIndex] = []
        for row in rows {
            let (name, method, unique, partial, _, column, option, collation, _) =
                try row.decode((String, String, Bool, Bool, Int32, String, Int32, String, Int32).self)
            let key = PostgresIndex.KeyColumn(column: column.isEmpty ? nil : column, descending: option & 1 != 0,
                                              nullsFirst: option & 2 != 0, collation: collation)
            if out.last?.name == name { out[out.count - 1].keys.append(key) } else {
                out.append(PostgresIndex(name: name, method: method, unique: unique, partial: partial, keys: [key]))
            }
        }
        return out
    }
}

import CausewayCore

/// Reads `kind: postgres` connector files. See Docs/connectors/postgres.md.
public struct PostgresConnectorFactory: ConnectorFactory {
    public let kind = "postgres"
    public init() {}

    public func makeConnector(name: String, reader: YAMLReader, baseDirectory: String) throws(ConfigError) -> any Connector {
        let settings = try PostgresConnectionSettings.read(try reader.child("connection"), baseDirectory: baseDirectory)
        var tables: [PostgresTable] = []
        let entries = try reader.entries("collections")
        if entries.isEmpty { throw reader.error("collections", "a connector needs at least one collection under 'collections'") }
        for entry in entries {
            let c = try reader.reader(for: entry)
            let schemaName = try c.optionalString("schema") ?? "public"
            if let problem = SQLIdentifier.problem(schemaName) { throw c.has("schema") ? c.error("schema", "schema name \(problem)") : ConfigError(c.location, problem) }
            let table = try c.optionalString("table") ?? entry.name
            if let problem = SQLIdentifier.problem(table) { throw c.has("table") ? c.error("table", "table name \(problem)") : ConfigError(c.location, problem) }
            // Fields commonly sorted or filtered on: `causeway check` warns when no index serves them.
            let hints = try c.optionalStringList("indexHints") ?? []
            let hintsLocation = c.location(of: "indexHints")
            let schema = try CollectionSchemaReader.read(c, className: entry.name, connectorName: name, classLocation: entry.location,
                                                         idColumnDefault: "id", sqlColumns: true)
            try c.finish()
            do {
                var t = try PostgresTable(schema: schema, schemaName: schemaName, table: table)
                for hint in hints where schema.type(of: hint) == nil && hint != "objectId" {
                    throw c.error("indexHints", "indexHints names '\(hint)', which is not a field of \(entry.name)")
                }
                t.indexHints = hints
                t.indexHintsLocation = hints.isEmpty ? nil : hintsLocation
                tables.append(t)
            } catch {
                throw ConfigError(c.location, "a column name \(error)")  // a GeoPoint's derived column names, say
            }
        }
        let keyset = try reader.int("keysetSkipThreshold", default: 1000, range: 0...Int(Int32.max))
        return PostgresConnector(name: name, settings: settings, tables: tables, keysetSkipThreshold: keyset)
    }
}

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
            let table = try c.optionalString("table") ?? entry.name
            let schema = try CollectionSchemaReader.read(c, className: entry.name, connectorName: name, classLocation: entry.location, idColumnDefault: "id")
            try c.finish()
            tables.append(PostgresTable(schema: schema, schemaName: schemaName, table: table))
        }
        return PostgresConnector(name: name, settings: settings, tables: tables)
    }
}

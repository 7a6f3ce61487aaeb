import CausewayCore
import Foundation

/// Reads `kind: sqlite` connector files.
///
/// ```yaml
/// kind: sqlite
/// connection:
///   path: ../data/demo.sqlite     # relative to this file; ":memory:" for a private in-memory database
///   createMissingTables: true
///   readConnections: 2
///   busyTimeoutMs: 5000
/// collections:
///   Workstation:
///     table: workstations
///     fields: { name: { type: string } }
///     seed: [ { name: "Desk 1" } ]
/// ```
public struct SQLiteConnectorFactory: ConnectorFactory {
    public let kind = "sqlite"
    public init() {}

    public func makeConnector(name: String, reader: YAMLReader, baseDirectory: String) throws(ConfigError) -> any Connector {
        let connection = try reader.child("connection")
        var path = try connection.string("path")
        if path != ":memory:", !path.hasPrefix("/") { path = (baseDirectory + "/" + path as NSString).standardizingPath }
        let create = try connection.bool("createMissingTables", default: true)
        let readers = try connection.int("readConnections", default: 2, range: 1...64)
        let busy = try connection.int("busyTimeoutMs", default: 5000, range: 0...600_000)
        try connection.finish()
        var tables: [SQLiteTable] = []
        let entries = try reader.entries("collections")
        if entries.isEmpty { throw reader.error("collections", "a connector needs at least one collection under 'collections'") }
        for entry in entries {
            let c = try reader.reader(for: entry)
            let tableName = try c.optionalString("table") ?? entry.name
            if let problem = SQLIdentifier.problem(tableName) { throw c.has("table") ? c.error("table", "table name \(problem)") : ConfigError(c.location, problem) }
            let schema = try CollectionSchemaReader.read(c, className: entry.name, connectorName: name, classLocation: entry.location, sqlColumns: true)
            var seed: [[String: JSONValue]] = []
            for (i, item) in (try c.optionalJSONList("seed") ?? []).enumerated() {
                guard case .object(let o) = item else {
                    throw ConfigError(c.location(of: "seed"), "seed[\(i)] must be a mapping of field values")
                }
                do {
                    _ = try WriteRequestParser(schema: schema, capabilities: .scanOnly).parse(o, isCreate: true)
                } catch {
                    throw ConfigError(c.location(of: "seed"), "seed[\(i)] is not a valid \(entry.name): \(error.message)")
                }
                seed.append(o)
            }
            try c.finish()
            do {
                tables.append(try SQLiteTable(schema: schema, table: tableName, seed: seed))
            } catch {
                throw ConfigError(c.location, "a column name \(error)")  // a GeoPoint's derived column names, say
            }
        }
        return SQLiteConnector(name: name, path: path, tables: tables, createMissingTables: create,
                               readerCount: readers, busyTimeoutMs: busy)
    }
}

import CausewayCore
import CausewayTesting
@testable import CausewaySQLite
import Foundation
import Logging

/// A SQLite connector over a fresh temporary file, built from YAML like a real deployment.
struct SQLiteFixture {
    let directory: String
    let connector: SQLiteConnector
    let logger = Logger(label: "test")

    static let itemYAML = """
    kind: sqlite
    connection:
      path: items.sqlite
    collections:
      Item:
        table: items
        objectId: { column: id, type: string }
        createdAt: created_at
        updatedAt: updated_at
        fields:
    \(ConnectorConformance.itemFieldsYAML)
          blob: { type: bytes }
    """

    init(yaml: String = SQLiteFixture.itemYAML, prepare: ((String) async throws -> Void)? = nil) async throws {
        directory = NSTemporaryDirectory() + "causeway-sqlite-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let file = directory + "/test.yaml"
        try yaml.write(toFile: file, atomically: true, encoding: .utf8)
        if let prepare { try await prepare(directory) }
        connector = try ConfigLoader.loadConnector(path: file, factories: [SQLiteConnectorFactory()], environment: [:]) as! SQLiteConnector
        try await connector.start(logger: logger)
    }

    /// The same, with the database `file` (in the fixture's folder) made beforehand by `statements`: tables the
    /// connector only maps.
    init(yaml: String, file: String, statements: [String]) async throws {
        try await self.init(yaml: yaml) { dir in
            let pool = try await SQLiteConnectionPool.open(path: dir + "/" + file, readers: 1, busyTimeoutMs: 1000, logger: Logger(label: "setup"))
            for sql in statements { _ = try await pool.write { try await $0.query(sql) } }
            await pool.close()
        }
    }

    func gateway(_ connector: (any Connector)? = nil) -> Gateway {
        Gateway(config: GatewayConfig(), connectors: [connector ?? self.connector])
    }

    func close() async {
        await connector.shutdown()
        try? FileManager.default.removeItem(atPath: directory)
    }
}


import CausewayCore
@testable import CausewayPostgres
import CausewayTesting
import Foundation
import Logging
import PostgresNIO
import Synchronization
import Testing

/// Connection settings of the test server that `scripts/postgres.sh start` launches.
struct TestDatabase {
    let host: String, port: Int, user: String, password: String, database: String, caFile: String, bin: String

    static func fromEnvironment() throws -> TestDatabase {
        let env = ProcessInfo.processInfo.environment
        guard let host = env["CAUSEWAY_TEST_PG_HOST"], let port = env["CAUSEWAY_TEST_PG_PORT"].flatMap(Int.init),
              let user = env["CAUSEWAY_TEST_PG_USER"], let password = env["CAUSEWAY_TEST_PG_PASSWORD"],
              let database = env["CAUSEWAY_TEST_PG_DATABASE"] else {
            throw MissingServer()
        }
        return TestDatabase(host: host, port: port, user: user, password: password, database: database,
                            caFile: env["CAUSEWAY_TEST_PG_CA_FILE"] ?? "", bin: env["CAUSEWAY_TEST_PG_BIN"] ?? "")
    }

    struct MissingServer: Error, CustomStringConvertible {
        var description: String {
            "CAUSEWAY_TEST_PG_* is not set: PostgreSQL integration tests need the server that scripts/test.sh starts (scripts/postgres.sh start, then source the env file it prints)"
        }
    }

    /// A `connection:` block for a connector file.
    func connectionYAML(tls: String = "disable", extra: String = "", caFile: String? = nil) -> String {
        """
        connection:
          host: \(host)
          port: \(port)
          database: \(database)
          user: \(user)
          password: ${PGPASS}
          tls: \(tls)
          caFile: \(caFile ?? self.caFile)
        \(extra)
        """
    }
}

/// Runs `body` with a fixture whose private schema `setupSQL` has filled, and always cleans up after it,
/// also when the setup or `body` throws: every connector the fixture made is shut down, the schema is
/// dropped and the admin client stopped.
func withPostgresFixture(setupSQL: String, _ body: (PostgresFixture) async throws -> Void) async throws {
    let fx = try await PostgresFixture.make()
    do {
        try await fx.setUp(setupSQL)
        try await body(fx)
    } catch {
        await fx.tearDown()
        throw error
    }
    await fx.tearDown()
}

/// A private schema in the test database, an admin client for setup, and connectors built from YAML.
/// Made and cleaned up by `withPostgresFixture`.
final class PostgresFixture: Sendable {
    let db: TestDatabase
    let schemaName: String
    /// A plain connection, not a `PostgresClient`: a pooled client leased before its `run()` has begun was
    /// seen never to answer under load (all sixteen tests stalled in their setup; the stall `test.sh` used to
    /// re-run for). A connection needs no `run()`, and it queues concurrent queries itself.
    let admin: PostgresConnection
    let logger: Logger
    /// Every connector this fixture made, with the task running its background work (as its service would).
    let made = Mutex<[(PostgresConnector, Task<Void, Never>)]>([])

    private init(db: TestDatabase, logger: Logger, admin: PostgresConnection) {
        self.db = db
        self.schemaName = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(12)
        self.logger = logger
        self.admin = admin
    }

    fileprivate static func make() async throws -> PostgresFixture {
        let db = try TestDatabase.fromEnvironment()
        var logger = Logger(label: "test.postgres")
        logger.logLevel = ProcessInfo.processInfo.environment["CAUSEWAY_TEST_LOG"].flatMap(Logger.Level.init(rawValue:)) ?? .warning
        let config = PostgresConnection.Configuration(host: db.host, port: db.port, username: db.user, password: db.password,
                                                      database: db.database, tls: .disable)
        let admin = try await PostgresConnection.connect(configuration: config, id: 1, logger: logger)
        return PostgresFixture(db: db, logger: logger, admin: admin)
    }

    fileprivate func setUp(_ setupSQL: String) async throws {
        try await execute("CREATE SCHEMA \(schemaName)")
        try await execute("SET search_path TO \(schemaName); " + setupSQL, simple: true)
    }

    /// Shuts down every connector made here, drops the schema (if it was made) and stops the admin client.
    fileprivate func tearDown() async {
        for (c, background) in made.withLock({ $0 }) {
            await c.shutdown()
            background.cancel()
            await background.value
        }
        try? await execute("DROP SCHEMA IF EXISTS \(schemaName) CASCADE")
        try? await admin.close()
    }

    /// Runs SQL as the admin user (several statements when `simple`).
    func execute(_ sql: String, simple: Bool = false) async throws {
        if simple {
            for statement in sql.split(separator: ";").map({ $0.trimmingCharacters(in: .whitespacesAndNewlines) }) where !statement.isEmpty {
                try await admin.query(PostgresQuery(unsafeSQL: statement), logger: logger)
            }
        } else {
            try await admin.query(PostgresQuery(unsafeSQL: sql), logger: logger)
        }
    }

    func scalar(_ sql: String) async throws -> String? {
        let rows = try await admin.query(PostgresQuery(unsafeSQL: sql), logger: logger).collect()
        return try rows.first?.decode(String?.self)
    }

    /// Builds a connector from `collectionsYAML` (indented under `collections:`), with this fixture's schema.
    /// `startAttempts`: how often a start that fails with a retryable error (100, 124) is tried, as the connector's
    /// service retries it; on a loaded machine a 1 s connect timeout is sometimes missed once.
    func connector(_ collectionsYAML: String, name: String = "pg", tls: String = "disable", connectionExtra: String = "",
                   caFile: String? = nil, logger: Logger? = nil, startAttempts: Int = 3) async throws -> PostgresConnector {
        // Connections are opened at start, poolSize of them (default 10). Some 40 tests run at once, several with two
        // or three connectors: at 10 each they held 380 of the test server's connections at peak and a clean-clone
        // run saw "cannot be reached" when they ran out. Tests that need more say so.
        let extra = connectionExtra.contains("poolSize:") ? connectionExtra : "  poolSize: 4\n" + connectionExtra
        let yaml = """
        kind: postgres
        \(db.connectionYAML(tls: tls, extra: extra, caFile: caFile))
        collections:
        \(collectionsYAML.replacingOccurrences(of: "SCHEMA", with: schemaName))
        """
        let dir = NSTemporaryDirectory() + "causeway-pg-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }  // read once, by the loader
        try yaml.write(toFile: dir + "/\(name).yaml", atomically: true, encoding: .utf8)
        let c = try ConfigLoader.loadConnector(path: dir + "/\(name).yaml", factories: [PostgresConnectorFactory()],
                                              environment: ["PGPASS": db.password]) as! PostgresConnector
        return try await started(c, logger: logger, attempts: startAttempts)
    }

    /// Runs `connector`'s background work and starts it, as its service would; the fixture shuts it down.
    @discardableResult
    func started(_ connector: PostgresConnector, logger: Logger? = nil, attempts: Int = 3) async throws -> PostgresConnector {
        let logger = logger ?? self.logger
        let background = Task { await connector.runBackground(logger: logger) }
        made.withLock { $0.append((connector, background)) }
        for attempt in 1...max(1, attempts) {
            do {
                try await connector.start(logger: logger)
                break
            } catch let error as GatewayError where attempt < attempts && (error.code == .connectionFailed || error.code == .timeout) {
                try await Task.sleep(for: .milliseconds(200 * attempt))
            }
        }
        return connector
    }
}

func gateway(_ connector: any Connector) -> Gateway {
    Gateway(config: GatewayConfig(), connectors: [connector])
}

/// Records the SQL statements a connector logs at debug level. A value type, as swift-log expects of a
/// handler (PostgresNIO sets metadata on copies of the logger from several threads); copies share the record.
struct StatementRecorder: LogHandler {
    private final class Record: @unchecked Sendable {
        let lock = NSLock()
        var statements: [String] = []
    }
    private let record = Record()
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .debug

    var statements: [String] { record.lock.withLock { record.statements } }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String, file: String, function: String, line: UInt) {
        if case .string(let sql)? = metadata?["causeway.sql"] { record.lock.withLock { record.statements.append(sql) } }
    }
}

import CausewayCore
import Logging
import PostgresNIO

/// The store's schema, created and migrated by the gateway itself. Migrations are numbered and recorded in
/// `schema_migrations`; each runs in a transaction, and all of them under a session advisory lock on the
/// schema's name, so nodes that start at once migrate one after the other (the later ones find nothing to do).
/// A schema newer than this build knows stops the start (`causeway check` says so before).
extension PostgresMetadataStore {
    struct Migration: Sendable {
        let version: Int
        let name: String
        let statements: @Sendable (_ schema: String) -> [String]
    }

    static let migrations: [Migration] = [
        Migration(version: 1, name: "users, sessions, login failure counters") { s in
            [
                """
                CREATE TABLE "\(s)".users (
                  object_id text PRIMARY KEY, username text NOT NULL CONSTRAINT users_username_key UNIQUE,
                  email text CONSTRAINT users_email_key UNIQUE, provider text NOT NULL, external_id text, password_hash text,
                  attributes text NOT NULL DEFAULT '{}', roles text NOT NULL DEFAULT '[]',
                  roles_refreshed_at bigint NOT NULL, created_at bigint NOT NULL, updated_at bigint NOT NULL)
                """,
                """
                CREATE TABLE "\(s)".sessions (
                  token_hash text PRIMARY KEY, object_id text NOT NULL UNIQUE,
                  user_id text NOT NULL REFERENCES "\(s)".users(object_id) ON DELETE CASCADE,
                  action text NOT NULL, auth_provider text NOT NULL, installation_id text,
                  created_at bigint NOT NULL, expires_at bigint NOT NULL)
                """,
                "CREATE INDEX sessions_user ON \"\(s)\".sessions (user_id)",
                "CREATE INDEX sessions_expiry ON \"\(s)\".sessions (expires_at)",
                """
                CREATE TABLE "\(s)".login_failures (
                  key text PRIMARY KEY, failures integer NOT NULL, last_failure_ms bigint NOT NULL)
                """,
            ]
        },
        Migration(version: 2, name: "admin-page sign-ins") { s in
            [#"CREATE TABLE "\#(s)".admin_sessions (token_hash text PRIMARY KEY, expires_at bigint NOT NULL)"#]
        },
        // GET /users sorts and ranges text by code point, as Parse does (COLLATE "C"), whatever the database's
        // collation: without these an ordered page of users read and sorted the whole table.
        Migration(version: 3, name: "user indexes in code-point order") { s in
            [
                #"CREATE INDEX users_object_id_c ON "\#(s)".users (object_id COLLATE "C")"#,
                #"CREATE INDEX users_username_c ON "\#(s)".users (username COLLATE "C")"#,
                #"CREATE INDEX users_created_at ON "\#(s)".users (created_at)"#,
            ]
        },
    ]

    /// The version this build brings the schema to.
    public static var schemaVersion: Int { migrations.last?.version ?? 0 }

    /// A connection of its own (the advisory lock is held by the session), closed afterwards.
    func adminConnection(_ role: String, logger: Logger) async throws -> PostgresConnection {
        var configuration = try settings.connectionConfiguration(connectorName: "metadata/\(role)")
        // Waiting for another node's migration must not count as a slow statement.
        configuration.options.additionalStartupParameters = [("application_name", "causeway/metadata/\(role)"), ("statement_timeout", "120000")]
        do {
            return try await PostgresConnection.connect(configuration: configuration, id: 0, logger: logger)
        } catch {
            throw GatewayError(.connectionFailed, "The PostgreSQL metadata store at \(settings.host):\(settings.port) cannot be reached.", detail: String(reflecting: error))
        }
    }

    /// Creates the schema and applies every migration it lacks.
    func migrate(logger: Logger) async throws {
        let c = try await adminConnection("migrate", logger: logger)
        defer { c.close().whenComplete { _ in _ = c } }
        let lock = "causeway.metadata." + schema
        do {
            try await c.query("SELECT pg_advisory_lock(hashtextextended(\(lock), 0))", logger: logger)
            try await c.query("CREATE SCHEMA IF NOT EXISTS \(unescaped: "\"\(schema)\"")", logger: logger)
            try await c.query("""
                CREATE TABLE IF NOT EXISTS \(unescaped: table("schema_migrations")) (
                  version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())
                """, logger: logger)
            let current = try await currentVersion(c, logger: logger) ?? 0
            if current > Self.schemaVersion {
                throw GatewayError(.internalServerError, "The metadata store's schema \(schema) is at version \(current), newer than this gateway knows (\(Self.schemaVersion)); run the newer gateway or restore the schema.")
            }
            for m in Self.migrations where m.version > current {
                try await c.query("BEGIN", logger: logger)
                do {
                    for statement in m.statements(schema) { try await c.query(PostgresQuery(unsafeSQL: statement), logger: logger) }
                    try await c.query("INSERT INTO \(unescaped: table("schema_migrations")) (version, name) VALUES (\(m.version), \(m.name))", logger: logger)
                    try await c.query("COMMIT", logger: logger)
                } catch {
                    _ = try? await c.query("ROLLBACK", logger: logger)
                    throw error
                }
                logger.notice("metadata store migrated", metadata: ["causeway.schema": .string(schema), "causeway.version": .stringConvertible(m.version)])
            }
            // On an error the lock goes with the connection, closed above.
            try await c.query("SELECT pg_advisory_unlock(hashtextextended(\(lock), 0))", logger: logger)
        } catch let error as GatewayError {
            throw error
        } catch {
            throw GatewayError(.internalServerError, "The metadata store's schema \(schema) cannot be created or migrated.", detail: String(reflecting: error))
        }
    }

    /// The highest applied migration, nil when the table does not exist.
    func currentVersion(_ c: PostgresConnection, logger: Logger) async throws -> Int? {
        let exists = try await c.query("SELECT to_regclass(\(table("schema_migrations")))::text", logger: logger).collect()
        guard try exists.first?.decode(String?.self) != nil else { return nil }
        let rows = try await c.query("SELECT coalesce(max(version), 0) FROM \(unescaped: table("schema_migrations"))", logger: logger).collect()
        return Int(try rows.first?.decode(Int32.self) ?? 0)
    }

    /// `causeway check`: reachable, and the schema missing (created at start, when allowed), older (migrated
    /// at start), current, or newer than this build (an error: this node would not start).
    public func verify(logger: Logger) async -> [CheckFinding] {
        let subject = "metadata store (postgres \(settings.host):\(settings.port)/\(settings.database), schema \(schema))"
        let c: PostgresConnection
        do { c = try await adminConnection("check", logger: logger) } catch {
            return [CheckFinding(.error, subject, "cannot connect: \((error as? GatewayError)?.detail ?? String(describing: error))")]
        }
        defer { c.close().whenComplete { _ in _ = c } }
        do {
            guard let version = try await currentVersion(c, logger: logger) else {
                let rows = try await c.query("SELECT has_database_privilege(current_user, current_database(), 'CREATE')", logger: logger).collect()
                let canCreate = try rows.first?.decode(Bool.self) ?? false
                return [canCreate
                    ? CheckFinding(.warning, subject, "schema \(schema) is missing; the gateway creates it (version \(Self.schemaVersion)) when it starts")
                    : CheckFinding(.error, subject, "schema \(schema) is missing and user \(settings.user) may not create it (needs CREATE on database \(settings.database))")]
            }
            if version > Self.schemaVersion {
                return [CheckFinding(.error, subject, "schema \(schema) is at version \(version), newer than this gateway knows (\(Self.schemaVersion)); this node would not start")]
            }
            if version < Self.schemaVersion {
                return [CheckFinding(.warning, subject, "schema \(schema) is at version \(version); the gateway migrates it to \(Self.schemaVersion) when it starts")]
            }
            return [CheckFinding(.ok, subject, "schema \(schema) is at version \(version) (current)")]
        } catch {
            return [CheckFinding(.error, subject, "cannot read the schema: \(String(reflecting: error))")]
        }
    }
}

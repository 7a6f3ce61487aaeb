import CausewayCore
import Logging
import PostgresNIO
import Synchronization

/// The gateway's own records in PostgreSQL (`metadataStore.postgres`), shared by every gateway node that
/// points at the same database and schema: users (with their roles and role-refresh time), sessions (token
/// SHA-256 hashes only), and failed-login counters (`SharedLoginCounters`). The schema (default `causeway`) is
/// created and migrated at start (`PostgresMetadataStore+Migrations.swift`); `ClusterBus` keeps the nodes'
/// in-memory copies coherent.
public final class PostgresMetadataStore: MetadataStore, SharedLoginCounters {
    let settings: PostgresConnectionSettings
    /// The schema holding the tables (validated as an identifier).
    public let schema: String
    /// This node's id in cluster notifications (`nodeId`, else made at start-up).
    public let nodeId: String
    private let connections = Mutex<PostgresConnectionSet?>(nil)
    private let loggerBox = Mutex(Logger(label: "causeway.metadata"))

    init(settings: PostgresConnectionSettings, schema: String, nodeId: String? = nil) {
        self.settings = settings
        self.schema = schema
        self.nodeId = nodeId ?? PostgresMetadataStore.makeNodeId()
    }

    static func makeNodeId() -> String {
        var rng = SystemRandomNumberGenerator()
        return String(rng.next() as UInt64, radix: 36)
    }

    var logger: Logger { loggerBox.withLock { $0 } }

    /// `"schema".table`
    func table(_ name: String) -> String { "\"\(schema)\".\(name)" }

    public func start(logger: Logger) async throws {
        loggerBox.withLock { $0 = logger }
        try await migrate(logger: logger)
        let set = PostgresConnectionSet(size: settings.poolSize, configuration: try settings.connectionConfiguration(connectorName: "metadata"),
                                        connectorName: "metadata store", logger: logger, openTimeout: .milliseconds(Int64(settings.connectTimeoutMs)))
        do {
            try await set.open()
        } catch {
            await set.shutdown()
            throw GatewayError(.connectionFailed, "The PostgreSQL metadata store cannot be reached.", detail: String(reflecting: error))
        }
        connections.withLock { $0 = set }
    }

    public func shutdown() async {
        let set = connections.withLock { s -> PostgresConnectionSet? in defer { s = nil }; return s }
        await set?.shutdown()
    }

    /// Runs one statement and collects its rows; store failures become Parse errors (unique violations as
    /// 202/203, an unreachable server as 100, anything else as an internal error with the detail logged).
    /// `retry`: a read that failed on a connection that had closed is sent once more (on a new one).
    func rows(_ query: PostgresQuery, retry: Bool = false) async throws -> [PostgresRow] {
        guard let set = connections.withLock({ $0 }) else { throw GatewayError(.internalServerError, "The metadata store is not open.") }
        let logger = self.logger
        do {
            return try await set.withConnection { c, _ in try await c.query(query, logger: logger).collect() }
        } catch let error as PSQLError where retry && error.serverInfo == nil {
            do {
                return try await set.withConnection { c, _ in try await c.query(query, logger: logger).collect() }
            } catch {
                throw translate(error)
            }
        } catch {
            throw translate(error)
        }
    }

    func translate(_ error: any Error) -> GatewayError {
        if let e = error as? GatewayError { return e }
        guard let e = error as? PSQLError else { return GatewayError(.internalServerError, "Internal server error.", detail: "metadata store: \(error)") }
        guard let info = e.serverInfo else {
            return GatewayError(.connectionFailed, "The metadata store cannot be reached; retry shortly.", detail: "metadata store: \(String(reflecting: e))")
        }
        if info[.sqlState] == "22021" {
            return GatewayError(.validationError, "Text may not contain the NUL character (\\u0000).")
        }
        if info[.sqlState] == "23505" {
            let constraint = info[.constraintName] ?? ""
            if constraint.contains("email") { return GatewayError(.emailTaken, "Account already exists for this email address.") }
            if constraint.contains("username") { return GatewayError(.usernameTaken, "Account already exists for this username.") }
        }
        return GatewayError(.internalServerError, "Internal server error.", detail: "metadata store: \(info[.sqlState] ?? "?") \(info[.message] ?? "")")
    }

    // MARK: Users

    static let userColumns = "object_id, username, email, provider, external_id, password_hash, attributes, roles, roles_refreshed_at, created_at, updated_at"

    public func user(objectId: String) async throws -> UserRecord? {
        try await users("WHERE object_id = $1", [objectId]).first
    }

    public func user(username: String) async throws -> UserRecord? {
        try await users("WHERE username = $1", [username]).first
    }

    public func allUsers() async throws -> [UserRecord] {
        try await users("ORDER BY object_id", [])
    }

    public func findUsers(_ query: UserQuery) async throws -> UserQueryResult {
        let (select, count) = findUsersStatements(query)
        let users = try await rows(select, retry: true).map(decodeUser)
        guard let count else { return UserQueryResult(users: users, count: nil) }
        return UserQueryResult(users: users, count: try await rows(count, retry: true).first.map { try $0.decode(Int.self) } ?? 0)
    }

    /// The page's SELECT and, when the query counts, the count's. Text is ordered by code point (`COLLATE "C"`,
    /// matched by the indexes of migration 3) and a missing email sorts first ascending, as in Parse.
    func findUsersStatements(_ query: UserQuery) -> (select: PostgresQuery, count: PostgresQuery?) {
        let sql = query.sql(placeholder: { "$\($0)" }, byteOrder: #" COLLATE "C""#, nullsExplicit: true)
        var bindings = PostgresBindings()
        for v in sql.binds {
            switch v {
            case .text(let s): bindings.append(s)
            case .millis(let m): bindings.append(m)
            }
        }
        var text = "SELECT \(Self.userColumns) FROM \(table("users")) WHERE \(sql.whereClause) ORDER BY \(sql.orderBy)"
        if let limit = query.limit { text += " LIMIT \(limit)" }
        if query.skip > 0 { text += " OFFSET \(query.skip)" }
        let count = query.count ? PostgresQuery(unsafeSQL: "SELECT count(*) FROM \(table("users")) WHERE \(sql.whereClause)", binds: bindings) : nil
        return (PostgresQuery(unsafeSQL: text, binds: bindings), count)
    }

    /// The distinct role lists, parsed here as a user's are (leniently: whatever is not a list of strings is none).
    public func roleNames() async throws -> [String] {
        let found = try await rows("SELECT DISTINCT roles FROM \(unescaped: table("users"))", retry: true)
        return RoleList.names(try found.map { try $0.decode(String.self) })
    }

    public func usersWithSessions(now: ParseDate) async throws -> [UserRecord] {
        var bindings = PostgresBindings()
        bindings.append(now.millisecondsSince1970)
        let sql = "SELECT \(Self.userColumns) FROM \(table("users")) WHERE object_id IN (SELECT user_id FROM \(table("sessions")) WHERE expires_at > $1)"
        return try await rows(PostgresQuery(unsafeSQL: sql, binds: bindings), retry: true).map(decodeUser)
    }

    public func countUsersWithSessions(now: ParseDate) async throws -> Int {
        let rows = try await rows("SELECT count(DISTINCT user_id) FROM \(unescaped: table("sessions")) WHERE expires_at > \(now.millisecondsSince1970)")
        return try rows.first.map { try $0.decode(Int.self) } ?? 0
    }

    private func users(_ clause: String, _ texts: [String]) async throws -> [UserRecord] {
        // PostgreSQL text cannot hold NUL (it refuses the value): no stored user has one.
        if texts.contains(where: { $0.utf8.contains(0) }) { return [] }
        var bindings = PostgresBindings()
        for t in texts { bindings.append(t) }
        let sql = "SELECT \(Self.userColumns) FROM \(table("users")) \(clause)"
        return try await rows(PostgresQuery(unsafeSQL: sql, binds: bindings), retry: true).map(decodeUser)
    }

    private func decodeUser(_ row: PostgresRow) throws -> UserRecord {
        let (objectId, username, email, provider, externalId, passwordHash, attributesText, rolesText, refreshed, created, updated) =
            try row.decode((String, String, String?, String, String?, String?, String, String, Int64, Int64, Int64).self)
        var attributes: [String: String] = [:]
        if case .object(let o)? = try? JSONParser.parse(Array(attributesText.utf8)) {
            for (k, v) in o { if let s = v.stringValue { attributes[k] = s } }
        }
        let roles = RoleList.parse(rolesText)
        return UserRecord(objectId: objectId, username: username, email: email, provider: provider, externalId: externalId,
                          passwordHash: passwordHash, attributes: attributes, roles: roles,
                          rolesRefreshedAt: ParseDate(millisecondsSince1970: refreshed),
                          createdAt: ParseDate(millisecondsSince1970: created), updatedAt: ParseDate(millisecondsSince1970: updated))
    }

    private func bindings(_ u: UserRecord) -> PostgresBindings {
        var b = PostgresBindings()
        b.append(u.objectId)
        b.append(u.username)
        b.append(u.email)
        b.append(u.provider)
        b.append(u.externalId)
        b.append(u.passwordHash)
        b.append(String(decoding: JSONWriter.serialize(.object(u.attributes.mapValues { .string($0) })), as: UTF8.self))
        b.append(String(decoding: JSONWriter.serialize(.array(u.roles.map { .string($0) })), as: UTF8.self))
        b.append(u.rolesRefreshedAt.millisecondsSince1970)
        b.append(u.createdAt.millisecondsSince1970)
        b.append(u.updatedAt.millisecondsSince1970)
        return b
    }

    public func insertUser(_ user: UserRecord) async throws {
        let sql = "INSERT INTO \(table("users")) (\(Self.userColumns)) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)"
        _ = try await rows(PostgresQuery(unsafeSQL: sql, binds: bindings(user)))
    }

    public func updateUser(_ user: UserRecord) async throws {
        let sql = """
            UPDATE \(table("users")) SET username = $2, email = $3, provider = $4, external_id = $5, password_hash = $6, attributes = $7,
              roles = $8, roles_refreshed_at = $9, created_at = $10, updated_at = $11 WHERE object_id = $1
            """
        _ = try await rows(PostgresQuery(unsafeSQL: sql, binds: bindings(user)))
    }

    public func deleteUser(objectId: String) async throws {
        _ = try await rows("DELETE FROM \(unescaped: table("users")) WHERE object_id = \(objectId)")
    }

    // MARK: Sessions

    public func insertSession(_ s: SessionRecord) async throws {
        _ = try await rows("""
            INSERT INTO \(unescaped: table("sessions")) (token_hash, object_id, user_id, action, auth_provider, installation_id, created_at, expires_at)
            VALUES (\(s.tokenHash), \(s.objectId), \(s.userId), \(s.action), \(s.authProvider), \(s.installationId),
                    \(s.createdAt.millisecondsSince1970), \(s.expiresAt.millisecondsSince1970))
            """)
    }

    public func session(tokenHash: String) async throws -> SessionRecord? {
        let found = try await rows("""
            SELECT object_id, user_id, action, auth_provider, installation_id, created_at, expires_at
            FROM \(unescaped: table("sessions")) WHERE token_hash = \(tokenHash)
            """, retry: true)
        guard let row = found.first else { return nil }
        let (objectId, userId, action, authProvider, installationId, created, expires) =
            try row.decode((String, String, String, String, String?, Int64, Int64).self)
        return SessionRecord(objectId: objectId, tokenHash: tokenHash, userId: userId, action: action, authProvider: authProvider,
                             installationId: installationId, createdAt: ParseDate(millisecondsSince1970: created),
                             expiresAt: ParseDate(millisecondsSince1970: expires))
    }

    public func deleteSession(tokenHash: String) async throws {
        _ = try await rows("DELETE FROM \(unescaped: table("sessions")) WHERE token_hash = \(tokenHash)")
    }

    public func deleteSessions(userId: String) async throws {
        _ = try await rows("DELETE FROM \(unescaped: table("sessions")) WHERE user_id = \(userId)")
    }

    /// Also forgets failed-login counters idle for a day (the longest throttle window).
    public func deleteExpiredSessions(before: ParseDate) async throws -> Int {
        let deleted = try await rows("DELETE FROM \(unescaped: table("sessions")) WHERE expires_at <= \(before.millisecondsSince1970) RETURNING 1")
        _ = try await rows("DELETE FROM \(unescaped: table("admin_sessions")) WHERE expires_at <= \(before.millisecondsSince1970)")
        _ = try await rows("DELETE FROM \(unescaped: table("login_failures")) WHERE last_failure_ms < \(before.millisecondsSince1970 - 86_400_000)")
        return deleted.count
    }

    // MARK: Admin-page sign-ins

    public func insertAdminSession(tokenHash: String, expiresAt: ParseDate) async throws {
        _ = try await rows("INSERT INTO \(unescaped: table("admin_sessions")) (token_hash, expires_at) VALUES (\(tokenHash), \(expiresAt.millisecondsSince1970))")
    }

    public func adminSessionExpiry(tokenHash: String) async throws -> ParseDate? {
        let found = try await rows("SELECT expires_at FROM \(unescaped: table("admin_sessions")) WHERE token_hash = \(tokenHash)", retry: true)
        return try found.first.map { ParseDate(millisecondsSince1970: try $0.decode(Int64.self)) }
    }

    public func deleteAdminSession(tokenHash: String) async throws {
        _ = try await rows("DELETE FROM \(unescaped: table("admin_sessions")) WHERE token_hash = \(tokenHash)")
    }

    // MARK: Shared login counters

    /// A counter's key as stored: PostgreSQL text cannot hold NUL, and a username may (it is a failed login).
    static func storedKey(_ key: String) -> String {
        key.utf8.contains(0) ? key.replacingOccurrences(of: "\u{0}", with: "\\u0000") : key
    }

    public func recordLoginFailure(keys: [String], now: ParseDate, windowSeconds: Int) async throws {
        let keys = keys.map(Self.storedKey)
        let windowMs = Int64(windowSeconds) * 1000
        let t = table("login_failures")
        // One statement: atomic per key however many nodes count at once.
        _ = try await rows("""
            INSERT INTO \(unescaped: t) AS f (key, failures, last_failure_ms)
            SELECT k, 1, \(now.millisecondsSince1970) FROM unnest(\(keys)::text[]) AS k
            ON CONFLICT (key) DO UPDATE SET
              failures = CASE WHEN EXCLUDED.last_failure_ms - f.last_failure_ms >= \(windowMs) THEN 1 ELSE f.failures + 1 END,
              last_failure_ms = GREATEST(f.last_failure_ms, EXCLUDED.last_failure_ms)
            """)
    }

    public func loginFailures(keys: [String]) async throws -> [String: LoginFailureCount] {
        let original = Dictionary(keys.map { (Self.storedKey($0), $0) }, uniquingKeysWith: { a, _ in a })
        let stored = Array(original.keys)
        let found = try await rows("SELECT key, failures, last_failure_ms FROM \(unescaped: table("login_failures")) WHERE key = ANY(\(stored)::text[])", retry: true)
        var out: [String: LoginFailureCount] = [:]
        for row in found {
            let (key, failures, last) = try row.decode((String, Int32, Int64).self)
            out[original[key] ?? key] = LoginFailureCount(failures: Int(failures), lastFailure: ParseDate(millisecondsSince1970: last))
        }
        return out
    }

    public func clearLoginFailures(key: String) async throws {
        _ = try await rows("DELETE FROM \(unescaped: table("login_failures")) WHERE key = \(Self.storedKey(key))")
    }
}

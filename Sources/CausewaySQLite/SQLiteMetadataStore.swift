import CausewayCore
import Foundation
import Logging
import SQLiteNIO
import Synchronization

/// The gateway's own records (users, sessions) in an embedded SQLite file (`metadataStore.sqlite`).
/// Session tokens are stored only as SHA-256 hashes; passwords only as PBKDF2 hashes.
public final class SQLiteMetadataStore: MetadataStore {
    public let path: String
    private let pool = Mutex<SQLiteConnectionPool?>(nil)

    public init(path: String) { self.path = path }

    static let schema = [
        """
        CREATE TABLE IF NOT EXISTS causeway_users (
          object_id TEXT PRIMARY KEY, username TEXT NOT NULL UNIQUE, email TEXT UNIQUE, provider TEXT NOT NULL,
          external_id TEXT, password_hash TEXT, attributes TEXT NOT NULL DEFAULT '{}', roles TEXT NOT NULL DEFAULT '[]',
          roles_refreshed_at INTEGER NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL)
        """,
        """
        CREATE TABLE IF NOT EXISTS causeway_sessions (
          token_hash TEXT PRIMARY KEY, object_id TEXT NOT NULL UNIQUE,
          user_id TEXT NOT NULL REFERENCES causeway_users(object_id) ON DELETE CASCADE,
          action TEXT NOT NULL, auth_provider TEXT NOT NULL, installation_id TEXT,
          created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL)
        """,
        "CREATE INDEX IF NOT EXISTS causeway_sessions_user ON causeway_sessions (user_id)",
        "CREATE INDEX IF NOT EXISTS causeway_sessions_expiry ON causeway_sessions (expires_at)",
        "CREATE TABLE IF NOT EXISTS causeway_admin_sessions (token_hash TEXT PRIMARY KEY, expires_at INTEGER NOT NULL)",
        "CREATE INDEX IF NOT EXISTS causeway_users_created ON causeway_users (created_at)",
    ]

    public func start(logger: Logger) async throws {
        if path != ":memory:" {
            let dir = (path as NSString).deletingLastPathComponent
            if !dir.isEmpty { try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        }
        let p: SQLiteConnectionPool
        do {
            p = try await SQLiteConnectionPool.open(path: path, readers: 2, busyTimeoutMs: 5000, logger: logger)
            try await p.write { c in for statement in SQLiteMetadataStore.schema { _ = try await c.query(statement) } }
        } catch let error as SQLiteError {
            throw GatewayError(.internalServerError, "The metadata store \(path) cannot be opened.", detail: "\(error)")
        }
        pool.withLock { $0 = p }
    }

    public func shutdown() async {
        let p = pool.withLock { s -> SQLiteConnectionPool? in defer { s = nil }; return s }
        await p?.close()
    }

    private func connections() throws -> SQLiteConnectionPool {
        guard let p = pool.withLock({ $0 }) else { throw GatewayError(.internalServerError, "The metadata store is not open.") }
        return p
    }

    // MARK: Users

    static let userColumns = "object_id, username, email, provider, external_id, password_hash, attributes, roles, roles_refreshed_at, created_at, updated_at"

    public func user(objectId: String) async throws -> UserRecord? {
        try await users("WHERE object_id = ?", [.text(objectId)]).first
    }

    public func user(username: String) async throws -> UserRecord? {
        try await users("WHERE username = ?", [.text(username)]).first
    }

    public func allUsers() async throws -> [UserRecord] {
        try await users("ORDER BY object_id", [])
    }

    public func findUsers(_ query: UserQuery) async throws -> UserQueryResult {
        let sql = query.sql(placeholder: { _ in "?" }, byteOrder: "", nullsExplicit: false)
        let binds = sql.binds.map { v -> SQLiteData in
            switch v {
            case .text(let s): return .text(s)
            case .millis(let m): return .integer(Int(m))
            }
        }
        // LIMIT -1: no limit, for an OFFSET alone.
        let page = query.limit.map { " LIMIT \($0) OFFSET \(query.skip)" } ?? (query.skip > 0 ? " LIMIT -1 OFFSET \(query.skip)" : "")
        let users = try await users("WHERE \(sql.whereClause) ORDER BY \(sql.orderBy)\(page)", binds)
        guard query.count else { return UserQueryResult(users: users, count: nil) }
        let rows = try await run { try await self.connections().read("SELECT count(*) AS n FROM causeway_users WHERE \(sql.whereClause)", binds) }
        return UserQueryResult(users: users, count: rows.first?.column("n")?.integer ?? 0)
    }

    /// The distinct role lists, parsed here as a user's are (leniently: whatever is not a list of strings is none).
    public func roleNames() async throws -> [String] {
        let rows = try await run { try await self.connections().read("SELECT DISTINCT roles FROM causeway_users", []) }
        return RoleList.names(rows.compactMap { $0.column("roles")?.string })
    }

    public func usersWithSessions(now: ParseDate) async throws -> [UserRecord] {
        try await users("WHERE object_id IN (SELECT user_id FROM causeway_sessions WHERE expires_at > ?)", [.integer(Int(now.millisecondsSince1970))])
    }

    public func countUsersWithSessions(now: ParseDate) async throws -> Int {
        let rows = try await run {
            try await self.connections().read("SELECT count(DISTINCT user_id) AS n FROM causeway_sessions WHERE expires_at > ?",
                                              [.integer(Int(now.millisecondsSince1970))])
        }
        return rows.first?.column("n")?.integer ?? 0
    }

    private func users(_ clause: String, _ binds: [SQLiteData]) async throws -> [UserRecord] {
        let rows = try await run { try await self.connections().read("SELECT \(SQLiteMetadataStore.userColumns) FROM causeway_users \(clause)", binds) }
        return rows.map { row in
            func text(_ c: String) -> String? { row.column(c)?.string }
            func date(_ c: String) -> ParseDate { ParseDate(millisecondsSince1970: Int64(row.column(c)?.integer ?? 0)) }
            var attributes: [String: String] = [:]
            if let a = text("attributes"), case .object(let o)? = try? JSONParser.parse(Array(a.utf8)) {
                for (k, v) in o { if let s = v.stringValue { attributes[k] = s } }
            }
            let roles = text("roles").map(RoleList.parse) ?? []
            return UserRecord(objectId: text("object_id") ?? "", username: text("username") ?? "", email: text("email"),
                              provider: text("provider") ?? "", externalId: text("external_id"), passwordHash: text("password_hash"),
                              attributes: attributes, roles: roles, rolesRefreshedAt: date("roles_refreshed_at"),
                              createdAt: date("created_at"), updatedAt: date("updated_at"))
        }
    }

    private func binds(_ u: UserRecord) -> [SQLiteData] {
        func opt(_ s: String?) -> SQLiteData { s.map { .text($0) } ?? .null }
        let attributes = String(decoding: JSONWriter.serialize(.object(u.attributes.mapValues { .string($0) })), as: UTF8.self)
        let roles = String(decoding: JSONWriter.serialize(.array(u.roles.map { .string($0) })), as: UTF8.self)
        return [.text(u.objectId), .text(u.username), opt(u.email), .text(u.provider), opt(u.externalId), opt(u.passwordHash),
                .text(attributes), .text(roles), .integer(Int(u.rolesRefreshedAt.millisecondsSince1970)),
                .integer(Int(u.createdAt.millisecondsSince1970)), .integer(Int(u.updatedAt.millisecondsSince1970))]
    }

    public func insertUser(_ user: UserRecord) async throws {
        let b = binds(user)
        try await run {
            _ = try await self.connections().write { c in
                try await c.query("INSERT INTO causeway_users (\(SQLiteMetadataStore.userColumns)) VALUES (?,?,?,?,?,?,?,?,?,?,?)", b)
            }
        }
    }

    public func updateUser(_ user: UserRecord) async throws {
        var b = Array(binds(user).dropFirst())
        b.append(.text(user.objectId))
        try await run {
            _ = try await self.connections().write { c in
                try await c.query("""
                    UPDATE causeway_users SET username = ?, email = ?, provider = ?, external_id = ?, password_hash = ?, attributes = ?,
                      roles = ?, roles_refreshed_at = ?, created_at = ?, updated_at = ? WHERE object_id = ?
                    """, b)
            }
        }
    }

    public func deleteUser(objectId: String) async throws {
        try await run {
            _ = try await self.connections().write { c in try await c.query("DELETE FROM causeway_users WHERE object_id = ?", [.text(objectId)]) }
        }
    }

    // MARK: Sessions

    public func insertSession(_ s: SessionRecord) async throws {
        let b: [SQLiteData] = [.text(s.tokenHash), .text(s.objectId), .text(s.userId), .text(s.action), .text(s.authProvider),
                               s.installationId.map { .text($0) } ?? .null,
                               .integer(Int(s.createdAt.millisecondsSince1970)), .integer(Int(s.expiresAt.millisecondsSince1970))]
        try await run {
            _ = try await self.connections().write { c in
                try await c.query("""
                    INSERT INTO causeway_sessions (token_hash, object_id, user_id, action, auth_provider, installation_id, created_at, expires_at)
                    VALUES (?,?,?,?,?,?,?,?)
                    """, b)
            }
        }
    }

    public func session(tokenHash: String) async throws -> SessionRecord? {
        let rows = try await run {
            try await self.connections().read("""
                SELECT token_hash, object_id, user_id, action, auth_provider, installation_id, created_at, expires_at
                FROM causeway_sessions WHERE token_hash = ?
                """, [.text(tokenHash)])
        }
        return rows.first.map { row in
            SessionRecord(objectId: row.column("object_id")?.string ?? "", tokenHash: tokenHash, userId: row.column("user_id")?.string ?? "",
                          action: row.column("action")?.string ?? "", authProvider: row.column("auth_provider")?.string ?? "",
                          installationId: row.column("installation_id")?.string,
                          createdAt: ParseDate(millisecondsSince1970: Int64(row.column("created_at")?.integer ?? 0)),
                          expiresAt: ParseDate(millisecondsSince1970: Int64(row.column("expires_at")?.integer ?? 0)))
        }
    }

    public func deleteSession(tokenHash: String) async throws {
        try await run {
            _ = try await self.connections().write { c in try await c.query("DELETE FROM causeway_sessions WHERE token_hash = ?", [.text(tokenHash)]) }
        }
    }

    public func deleteSessions(userId: String) async throws {
        try await run {
            _ = try await self.connections().write { c in try await c.query("DELETE FROM causeway_sessions WHERE user_id = ?", [.text(userId)]) }
        }
    }

    public func deleteExpiredSessions(before: ParseDate) async throws -> Int {
        try await run {
            try await self.connections().write { c in
                _ = try await c.query("DELETE FROM causeway_sessions WHERE expires_at <= ?", [.integer(Int(before.millisecondsSince1970))])
                let n = Int(try await c.query("SELECT changes() AS n").first?.column("n")?.integer ?? 0)
                _ = try await c.query("DELETE FROM causeway_admin_sessions WHERE expires_at <= ?", [.integer(Int(before.millisecondsSince1970))])
                return n
            }
        }
    }

    // MARK: Admin-page sign-ins

    public func insertAdminSession(tokenHash: String, expiresAt: ParseDate) async throws {
        try await run {
            _ = try await self.connections().write { c in
                try await c.query("INSERT INTO causeway_admin_sessions (token_hash, expires_at) VALUES (?,?)",
                                  [.text(tokenHash), .integer(Int(expiresAt.millisecondsSince1970))])
            }
        }
    }

    public func adminSessionExpiry(tokenHash: String) async throws -> ParseDate? {
        let rows = try await run {
            try await self.connections().read("SELECT expires_at FROM causeway_admin_sessions WHERE token_hash = ?", [.text(tokenHash)])
        }
        return rows.first.map { ParseDate(millisecondsSince1970: Int64($0.column("expires_at")?.integer ?? 0)) }
    }

    public func deleteAdminSession(tokenHash: String) async throws {
        try await run {
            _ = try await self.connections().write { c in try await c.query("DELETE FROM causeway_admin_sessions WHERE token_hash = ?", [.text(tokenHash)]) }
        }
    }

    /// Store failures as Parse errors: unique violations as 202/203, anything else as an internal error.
    private func run<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        do { return try await body() } catch let error as SQLiteError {
            let text = "\(error)"
            if text.contains("UNIQUE"), text.contains("causeway_users.username") {
                throw GatewayError(.usernameTaken, "Account already exists for this username.")
            }
            if text.contains("UNIQUE"), text.contains("causeway_users.email") {
                throw GatewayError(.emailTaken, "Account already exists for this email address.")
            }
            throw GatewayError(.internalServerError, "Internal server error.", detail: "metadata store: \(text)")
        }
    }
}

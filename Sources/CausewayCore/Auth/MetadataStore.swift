import Logging

/// Where the gateway keeps its own records: users and sessions. The embedded SQLite store implements it.
public protocol MetadataStore: Sendable {
    func start(logger: Logger) async throws
    func shutdown() async

    func user(objectId: String) async throws -> UserRecord?
    /// Usernames are unique across providers (compared exactly).
    func user(username: String) async throws -> UserRecord?
    func allUsers() async throws -> [UserRecord]
    /// `GET /users`: the users matching `query` on the store's own columns, sorted and paged by the store.
    func findUsers(_ query: UserQuery) async throws -> UserQueryResult
    /// Every role some user holds (`GET /roles`), collected by the store.
    func roleNames() async throws -> [String]
    /// Throws 202 for a taken username and 203 for a taken email.
    func insertUser(_ user: UserRecord) async throws
    func updateUser(_ user: UserRecord) async throws
    func deleteUser(objectId: String) async throws

    func insertSession(_ session: SessionRecord) async throws
    func session(tokenHash: String) async throws -> SessionRecord?
    func deleteSession(tokenHash: String) async throws
    func deleteSessions(userId: String) async throws
    /// Removes expired sessions (and expired admin-page sign-ins); returns how many sessions.
    func deleteExpiredSessions(before: ParseDate) async throws -> Int
    /// Users with at least one unexpired session (whose roles are kept fresh).
    func usersWithSessions(now: ParseDate) async throws -> [UserRecord]
    /// How many users have at least one unexpired session (the admin page), counted by the store.
    func countUsersWithSessions(now: ParseDate) async throws -> Int

    /// Admin-page sign-ins with the master key, by the hash of their cookie's token: kept here so that every
    /// node sharing the store honours them and a sign-out on one ends them on all.
    func insertAdminSession(tokenHash: String, expiresAt: ParseDate) async throws
    /// When the admin sign-in ends, or nil if there is none (signed out, or removed as expired).
    func adminSessionExpiry(tokenHash: String) async throws -> ParseDate?
    func deleteAdminSession(tokenHash: String) async throws

    /// `causeway check`: whether the store is reachable and its schema current, changing nothing.
    func verify(logger: Logger) async -> [CheckFinding]
}

extension MetadataStore {
    public func verify(logger: Logger) async -> [CheckFinding] { [] }
    /// Reads the users to count them: stores override it with a count.
    public func countUsersWithSessions(now: ParseDate) async throws -> Int { try await usersWithSessions(now: now).count }
}

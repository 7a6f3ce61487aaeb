import CausewayCore
import Crypto
import Logging
import Synchronization

/// Signed-in admin browsers. The cookie (HttpOnly, SameSite=Strict, scoped to the admin path) carries a token
/// that every node sharing the metadata store honours, so the page works behind a round-robin load balancer:
///
/// - A user who signs in gets a session of their own kind (`SessionRecord.adminAction`, 8 hours) in the store:
///   it opens the admin page only (the Parse API refuses it, and an API token does not open the page). It is
///   validated on every request, so signing out, its expiry, a deleted account or a lost role end access on
///   every node.
/// - The master key: a random `a:` token recorded in the store's admin sign-ins by a hash of the token and
///   the master key, so signing out on one node ends it on all, and a changed master key ends every one.
///   Without a store (a gateway without identity providers), or while the store cannot be written, the
///   sign-in lives in this node's memory (a restart ends it).
///
/// The CSRF token of a sign-in is an HMAC keyed with its cookie token: every node computes the same one
/// without storing it, and a page that cannot read the (HttpOnly) cookie cannot compute it.
final class AdminSessions: Sendable {
    struct Session: Sendable {
        /// The cookie's value.
        let token: String
        let csrf: String
    }

    enum Resolved: Sendable {
        case master(Session)
        case user(Session, UserRecord)
    }

    static let lifetimeMs = Int64(SessionRecord.adminLifetimeSeconds) * 1000
    /// Master-key sign-ins kept in memory: the oldest goes first.
    static let memoryCapacity = 1000
    static let masterPrefix = "a:"

    let auth: AuthService?
    let logger: Logger
    let now: @Sendable () -> ParseDate
    /// Master-key sign-ins by stored hash (creation time), when there is no store or it could not be written.
    private let inMemory = Mutex<[String: Int64]>([:])

    init(auth: AuthService?, logger: Logger, now: @escaping @Sendable () -> ParseDate = { ParseDate.now() }) {
        self.auth = auth
        self.logger = logger
        self.now = now
    }

    /// What is stored of a master-key sign-in: its token hashed with the master key, so that a new key ends them.
    static func storedHash(_ token: String, masterKey: String) -> String {
        SessionToken.hash(token + "\n" + masterKey)
    }

    /// Signs in with the master key (already checked by the caller).
    func createMaster(masterKey: String) async -> Session {
        let token = Self.masterPrefix + String(SessionToken.make().dropFirst(2)) + String(SessionToken.make().dropFirst(2))
        let created = now().millisecondsSince1970
        let hash = Self.storedHash(token, masterKey: masterKey)
        do {
            guard let auth else { throw GatewayError(.internalServerError, "no metadata store") }
            try await auth.store.insertAdminSession(tokenHash: hash, expiresAt: ParseDate(millisecondsSince1970: created + Self.lifetimeMs))
        } catch {
            if auth != nil {
                logger.warning("admin page: the metadata store cannot record the master-key sign-in; it holds on this node only",
                               metadata: ["error": .string(String(describing: error))])
            }
            inMemory.withLock { all in
                if all.count >= Self.memoryCapacity, let oldest = all.min(by: { $0.value < $1.value }) { all[oldest.key] = nil }
                all[hash] = created
            }
        }
        return Session(token: token, csrf: Self.csrf(for: token))
    }

    /// A user signed in through the identity providers with an admin-page session (`AuthService.logIn(forAdminPage:)`).
    func user(token: String) -> Session {
        Session(token: token, csrf: Self.csrf(for: token))
    }

    /// The sign-in a cookie names, or nil (none, signed out, expired, another master key, a Parse API token). A
    /// user's is returned with the user as the store has them now; whether they hold the admin role is the
    /// caller's check.
    func resolve(_ token: String, masterKey: String?) async -> Resolved? {
        let now = now().millisecondsSince1970
        if token.hasPrefix(Self.masterPrefix) {
            guard let masterKey else { return nil }
            let hash = Self.storedHash(token, masterKey: masterKey)
            let inMemory = inMemory.withLock { all -> Bool? in
                guard let created = all[hash] else { return nil }
                if now - created >= Self.lifetimeMs { all[hash] = nil; return false }
                return true
            }
            if inMemory == nil {
                guard let auth, let expiry = try? await auth.store.adminSessionExpiry(tokenHash: hash), now < expiry.millisecondsSince1970 else { return nil }
            } else if inMemory == false {
                return nil
            }
            return .master(Session(token: token, csrf: Self.csrf(for: token)))
        }
        guard let auth, let (user, session) = try? await auth.validateAdmin(token: token),
              now - session.createdAt.millisecondsSince1970 < Self.lifetimeMs else { return nil }
        return .user(Session(token: token, csrf: Self.csrf(for: token)), user)
    }

    /// Ends the sign-in a cookie names, on every node.
    func end(_ token: String, masterKey: String?) async {
        if token.hasPrefix(Self.masterPrefix) {
            guard let masterKey else { return }
            let hash = Self.storedHash(token, masterKey: masterKey)
            inMemory.withLock { $0[hash] = nil }
            try? await auth?.store.deleteAdminSession(tokenHash: hash)
        } else if let auth, (try? await auth.validateAdmin(token: token)) != nil {
            // Only an admin-page session: a Parse API token in the cookie is not this page's to end.
            try? await auth.logOut(token: token)
        }
    }

    /// HMAC-SHA256 keyed with the cookie token, as hex.
    static func csrf(for token: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Array("causeway admin csrf".utf8), using: SymmetricKey(data: Array(token.utf8)))
        return SessionToken.hex(mac)
    }
}

import CausewayCore
import Crypto
import Synchronization

/// Signed-in admin browsers. The cookie (HttpOnly, SameSite=Strict, scoped to the admin path) carries a token
/// that every node sharing the metadata store honours, so the page works behind a round-robin load balancer:
///
/// - A user who signs in gets an ordinary Parse session (as `/login`); the cookie carries its token, which is
///   validated through the store on every request. Logging out (here or through the API), an expired session
///   or a lost role end access on every node.
/// - The master key: a random `a:` token whose hash is recorded in the store's admin sign-ins, so signing out
///   on one node ends it on all. A gateway without users has no store: these sign-ins live in its memory and a
///   restart ends them.
///
/// Either way a sign-in lasts at most `lifetimeMs` (8 hours). The CSRF token of a sign-in is an HMAC keyed
/// with its cookie token: every node computes the same one without storing it, and a page that cannot read
/// the (HttpOnly) cookie cannot compute it.
final class AdminSessions: Sendable {
    struct Session: Sendable {
        /// The cookie's value.
        let token: String
        let csrf: String
        /// nil: signed in with the master key.
        let parseToken: String?
    }

    enum Resolved: Sendable {
        case master(Session)
        case user(Session, UserRecord)
    }

    static let lifetimeMs: Int64 = 8 * 3600 * 1000
    /// Master-key sign-ins kept in memory (a gateway without a store): the oldest goes first.
    static let memoryCapacity = 1000
    static let masterPrefix = "a:"

    let auth: AuthService?
    let now: @Sendable () -> ParseDate
    /// Master-key sign-ins by token hash (creation time), when there is no store.
    private let inMemory = Mutex<[String: Int64]>([:])

    init(auth: AuthService?, now: @escaping @Sendable () -> ParseDate = { ParseDate.now() }) {
        self.auth = auth
        self.now = now
    }

    /// Signs in with the master key (already checked by the caller).
    func createMaster() async throws -> Session {
        let token = Self.masterPrefix + String(SessionToken.make().dropFirst(2)) + String(SessionToken.make().dropFirst(2))
        let created = now().millisecondsSince1970
        if let auth {
            try await auth.store.insertAdminSession(tokenHash: SessionToken.hash(token),
                                                    expiresAt: ParseDate(millisecondsSince1970: created + Self.lifetimeMs))
        } else {
            inMemory.withLock { all in
                if all.count >= Self.memoryCapacity, let oldest = all.min(by: { $0.value < $1.value }) { all[oldest.key] = nil }
                all[SessionToken.hash(token)] = created
            }
        }
        return Session(token: token, csrf: Self.csrf(for: token), parseToken: nil)
    }

    /// A user signed in through the identity providers with the Parse session `parseToken`.
    func user(parseToken: String) -> Session {
        Session(token: parseToken, csrf: Self.csrf(for: parseToken), parseToken: parseToken)
    }

    /// The sign-in a cookie names, or nil (none, signed out, expired, or older than `lifetimeMs`). A user's is
    /// returned with the user as the store has them now; whether they hold the admin role is the caller's check.
    func resolve(_ token: String) async -> Resolved? {
        let now = now().millisecondsSince1970
        if token.hasPrefix(Self.masterPrefix) {
            let hash = SessionToken.hash(token)
            if let auth {
                guard let expiry = try? await auth.store.adminSessionExpiry(tokenHash: hash), now < expiry.millisecondsSince1970 else { return nil }
            } else {
                let live = inMemory.withLock { all -> Bool in
                    guard let created = all[hash] else { return false }
                    if now - created >= Self.lifetimeMs { all[hash] = nil; return false }
                    return true
                }
                guard live else { return nil }
            }
            return .master(Session(token: token, csrf: Self.csrf(for: token), parseToken: nil))
        }
        guard let auth, let (user, session) = try? await auth.validate(token: token),
              now - session.createdAt.millisecondsSince1970 < Self.lifetimeMs else { return nil }
        return .user(Session(token: token, csrf: Self.csrf(for: token), parseToken: token), user)
    }

    /// Ends the sign-in a cookie names: a user's Parse session is logged out (on every node).
    func end(_ token: String) async {
        if token.hasPrefix(Self.masterPrefix) {
            let hash = SessionToken.hash(token)
            if let auth { try? await auth.store.deleteAdminSession(tokenHash: hash) } else { inMemory.withLock { $0[hash] = nil } }
        } else if let auth {
            try? await auth.logOut(token: token)
        }
    }

    /// HMAC-SHA256 keyed with the cookie token, as hex.
    static func csrf(for token: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Array("causeway admin csrf".utf8), using: SymmetricKey(data: Array(token.utf8)))
        return mac.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
    }
}

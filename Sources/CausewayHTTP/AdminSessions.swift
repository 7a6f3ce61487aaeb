import CausewayCore
import Synchronization

/// Signed-in admin browsers, by the random id in their cookie (HttpOnly, SameSite=Strict, scoped to the
/// admin path). A session holds its CSRF token and either the master key's authority or a Parse session
/// token, which is validated again on every request (logging out or losing the role ends access).
/// In memory: a restart signs everyone out.
final class AdminSessions: Sendable {
    struct Session: Sendable {
        let id: String
        let csrf: String
        /// nil: signed in with the master key.
        let parseToken: String?
        let username: String
        let createdMs: Int64
    }

    static let lifetimeMs: Int64 = 8 * 3600 * 1000
    static let capacity = 1000
    private let sessions = Mutex<[String: Session]>([:])

    func create(parseToken: String?, username: String) -> Session {
        let s = Session(id: String(SessionToken.make().dropFirst(2)) + String(SessionToken.make().dropFirst(2)), csrf: String(SessionToken.make().dropFirst(2)),
                        parseToken: parseToken, username: username, createdMs: ParseDate.now().millisecondsSince1970)
        sessions.withLock { all in
            if all.count >= AdminSessions.capacity, let oldest = all.values.min(by: { $0.createdMs < $1.createdMs }) {
                all[oldest.id] = nil
            }
            all[s.id] = s
        }
        return s
    }

    func session(_ id: String) -> Session? {
        let now = ParseDate.now().millisecondsSince1970
        return sessions.withLock { all in
            guard let s = all[id] else { return nil }
            if now - s.createdMs > AdminSessions.lifetimeMs {
                all[id] = nil
                return nil
            }
            return s
        }
    }

    func end(_ id: String) { sessions.withLock { $0[id] = nil } }
}

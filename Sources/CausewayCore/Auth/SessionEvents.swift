import Synchronization

/// Announces sessions that ended and users whose sessions must be checked again, so that long-lived
/// consumers of a session (LiveQuery subscriptions) stop serving it at once instead of at their next check.
public final class SessionEvents: Sendable {
    public enum Event: Sendable, Equatable {
        /// One session ended (logout); the hash is `SessionToken.hash(token)`.
        case ended(tokenHash: String)
        /// A user's account, roles or sessions changed (role refresh, revoked sessions, deleted user):
        /// every session of theirs must be validated again.
        case userChanged(userId: String)
    }

    private struct State {
        var listeners: [Int: AsyncStream<Event>.Continuation] = [:]
        var next = 0
    }

    private let state = Mutex(State())

    public init() {}

    public func publish(_ event: Event) {
        for listener in state.withLock({ Array($0.listeners.values) }) { listener.yield(event) }
    }

    /// Events from now on; at most `bufferSize` unread ones are kept (older ones are dropped first).
    public func subscribe(bufferSize: Int = 1024) -> AsyncStream<Event> {
        let (stream, continuation) = AsyncStream<Event>.makeStream(bufferingPolicy: .bufferingNewest(max(1, bufferSize)))
        let id = state.withLock { s -> Int in
            defer { s.next += 1 }
            s.listeners[s.next] = continuation
            return s.next
        }
        continuation.onTermination = { [weak self] _ in self?.state.withLock { _ = $0.listeners.removeValue(forKey: id) } }
        return stream
    }
}

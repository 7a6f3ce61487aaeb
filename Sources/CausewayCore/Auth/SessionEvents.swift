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

    private let events = Broadcast<Event>()

    public init() {}

    public func publish(_ event: Event) { events.publish(event) }

    /// Events from now on; at most `bufferSize` unread ones are kept (older ones are dropped first).
    public func subscribe(bufferSize: Int = 1024) -> AsyncStream<Event> { events.subscribe(bufferSize: bufferSize) }
}

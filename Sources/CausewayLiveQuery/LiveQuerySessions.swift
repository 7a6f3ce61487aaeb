import CausewayCore

/// Where LiveQuery resolves session tokens and learns that sessions ended. `AuthService` is the real one;
/// tests pass a fake.
public protocol LiveQuerySessions: Sendable {
    /// The caller behind a token and when the session expires; throws 209 for an unknown or expired token.
    func resolve(token: String) async throws -> LiveQueryIdentity
    /// Logouts and user changes from now on.
    func events() -> AsyncStream<SessionEvents.Event>
}

/// A subscriber's identity: who they are and which session it comes from.
public struct LiveQueryIdentity: Sendable {
    public var caller: Caller
    /// `SessionToken.hash` of the session's token (nil: no session, e.g. anonymous or master key).
    public var tokenHash: String?
    public var expiresAt: ParseDate?

    public init(caller: Caller, tokenHash: String? = nil, expiresAt: ParseDate? = nil) {
        self.caller = caller
        self.tokenHash = tokenHash
        self.expiresAt = expiresAt
    }
}

extension AuthService: LiveQuerySessions {
    public func resolve(token: String) async throws -> LiveQueryIdentity {
        let (user, session) = try await validate(token: token)
        return LiveQueryIdentity(caller: caller(for: user), tokenHash: session.tokenHash, expiresAt: session.expiresAt)
    }

    public func events() -> AsyncStream<SessionEvents.Event> { sessionEvents.subscribe() }
}

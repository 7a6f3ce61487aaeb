/// Something that makes sessions cached in memory wrong: told to the other gateway nodes, which drop their copies.
public enum SessionEvent: Sendable, Equatable {
    /// One session ended (logout). Only the token's SHA-256 travels, never the token.
    case sessionEnded(tokenHash: String)
    /// A user's account, roles or sessions changed (role refresh, revoked or deleted account): every cached
    /// session of that user is dropped.
    case userChanged(userId: String)
}

/// Failed-login counters kept where every gateway node sees them (the PostgreSQL metadata store), so that
/// spreading guesses over several nodes does not multiply the allowance. Keys are `LoginThrottle`'s
/// (`u:` and the canonical account, `a:` and the client address).
public protocol SharedLoginCounters: Sendable {
    /// Adds one failure to each key at `now`, atomically per key; a count whose last failure is at least
    /// `windowSeconds` old starts again at one.
    func recordLoginFailure(keys: [String], now: ParseDate, windowSeconds: Int) async throws
    /// The count and the last failure of each key that has one.
    func loginFailures(keys: [String]) async throws -> [String: LoginFailureCount]
    func clearLoginFailures(key: String) async throws
}

public struct LoginFailureCount: Sendable, Equatable {
    public var failures: Int
    public var lastFailure: ParseDate
    public init(failures: Int, lastFailure: ParseDate) {
        self.failures = failures
        self.lastFailure = lastFailure
    }
}

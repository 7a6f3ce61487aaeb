/// Session and login settings (`sessions:` and `loginThrottle:` in `causeway.yaml`).
public struct AuthSettings: Sendable, Equatable {
    /// How long a session token is valid after login.
    public var sessionLifetimeSeconds = 30 * 24 * 3600
    /// How often a directory user's roles and attributes are re-read while they have a session.
    public var roleRefreshSeconds = 300
    public var throttle = LoginThrottle.Policy()

    public init() {}

    public static func read(sessions: YAMLReader?, throttle: YAMLReader?) throws(ConfigError) -> AuthSettings {
        var s = AuthSettings()
        if let r = sessions {
            s.sessionLifetimeSeconds = try r.int("lifetimeSeconds", default: s.sessionLifetimeSeconds, range: 60...(10 * 365 * 86400))
            s.roleRefreshSeconds = try r.int("roleRefreshSeconds", default: s.roleRefreshSeconds, range: 1...86400)
            try r.finish()
        }
        if let r = throttle {
            s.throttle.maxFailures = try r.int("maxFailuresPerUser", default: s.throttle.maxFailures, range: 1...1000)
            s.throttle.maxFailuresPerAddress = try r.int("maxFailuresPerAddress", default: s.throttle.maxFailuresPerAddress, range: 1...100_000)
            s.throttle.windowSeconds = try r.int("windowSeconds", default: s.throttle.windowSeconds, range: 1...86400)
            try r.finish()
        }
        return s
    }
}

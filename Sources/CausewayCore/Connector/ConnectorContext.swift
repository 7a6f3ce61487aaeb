import Logging

/// What a connector call knows of the request it serves: who asks (for sources that answer per user,
/// such as a REST API with `forwardIdentity`) and the request's logger, whose metadata carries the
/// request id, so every line a connector logs can be traced to its request.
public struct ConnectorContext: Sendable {
    public var caller: Caller
    public var logger: Logger

    public init(caller: Caller, logger: Logger) {
        self.caller = caller
        self.logger = logger
    }

    /// For work the gateway does on its own behalf (checks, seeding, background refreshes of a shared answer).
    public static func system(_ logger: Logger) -> ConnectorContext { ConnectorContext(caller: .master, logger: logger) }
}

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

    /// Logger metadata the HTTP layer sets (to "1") when a master-key request carries `X-Causeway-Explain: 1`:
    /// a connector that can explain its statements logs their plans for that request.
    public static let explainMetadataKey = "causeway.explain"

    /// Whether this request asked for the plans of the statements run for it (master key only).
    public var explainRequested: Bool {
        guard caller.isMaster, case .string("1")? = logger[metadataKey: ConnectorContext.explainMetadataKey] else { return false }
        return true
    }

    /// For work the gateway does on its own behalf (checks, seeding, background refreshes of a shared answer).
    public static func system(_ logger: Logger) -> ConnectorContext { ConnectorContext(caller: .master, logger: logger) }
}

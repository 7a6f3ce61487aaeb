/// A connector that can run several operations as one all-or-nothing transaction
/// (used by `/batch` with `"transaction": true`).
public protocol TransactionalConnector: Connector {
    /// Runs `body` with a connector bound to one transaction: committed when `body` returns,
    /// rolled back when it throws.
    func withTransaction<T: Sendable>(_ body: @Sendable (any Connector) async throws -> T) async throws -> T
}

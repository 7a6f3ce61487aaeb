import CausewayCore
import Logging
import PostgresNIO

extension PostgresConnector: TransactionalConnector {
    public func withTransaction<T: Sendable>(_ body: @Sendable (any Connector) async throws -> T) async throws -> T {
        try await inTransaction { connection in try await body(TransactionBoundConnector(base: self, connection: connection)) }
    }

    /// Runs `body` on one pooled connection inside `BEGIN … COMMIT`; rolled back when it throws.
    func inTransaction<T: Sendable>(_ body: @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        let client = try client()
        do {
            return try await client.withTransaction(logger: logger) { connection in try await body(connection) }
        } catch let error as PostgresTransactionError {
            if let closure = error.closureError { throw closure }
            throw GatewayError(.connectionFailed, "The PostgreSQL transaction of connector '\(name)' failed; nothing was changed.", detail: String(reflecting: error))
        }
    }
}

/// Its operations bound to one connection inside a transaction, join tables included (`TransactionBoundConnector`:
/// an owner's row and its links, or a transactional batch's relation changes, commit or roll back together).
extension PostgresConnector: ConnectionBoundConnector {
    public typealias BoundConnection = PostgresConnection
}

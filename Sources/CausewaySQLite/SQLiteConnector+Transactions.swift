import CausewayCore
import Logging
import SQLiteNIO

/// Transactions of the embedded store: `BEGIN IMMEDIATE … COMMIT` on the single writer connection, held for the
/// whole body (other writers wait; readers of a file database keep reading the last commit). Used for an owner's
/// row and its join-table links written together and for `/batch` with `"transaction": true`.
extension SQLiteConnector: TransactionalConnector {
    public func withTransaction<T: Sendable>(_ body: @Sendable (any Connector) async throws -> T) async throws -> T {
        try await run {
            try await self.connections().transaction { c in try await body(TransactionBoundConnector(base: self, connection: c)) }
        }
    }

    /// One read on `c` (inside a transaction) or on the pool's readers.
    func read(_ sql: String, _ binds: [SQLiteData], on c: SQLiteConnection?) async throws -> [SQLiteRow] {
        if let c { return try await c.query(sql, binds) }
        return try await connections().read(sql, binds)
    }

    /// Statements on `c` (inside a transaction) or on the writer with exclusive use of it.
    func write<T: Sendable>(on c: SQLiteConnection?, _ body: (SQLiteConnection) async throws -> T) async throws -> T {
        if let c { return try await body(c) }
        return try await connections().write(body)
    }

    /// Statements that must apply together: on `c`, part of the caller's transaction; otherwise in one of their own.
    func transaction<T: Sendable>(on c: SQLiteConnection?, _ body: (SQLiteConnection) async throws -> T) async throws -> T {
        if let c { return try await body(c) }
        return try await connections().transaction(body)
    }
}

/// Its operations on the writer connection inside one transaction, join tables included
/// (`TransactionBoundConnector`, which is not itself transactional: a transaction inside would wait for the writer
/// it holds).
extension SQLiteConnector: ConnectionBoundConnector {
    public typealias BoundConnection = SQLiteConnection
}

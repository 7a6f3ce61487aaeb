import CausewayCore
import Logging
import PostgresNIO

import Synchronization

/// Running statements: on a shared connection (prepared) or a transaction's, within the deadline, with
/// PostgreSQL's failures translated into Parse errors.
extension PostgresConnector {
    /// Runs `body` on the transaction's connection, or on a shared one, within the statement deadline
    /// (statement timeout + connect timeout + 2 s): past it the connection is closed, which fails the statements
    /// waiting on it, and the caller gets a timeout error. No request waits forever for a server that stopped
    /// answering or a connection that died under it. Failures become Parse errors here.
    func statement<T>(on connection: PostgresConnection?, _ body: (PostgresConnection, PreparedStatementCache?) async throws -> T) async throws -> T {
        do {
            if let connection { return try await bounded(connection, retire: { $0.close().whenComplete { _ in _ = connection } }) { try await body($0, nil) } }
            let set = try connections()
            return try await set.withConnection { c, prepared in try await bounded(c, retire: set.retire) { try await body($0, prepared) } }
        } catch {
            // Anything else PostgresNIO passes on (a socket error, say) means the connection failed.
            throw translate(error, otherwise: { GatewayError(.connectionFailed, "The PostgreSQL source of connector '\(name)' is unreachable; retry the request.", detail: String(reflecting: $0)) })
        }
    }

    /// Runs `statement` and reads all its rows: prepared on a shared connection, unprepared in a transaction.
    func run(_ statement: PostgresStatement, on connection: PostgresConnection?) async throws -> [PostgresRow] {
        let logger = self.logger
        logger.debug("postgres statement", metadata: ["causeway.connector": .string(name), "causeway.sql": .string(statement.sql)])
        return try await self.statement(on: connection) { c, prepared in
            if let answer = prepared?.execute(statement, on: c) { return try await answer.get() }
            return try await c.query(statement.query, logger: logger).collect()
        }
    }

    var deadline: Duration { .milliseconds(settings.statementTimeoutMs + settings.connectTimeoutMs + 2000) }

    func bounded<T>(_ connection: PostgresConnection, retire: @escaping @Sendable (PostgresConnection) -> Void,
                            _ body: (PostgresConnection) async throws -> T) async throws -> T {
        let flag = ExpiryFlag()
        let id = watchdog.register(.now + deadline) {
            flag.set()
            retire(connection)
        }
        defer { watchdog.unregister(id) }
        do {
            return try await body(connection)
        } catch where flag.isSet {
            throw GatewayError(.timeout, "PostgreSQL did not answer in time (it may be unreachable or overloaded); retry the request.",
                               detail: String(reflecting: error))
        }
    }

    // MARK: Errors

    /// Runs work that has no connection of its own to close (the pooled client's calls, opening the shared
    /// connections) in a task of its own with the deadline, translating failures into Parse errors.
    func run<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        do {
            return try await watchdog.run(deadline, onTimeout: {
                GatewayError(.timeout, "PostgreSQL did not answer in time (it may be unreachable or overloaded); retry the request.")
            }, body)
        } catch {
            throw translate(error)
        }
    }

    func translate(_ error: any Error, otherwise: (any Error) -> any Error = { $0 }) -> any Error {
        switch error {
        case let error as GatewayError: return error
        case let error as PSQLError: return PostgresErrorTranslator.translate(error, connector: name)
        case let error as PostgresError: return PostgresErrorTranslator.translate(error, connector: name)
        case is CancellationError: return GatewayError(.timeout, "PostgreSQL did not answer in time; retry the request.")
        default: return otherwise(error)
        }
    }
}

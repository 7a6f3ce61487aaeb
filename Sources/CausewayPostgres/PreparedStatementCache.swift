import NIOCore
import PostgresNIO
import Synchronization

/// The statements prepared on one shared connection, by SQL text (at most `capacity`; later ones run
/// unprepared).
///
/// PostgreSQL answers a named prepared statement about twice as fast as one parsed on every call. The
/// statements are prepared with PostgresNIO's EventLoopFuture API (`prepare(query:)`, `execute`): the rows
/// of an answer are collected on the connection's event loop and the request resumes once, where the async
/// row sequence costs more hops (measured: Docs/benchmarks.md). That API also lets statements be prepared
/// per SQL text at run time, which PostgresNIO's `PostgresPreparedStatement` (SQL fixed per type) does not.
final class PreparedStatementCache: Sendable {
    static let capacity = 256

    private enum Entry {
        case preparing(EventLoopFuture<PreparedQuery>)
        case ready(PreparedQuery)
    }
    private let entries = Mutex<[String: Entry]>([:])

    /// Runs `statement` as a prepared statement on `connection`, preparing it first when needed; nil when
    /// the cache is full (the caller runs it unprepared).
    func execute(_ statement: PostgresStatement, on connection: PostgresConnection) -> EventLoopFuture<[PostgresRow]>? {
        let entry = entries.withLock { e -> (Entry, started: Bool)? in
            if let existing = e[statement.sql] { return (existing, false) }
            guard e.count < Self.capacity else { return nil }
            let future = connection.prepare(query: statement.sql)
            e[statement.sql] = .preparing(future)
            return (.preparing(future), true)
        }
        guard let (current, started) = entry else { return nil }
        switch current {
        case .ready(let prepared):
            return prepared.execute(statement.data)
        case .preparing(let future):
            if started {
                // Ready for later calls; forgotten on failure, so a later call prepares again (after the
                // table was fixed, say) instead of failing for good.
                future.whenComplete { result in
                    self.entries.withLock { e in
                        switch result {
                        case .success(let prepared): e[statement.sql] = .ready(prepared)
                        case .failure: e[statement.sql] = nil
                        }
                    }
                }
            }
            let data = statement.data
            return future.flatMap { $0.execute(data) }
        }
    }
}

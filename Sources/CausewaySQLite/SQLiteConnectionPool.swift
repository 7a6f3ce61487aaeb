import CausewayCore
import Logging
import NIOPosix
import SQLiteNIO
import Synchronization

/// One writer connection (serialized by a one-permit semaphore, so a transaction is never interleaved with
/// another task's statements) and a few reader connections used round-robin. WAL mode lets
/// readers run while the writer writes. Every statement runs on the NIO thread pool, never on
/// an event loop.
final class SQLiteConnectionPool: Sendable {
    private let writer: SQLiteConnection
    private let readers: [SQLiteConnection]
    private let writeLock = AsyncSemaphore(permits: 1)
    private let next = Atomic<Int>(0)

    private init(writer: SQLiteConnection, readers: [SQLiteConnection]) {
        self.writer = writer
        self.readers = readers
    }

    static func open(path: String, readers: Int, busyTimeoutMs: Int, logger: Logger, readOnly: Bool = false) async throws -> SQLiteConnectionPool {
        let storage: SQLiteConnection.Storage = path == ":memory:" ? .memory : .file(path: path)
        func connect() async throws -> SQLiteConnection {
            let c = try await SQLiteConnection.open(storage: storage, logger: logger)
            _ = try await c.query("PRAGMA busy_timeout = \(busyTimeoutMs)")
            _ = try await c.query("PRAGMA foreign_keys = ON")
            try await c.install(customFunction: SQLiteFunctions.regexp())
            try await c.install(customFunction: SQLiteFunctions.distance())
            return c
        }
        let writer = try await connect()
        if readOnly { _ = try await writer.query("PRAGMA query_only = ON") }
        if path != ":memory:", !readOnly {
            _ = try await writer.query("PRAGMA journal_mode = WAL")
            _ = try await writer.query("PRAGMA synchronous = NORMAL")
        }
        var readerConnections: [SQLiteConnection] = []
        // An in-memory database is private to its connection: read through the writer.
        if path != ":memory:" {
            for _ in 0..<max(1, readers) { readerConnections.append(try await connect()) }
        }
        return SQLiteConnectionPool(writer: writer, readers: readerConnections)
    }

    /// Tasks waiting for the writer (for tests that hold it in a transaction).
    var writersWaiting: Int { writeLock.waitingCount }

    /// Runs one read-only statement.
    func read(_ sql: String, _ binds: [SQLiteData]) async throws -> [SQLiteRow] {
        guard !readers.isEmpty else {
            return try await writeLock.withPermit { try await writer.query(sql, binds) }
        }
        let i = next.wrappingAdd(1, ordering: .relaxed).oldValue
        return try await readers[i % readers.count].query(sql, binds)
    }

    /// Runs statements on the writer with exclusive use of it.
    func write<T: Sendable>(_ body: (SQLiteConnection) async throws -> T) async throws -> T {
        try await writeLock.withPermit { try await body(writer) }
    }

    /// Runs `body` inside `BEGIN IMMEDIATE … COMMIT` on the writer, rolling back on error.
    func transaction<T: Sendable>(_ body: (SQLiteConnection) async throws -> T) async throws -> T {
        try await write { c in
            _ = try await c.query("BEGIN IMMEDIATE")
            do {
                let result = try await body(c)
                _ = try await c.query("COMMIT")
                return result
            } catch {
                _ = try? await c.query("ROLLBACK")
                throw error
            }
        }
    }

    func close() async {
        for r in readers { try? await r.close() }
        try? await writeLock.withPermit { try await writer.close() }
    }
}

/// SQL functions the translator relies on.
enum SQLiteFunctions {
    /// `causeway_regexp(pattern, options, value)`: 1 when the value matches, with the same bounded engine
    /// and options as the in-memory evaluator; a match over its limits fails the statement with
    /// `regexBudgetMessage`, which the connector answers as 102.
    static func regexp() -> SQLiteCustomFunction {
        SQLiteCustomFunction("causeway_regexp", argumentCount: 3, pure: true) { args in
            guard let pattern = args[0].string, let options = args[1].string, case .text(let value) = args[2] else { return 0 }
            guard let re = try? BoundedRegex.compile(pattern, options: options) else { return 0 }
            do { return try re.matches(value) ? 1 : 0 } catch { throw RegexBudgetStop() }
        }
    }

    static let regexBudgetMessage = "causeway_regexp: backtracking limit"

    struct RegexBudgetStop: Error, CustomStringConvertible {
        var description: String { SQLiteFunctions.regexBudgetMessage }
    }

    /// `causeway_distance(lat1, lon1, lat2, lon2)`: great-circle distance in radians (haversine), NULL if a point is missing.
    static func distance() -> SQLiteCustomFunction {
        SQLiteCustomFunction("causeway_distance", argumentCount: 4, pure: true) { args in
            guard let lat1 = args[0].double, let lon1 = args[1].double, let lat2 = args[2].double, let lon2 = args[3].double,
                  !args[0].isNull, !args[1].isNull else { return nil }
            return GeoPoint.haversineRadians(lat1: lat1, lon1: lon1, lat2: lat2, lon2: lon2)
        }
    }
}

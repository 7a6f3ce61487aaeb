import CausewayCore
import Logging
import NIOCore
import NIOPosix
import PostgresNIO
import Synchronization

/// The connections a connector sends its statements on (`poolSize` of them).
///
/// They are shared, not leased: PostgresNIO queues the statements sent on one connection and runs them in
/// order, so a statement goes straight to a connection without a pool's lease and release. Each statement
/// takes the less busy of two connections (round robin plus one pseudo-random pick), which keeps one slow
/// statement from holding up more than the few queued behind it. Measured on the benchmark's by-id select,
/// sending on connections directly costs a third less CPU per request than PostgresNIO's pooled client
/// (Docs/benchmarks.md).
///
/// A connection that has closed (server restart, terminated backend, network failure) is reopened by the
/// next statement that picks it; statements queued on it when it closed fail with a retryable error.
/// Transactions need a connection to themselves and use the connector's pooled client instead.
final class PostgresConnectionSet: Sendable {
    private final class Slot: Sendable {
        enum State {
            case closed
            case opening(EventLoopFuture<PostgresConnection>, PreparedStatementCache)
            case open(PostgresConnection, PreparedStatementCache)
        }
        /// Statements sent on this slot and not yet answered.
        let busy = Atomic<Int>(0)
        let state = Mutex<State>(.closed)
    }

    private let slots: [Slot]
    private let turn = Atomic<UInt64>(0)
    private let connectionIDs = Atomic<Int>(0)
    private let isShutDown = Atomic<Bool>(false)
    private let configuration: PostgresConnection.Configuration
    private let connectorName: String
    private let logger: Logger
    private let eventLoops: any EventLoopGroup
    /// How long opening a connection (TCP, TLS, start-up, authentication) may take in all.
    private let openTimeout: TimeAmount

    init(size: Int, configuration: PostgresConnection.Configuration, connectorName: String, logger: Logger, openTimeout: TimeAmount,
         eventLoops: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.slots = (0..<max(1, size)).map { _ in Slot() }
        self.openTimeout = openTimeout
        self.configuration = configuration
        self.connectorName = connectorName
        self.logger = logger
        self.eventLoops = eventLoops
    }

    deinit {
        // Dropped without shutdown (a failed start, say): close what is open rather than leak it.
        for slot in slots {
            if case .open(let c, _) = slot.state.withLock({ $0 }), !c.isClosed { c.close().whenComplete { _ in _ = c } }
        }
    }

    /// Opens every connection (concurrently); throws the first failure, leaving the others open.
    func open() async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for slot in slots { group.addTask { _ = try await self.connection(slot) } }
            try await group.waitForAll()
        }
    }

    /// Runs `body` with a connection that may be running other statements too (never for transactions).
    func withConnection<T>(_ body: (PostgresConnection, PreparedStatementCache) async throws -> T) async throws -> T {
        let slot = pick()
        slot.busy.add(1, ordering: .relaxed)
        defer { slot.busy.subtract(1, ordering: .relaxed) }
        let (connection, prepared) = try await connection(slot)
        return try await body(connection, prepared)
    }

    /// Closes every connection; statements after this fail.
    func shutdown() async {
        isShutDown.store(true, ordering: .sequentiallyConsistent)
        for slot in slots {
            let state = slot.state.withLock { s in
                defer { s = .closed }
                return s
            }
            switch state {
            case .closed: break
            case .open(let c, _): try? await c.close()
            case .opening(let f, _): if let c = try? await f.get() { try? await c.close() }
            }
        }
    }

    /// Closes `connection` and takes it out of use at once (the next statement on its slot opens a new one),
    /// for a connection whose statement ran past its deadline.
    func retire(_ connection: PostgresConnection) {
        for slot in slots {
            let found = slot.state.withLock { s -> Bool in
                guard case .open(let c, _) = s, c === connection else { return false }
                s = .closed
                return true
            }
            if found { break }
        }
        connection.close().whenComplete { _ in _ = connection }
    }

    /// The less busy of the next slot in turn and another one picked pseudo-randomly (never the same).
    private func pick() -> Slot {
        let n = turn.wrappingAdd(1, ordering: .relaxed).newValue
        let count = UInt64(slots.count)
        let i = n % count
        let first = slots[Int(i)]
        guard count > 1 else { return first }
        let offset = 1 + ((n &* 0x9E37_79B9_7F4A_7C15) >> 33) % (count - 1)
        let second = slots[Int((i + offset) % count)]
        return second.busy.load(ordering: .relaxed) < first.busy.load(ordering: .relaxed) ? second : first
    }

    /// Opens a connection, failing after `openTimeout` even if the server accepted the TCP connection and
    /// then stopped answering (PostgresNIO's connect timeout covers the TCP connect only).
    private func open(id: Int, logger: Logger) -> EventLoopFuture<PostgresConnection> {
        let loop = eventLoops.next()
        let promise = loop.makePromise(of: PostgresConnection.self)
        let timedOut = ExpiryFlag()
        let name = connectorName
        let timer = loop.scheduleTask(in: openTimeout) {
            timedOut.set()
            promise.fail(GatewayError(.connectionFailed, "The PostgreSQL source of connector '\(name)' did not complete a connection in time; retry the request."))
        }
        PostgresConnection.connect(on: loop, configuration: configuration, id: id, logger: logger).hop(to: loop).whenComplete { result in
            timer.cancel()
            switch result {
            case .success(let c) where timedOut.isSet: c.close().whenComplete { _ in _ = c }  // kept until closed
            case .success(let c): promise.succeed(c)
            case .failure(let error): promise.fail(error)
            }
        }
        return promise.futureResult
    }

    private enum Next {
        case ready(PostgresConnection, PreparedStatementCache)
        case wait(EventLoopFuture<PostgresConnection>, PreparedStatementCache, started: Bool)
        case shutDown
    }

    private func connection(_ slot: Slot) async throws -> (PostgresConnection, PreparedStatementCache) {
        let next = slot.state.withLock { state -> Next in
            switch state {
            case .open(let c, let p) where !c.isClosed:
                return .ready(c, p)
            case .opening(let f, let p):
                return .wait(f, p, started: false)
            case .open, .closed:
                guard !isShutDown.load(ordering: .relaxed) else { return .shutDown }
                var connectionLogger = logger
                let id = connectionIDs.wrappingAdd(1, ordering: .relaxed).newValue
                connectionLogger[metadataKey: "causeway.pg.connection"] = "\(id)"
                let f = open(id: id, logger: connectionLogger)
                let p = PreparedStatementCache()
                state = .opening(f, p)
                return .wait(f, p, started: true)
            }
        }
        switch next {
        case .ready(let c, let p):
            return (c, p)
        case .shutDown:
            throw GatewayError(.connectionFailed, "Connector '\(connectorName)' is shut down.")
        case .wait(let future, let cache, let started):
            if started {
                future.whenComplete { result in
                    slot.state.withLock { state in
                        guard case .opening(let f, _) = state, f === future else { return }
                        switch result {
                        case .success(let c): state = .open(c, cache)
                        case .failure: state = .closed
                        }
                    }
                    // Opened while shutting down: nobody will use it.
                    if case .success(let c) = result, self.isShutDown.load(ordering: .relaxed) { c.close().whenComplete { _ in _ = c } }
                }
            }
            do {
                return (try await future.get(), cache)
            } catch let error as PSQLError {
                throw error
            } catch {
                throw GatewayError(.connectionFailed, "The PostgreSQL source of connector '\(connectorName)' is unreachable; retry the request.",
                                   detail: String(reflecting: error))
            }
        }
    }
}


import Logging
import NIOCore
import PostgresNIO

/// LISTEN on one channel over a connection of its own, for as long as the task runs: it reconnects with
/// back-off (100 ms doubling to 2 s) and sends a heartbeat statement every `heartbeat`; a connection that
/// does not answer one within `heartbeatTimeout` is closed, which ends the listening with an error (a
/// connection that died silently is found that way). The cluster bus and the trigger listener use it;
/// what each does on the way is in `Hooks`.
struct PostgresListener: Sendable {
    let configuration: PostgresConnection.Configuration
    let channel: String
    let heartbeat: Duration
    let heartbeatTimeout: Duration
    let logger: Logger

    struct Hooks: Sendable {
        /// Listening on a new connection.
        var listening: @Sendable (PostgresConnection) -> Void
        var notification: @Sendable (String) -> Void
        /// The listening connection was lost (not by cancellation).
        var lost: @Sendable (any Error) -> Void
        var cannotConnect: @Sendable (any Error) -> Void
        /// A connection that had connected has ended, before it is closed.
        var ended: @Sendable (PostgresConnection) -> Void = { _ in }
        /// Not listening, before each wait to reconnect.
        var down: @Sendable () -> Void
        /// After the wait, before reconnecting (tests hold the listener off here).
        var beforeReconnect: @Sendable () async -> Void = {}
    }

    struct ConnectionLost: Error {}

    func run(_ hooks: Hooks) async {
        var delay = Duration.milliseconds(100)
        var id = 0
        while !Task.isCancelled {
            id += 1
            do {
                let c = try await PostgresConnection.connect(configuration: configuration, id: id, logger: logger)
                do {
                    try await c.listen(on: channel) { notifications in
                        delay = .milliseconds(100)
                        hooks.listening(c)
                        try await withThrowingTaskGroup(of: Void.self) { group in
                            group.addTask {
                                for try await n in notifications { hooks.notification(n.payload) }
                                throw ConnectionLost()
                            }
                            group.addTask { try await heartbeats(c) }
                            _ = try await group.next()
                            group.cancelAll()
                        }
                    }
                } catch where !(error is CancellationError) {
                    if !Task.isCancelled { hooks.lost(error) }
                } catch {}
                hooks.ended(c)
                try? await c.close()
            } catch {
                hooks.cannotConnect(error)
            }
            if Task.isCancelled { break }
            hooks.down()
            try? await Task.sleep(for: delay)
            delay = min(delay * 2, .seconds(2))
            await hooks.beforeReconnect()
        }
    }

    private func heartbeats(_ c: PostgresConnection) async throws {
        let timeout = TimeAmount.nanoseconds(Int64(heartbeatTimeout.components.seconds) * 1_000_000_000 + heartbeatTimeout.components.attoseconds / 1_000_000_000)
        while true {
            try await Task.sleep(for: heartbeat)
            let timer = c.eventLoop.scheduleTask(in: timeout) { let closing: EventLoopFuture<Void> = c.close(); closing.whenComplete { _ in _ = c } }
            defer { timer.cancel() }
            try await c.query("SELECT 1", logger: logger)
        }
    }
}

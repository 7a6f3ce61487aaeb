import Logging
import ServiceLifecycle
import Synchronization

/// Runs every connector's `ConnectorService`, each in a service group of its own, so that a configuration
/// reload can start connectors and stop single ones while the gateway runs. It is one service of the
/// application's group: on graceful shutdown it shuts every connector down and returns when all have.
public final class ConnectorSupervisor: Service, Sendable {
    /// A running connector: stop it with `stop(_:)`.
    public final class Handle: Sendable {
        public let service: ConnectorService
        let group: ServiceGroup
        private let done = Mutex<(finished: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

        init(service: ConnectorService, logger: Logger) {
            self.service = service
            group = ServiceGroup(configuration: .init(services: [.init(service: service)], logger: logger))
        }

        func finish() {
            let waiters = done.withLock { d -> [CheckedContinuation<Void, Never>] in
                d.finished = true
                defer { d.waiters = [] }
                return d.waiters
            }
            for w in waiters { w.resume() }
        }

        /// Returns once the connector's service has ended.
        func finished() async {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let now = done.withLock { d -> Bool in
                    if d.finished { return true }
                    d.waiters.append(c)
                    return false
                }
                if now { c.resume() }
            }
        }
    }

    private let logger: Logger
    private let queue: AsyncStream<Handle>
    private let enqueue: AsyncStream<Handle>.Continuation
    private let running = Mutex<[ObjectIdentifier: Handle]>([:])

    public init(logger: Logger) {
        self.logger = logger
        (queue, enqueue) = AsyncStream.makeStream(of: Handle.self)
    }

    /// Starts running `service` (at once when the supervisor runs, else when it starts).
    @discardableResult
    public func start(_ service: ConnectorService) -> Handle {
        let handle = Handle(service: service, logger: logger)
        running.withLock { $0[ObjectIdentifier(handle)] = handle }
        enqueue.yield(handle)
        return handle
    }

    /// Shuts one connector down (its `shutdown` runs) and returns once it has ended.
    public func stop(_ handle: Handle) async {
        await handle.group.triggerGracefulShutdown()
        await handle.finished()
    }

    public var handles: [Handle] { running.withLock { Array($0.values) } }

    public func run() async throws {
        await withDiscardingTaskGroup { group in
            for await handle in queue.cancelOnGracefulShutdown() {
                group.addTask {
                    do { try await handle.group.run() } catch {
                        self.logger.error("connector service ended with an error", metadata: ["error": .string(String(reflecting: error))])
                    }
                    self.running.withLock { _ = $0.removeValue(forKey: ObjectIdentifier(handle)) }
                    handle.finish()
                }
            }
            // Graceful shutdown: every connector shuts down; the group waits for all of them.
            for handle in handles { await handle.group.triggerGracefulShutdown() }
        }
        enqueue.finish()
    }
}

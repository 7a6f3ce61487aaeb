import Logging
import ServiceLifecycle

/// Runs one connector for the gateway's lifetime, as a service of the application's `ServiceGroup`.
///
/// Order: `runBackground` starts as a child task; `start` is tried until it succeeds, with doubling
/// back-off (`retry`), the status saying why meanwhile (the connector's classes answer 100 until then,
/// and the other connectors serve regardless); once up, the service waits for graceful shutdown, then
/// calls `shutdown` and cancels the background work. Shutdown waits for all of it.
public struct ConnectorService: Service {
    public let connector: any Connector
    let status: ComponentStatus.Entry
    let logger: Logger
    let retry: RetryPolicy

    /// Back-off between start attempts: `initial`, doubling up to `maximum`.
    public struct RetryPolicy: Sendable {
        public var initial: Duration
        public var maximum: Duration
        public init(initial: Duration = .seconds(1), maximum: Duration = .seconds(30)) {
            self.initial = initial
            self.maximum = maximum
        }
    }

    public init(connector: any Connector, status: ComponentStatus, logger: Logger, retry: RetryPolicy = RetryPolicy()) {
        self.connector = connector
        self.status = status.entry(ConnectorService.componentName(connector.name))
        self.logger = logger
        self.retry = retry
    }

    /// With a given status entry (a connector that a reload starts in place of another of the same name).
    public init(connector: any Connector, entry: ComponentStatus.Entry, logger: Logger, retry: RetryPolicy = RetryPolicy()) {
        self.connector = connector
        self.status = entry
        self.logger = logger
        self.retry = retry
    }

    /// The name under which a connector appears in `ComponentStatus` (and `/health`).
    public static func componentName(_ connector: String) -> String { "connector \(connector)" }

    public func run() async throws {
        var logger = self.logger
        logger[metadataKey: "causeway.connector"] = .string(connector.name)
        let connector = self.connector
        let backgroundLogger = logger
        await withDiscardingTaskGroup { group in
            group.addTask { await connector.runBackground(logger: backgroundLogger) }
            if await startWithRetries(logger) {
                try? await gracefulShutdown()
            }
            status.set(.stopping)
            // Shutdown runs to the end even when the group was cancelled (a failed bind, say): closing
            // connections must not be skipped half-way.
            await Task { await connector.shutdown() }.value
            logger.info("connector stopped")
            group.cancelAll()
        }
    }

    /// Tries `start` until it succeeds (true) or the gateway shuts down (false).
    private func startWithRetries(_ logger: Logger) async -> Bool {
        var delay = retry.initial
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                try await connector.start(logger: logger)
                status.set(.up)
                logger.info("connector started", metadata: [
                    "causeway.kind": .string(connector.kind),
                    "causeway.classes": .string(connector.collections.map(\.className).joined(separator: ",")),
                ])
                return true
            } catch {
                let reason = (error as? GatewayError)?.message ?? "it could not be started"
                status.set(.unavailable(reason))
                logger.error("connector could not start; its classes answer 100 until it does", metadata: [
                    "error": .string(String(reflecting: error)), "causeway.retryInSeconds": .stringConvertible(delay.components.seconds),
                ])
            }
            let pause = delay
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: pause) }
            } catch {
                return false
            }
            delay = min(delay * 2, retry.maximum)
        }
        return false
    }
}

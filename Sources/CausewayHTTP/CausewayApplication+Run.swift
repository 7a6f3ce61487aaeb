import CausewayCore
import Hummingbird
import Logging
import ServiceLifecycle

extension CausewayApplication {
    /// Runs the gateway until SIGTERM or SIGINT, then shuts down for a rolling restart: readiness fails at
    /// once (`/health/ready` answers 503 `draining`), after `server.shutdownDelaySeconds` the listener closes
    /// and in-flight requests finish, then the services close the sources. Past `shutdownDelaySeconds +
    /// drainSeconds` whatever still runs is cancelled (the sources are still closed).
    public static func run(configuration: LoadedConfiguration, logger: Logger) async throws {
        let readiness = Readiness()
        let app = build(configuration: configuration, logger: logger, readiness: readiness)
        let server = configuration.gateway.server
        // Shut down in reverse order: the gate (readiness) first, then the application (server, then services).
        var group = ServiceGroupConfiguration(
            services: [.init(service: app), .init(service: ShutdownGate(readiness: readiness, delay: .seconds(server.shutdownDelaySeconds), logger: logger))],
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        group.maximumGracefulShutdownDuration = .seconds(server.shutdownDelaySeconds + server.drainSeconds)
        try await ServiceGroup(configuration: group).run()
    }
}

/// Fails readiness when graceful shutdown begins, then waits `delay` before letting the server close.
struct ShutdownGate: Service {
    let readiness: Readiness
    let delay: Duration
    let logger: Logger

    func run() async throws {
        do { try await gracefulShutdown() } catch { return }
        readiness.startDraining()
        logger.notice("shutting down: readiness fails now; the listener closes after the shutdown delay, then in-flight requests drain",
                      metadata: ["causeway.shutdownDelay": .stringConvertible(delay)])
        if delay > .zero { try? await Task.sleep(for: delay) }
    }
}

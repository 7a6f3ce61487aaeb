import CausewayCore
import Dispatch
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle

extension CausewayApplication {
    /// Runs the gateway until SIGTERM or SIGINT, then shuts down for a rolling restart: readiness fails at
    /// once (`/health/ready` answers 503 `draining`), after `server.shutdownDelaySeconds` the listener closes
    /// and in-flight requests finish, then the services close the sources. Past `shutdownDelaySeconds +
    /// drainSeconds` whatever still runs is cancelled (the sources are still closed).
    ///
    /// `reload`: reads the configuration again; with it, SIGHUP (and the admin page's button) reloads it
    /// (`GatewayReloader`).
    public static func run(configuration: LoadedConfiguration, logger: Logger,
                           reload: (@Sendable () throws -> LoadedConfiguration)? = nil) async throws {
        let readiness = Readiness()
        // SIGHUP: one pending reload at most (signals during a reload coalesce into one more).
        let (hangups, hangup) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        var source: (any DispatchSourceSignal)?
        if reload != nil {
            signal(SIGHUP, SIG_IGN)
            let s = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .global())
            s.setEventHandler { hangup.yield() }
            s.resume()
            source = s
        }
        defer {
            source?.cancel()
            hangup.finish()
        }
        let app = build(configuration: configuration, logger: logger, readiness: readiness, reload: reload, reloadSignals: reload == nil ? nil : hangups)
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

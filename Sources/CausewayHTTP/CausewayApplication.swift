import CausewayCore
import Hummingbird
import Logging
import Prometheus
import ServiceLifecycle

/// Builds the gateway application. Every long-lived part is a service of the application's
/// `ServiceGroup`: one `ConnectorService` per connector, the `IdentityService` (metadata store, identity
/// providers, role refresh) and the HTTP server. The server waits (up to `server.startupWaitSeconds`) for
/// each connector's first start attempt, then listens; a connector that is down meanwhile answers 100 for
/// its classes and shows in `/health` until it is up. Shutdown waits for every service.
public enum CausewayApplication {
    /// `cacheClock`: where the caches read the time (tests pass a manual clock).
    /// `connectorRetry`: the back-off between a connector's start attempts (tests shorten it).
    public static func build(configuration: LoadedConfiguration, logger: Logger,
                             cacheClock: any Clock<Duration> = ContinuousClock(),
                             connectorRetry: ConnectorService.RetryPolicy = .init(),
                             readiness: Readiness = Readiness()) -> some ApplicationProtocol {
        let registry = PrometheusCollectorRegistry()
        let caches = CacheSet(policies: configuration.cachePolicies, maxBytes: configuration.gateway.cacheMaxBytes,
                              metricsFactory: PrometheusMetricsFactory(registry: registry), clock: cacheClock)
        let status = ComponentStatus()
        let gateway = Gateway(config: configuration.gateway, connectors: configuration.connectors, caches: caches, status: status)
        let auth = CausewayApplication.authService(configuration)
        let metrics = configuration.gateway.metrics.enabled ? MetricsEndpoint(registry: registry, settings: configuration.gateway.metrics) : nil
        let responder = ParseResponder(gateway: gateway, auth: auth, metrics: metrics, status: status, readiness: readiness)
        var services: [any Service] = []
        if let auth { services.append(IdentityService(auth: auth, status: status, logger: logger)) }
        // Several nodes on one PostgreSQL metadata store: LISTEN/NOTIFY coherence (#15).
        if let makeCluster = configuration.makeClusterServices { services.append(contentsOf: makeCluster(gateway, auth, logger)) }
        for connector in configuration.connectors {
            services.append(ConnectorService(connector: connector, status: status, logger: logger, retry: connectorRetry))
        }
        // After the connectors: shut down (waiting for its refreshes) before them.
        services.append(caches.refresher)
        var app = Application(
            responder: responder,
            configuration: .init(
                address: .hostname(configuration.gateway.server.host, port: configuration.gateway.server.port),
                serverName: "Causeway"),
            services: services,
            logger: logger)
        let wait = Duration.seconds(configuration.gateway.server.startupWaitSeconds)
        app.beforeServerStarts {
            if await !status.waitForFirstAttempts(limit: wait, clock: ContinuousClock()) {
                let waiting = status.snapshot.filter { $0.state != .up }.map(\.name).joined(separator: ", ")
                logger.warning("serving before every part is up; /health answers 503 until they are", metadata: ["causeway.waiting": .string(waiting)])
            }
        }
        return app
    }

    /// Users and sessions, when `identityProviders` are configured (kept in the metadata store).
    static func authService(_ configuration: LoadedConfiguration) -> AuthService? {
        guard !configuration.identityProviders.isEmpty, let makeStore = configuration.makeMetadataStore else { return nil }
        return AuthService(providers: configuration.identityProviders, store: makeStore(configuration.gateway.metadataStorePath),
                           settings: configuration.gateway.auth)
    }
}

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
                             readiness: Readiness = Readiness(),
                             reload: (@Sendable () throws -> LoadedConfiguration)? = nil,
                             reloadSignals: AsyncStream<Void>? = nil,
                             stats: ConnectorStatsSet = ConnectorStatsSet()) -> some ApplicationProtocol {
        let registry = PrometheusCollectorRegistry()
        let metricsFactory = PrometheusMetricsFactory(registry: registry)
        let caches = CacheSet(policies: configuration.cachePolicies, maxBytes: configuration.gateway.cacheMaxBytes,
                              metricsFactory: metricsFactory, clock: cacheClock)
        let status = ComponentStatus()
        let gateway = Gateway(config: configuration.gateway, connectors: configuration.connectors, caches: caches, status: status, stats: stats)
        let auth = CausewayApplication.authService(configuration)
        let metrics = configuration.gateway.metrics.enabled ? MetricsEndpoint(registry: registry, settings: configuration.gateway.metrics) : nil
        let makeResponder: @Sendable (Gateway) -> ParseResponder = { ParseResponder(gateway: $0, auth: auth, metrics: metrics, status: status, readiness: readiness) }
        // The configuration serving now; a reload swaps it between requests (`GatewayReloader`).
        let holder = GatewayHolder(.init(number: 1, gateway: gateway, responder: makeResponder(gateway)))
        var services: [any Service] = []
        if let auth { services.append(IdentityService(auth: auth, status: status, logger: logger)) }
        // Several nodes on one PostgreSQL metadata store: LISTEN/NOTIFY coherence (#15).
        if let makeCluster = configuration.makeClusterServices { services.append(contentsOf: makeCluster(gateway, auth, logger)) }
        // PostgreSQL sources that announce their own changes through triggers (LiveQuery, #17).
        if let makeSources = configuration.makeChangeSourceServices { services.append(contentsOf: makeSources(gateway, logger)) }
        // Connectors run under a supervisor, so that a reload can start and stop single ones.
        let supervisor = ConnectorSupervisor(logger: logger)
        var running: [String: GatewayReloader.Running] = [:]
        for connector in configuration.connectors {
            let entry = status.entry(ConnectorService.componentName(connector.name))
            let handle = supervisor.start(ConnectorService(connector: connector, entry: entry, logger: logger, retry: connectorRetry))
            running[connector.name] = .init(connector: connector, fingerprint: GatewayReloader.fingerprint(connector), handle: handle, entry: entry)
        }
        services.append(supervisor)
        // After the connectors: shut down (waiting for its refreshes) before them.
        services.append(caches.refresher)
        let reloader = reload.map {
            GatewayReloader(load: $0, holder: holder, supervisor: supervisor, status: status, auth: auth, makeResponder: makeResponder,
                            metricsFactory: metricsFactory, cacheClock: cacheClock, retry: connectorRetry, logger: logger, running: running)
        }
        if let reloader, let reloadSignals { services.append(ReloadSignalService(reloader: reloader, signals: reloadSignals)) }
        let errors = AdminErrorLog()
        let admin = configuration.gateway.admin.enabled
            ? AdminEndpoint(settings: configuration.gateway.admin, holder: holder, auth: auth, status: status, errors: errors,
                            reloader: reloader, sessions: AdminSessions(auth: auth, logger: logger), logger: logger)
            : nil
        let liveQuery = LiveQueryServer.hub(configuration, gateway: gateway, holder: holder, auth: auth, registry: registry, logger: logger)
        if let liveQuery { services.append(contentsOf: [liveQuery, liveQuery.poller] as [any Service]) }
        // A reload re-evaluates the subscriptions against the new configuration (LiveQuery, #17).
        if let liveQuery, let reloader { reloader.onReload { await liveQuery.reconfigure($0) } }
        var app = Application(
            responder: CausewayResponder(holder: holder, admin: admin, errors: errors),
            server: LiveQueryServer.server(liveQuery, configuration.gateway, http1: .init(idleTimeout: .seconds(Int64(configuration.gateway.server.idleTimeoutSeconds)))),
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

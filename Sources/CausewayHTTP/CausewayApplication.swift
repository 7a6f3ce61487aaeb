import CausewayCore
import Hummingbird
import Logging
import Prometheus
import ServiceLifecycle

/// Builds the gateway application: connectors start before the server listens and stop after it.
public enum CausewayApplication {
    public static func build(configuration: LoadedConfiguration, logger: Logger) -> some ApplicationProtocol {
        let registry = PrometheusCollectorRegistry()
        let caches = CacheSet(policies: configuration.cachePolicies, maxBytes: configuration.gateway.cacheMaxBytes,
                              metricsFactory: PrometheusMetricsFactory(registry: registry))
        let gateway = Gateway(config: configuration.gateway, connectors: configuration.connectors, caches: caches)
        let readiness = Readiness()
        let auth = CausewayApplication.authService(configuration)
        let metrics = configuration.gateway.metrics.enabled ? MetricsEndpoint(registry: registry, settings: configuration.gateway.metrics) : nil
        let responder = ParseResponder(gateway: gateway, auth: auth, metrics: metrics, readiness: readiness)
        var app = Application(
            responder: responder,
            configuration: .init(
                address: .hostname(configuration.gateway.server.host, port: configuration.gateway.server.port),
                serverName: "Causeway"),
            services: [ConnectorLifecycle(connectors: configuration.connectors, auth: auth, logger: logger)],
            logger: logger)
        app.beforeServerStarts {
            if let auth {
                try await auth.start(logger: logger)
                logger.info("identity providers started", metadata: [
                    "causeway.providers": .string(auth.providers.map { "\($0.name) (\($0.kind))" }.joined(separator: ", ")),
                    "causeway.metadataStore": .string(configuration.gateway.metadataStorePath),
                ])
            }
            for connector in configuration.connectors {
                try await connector.start(logger: logger)
                logger.info("connector started", metadata: [
                    "causeway.connector": .string(connector.name),
                    "causeway.kind": .string(connector.kind),
                    "causeway.classes": .string(connector.collections.map(\.className).joined(separator: ",")),
                ])
            }
            readiness.markReady()
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

/// Shuts connectors down when the service group stops (after the HTTP server has stopped).
struct ConnectorLifecycle: Service {
    let connectors: [any Connector]
    let auth: AuthService?
    let logger: Logger

    func run() async throws {
        try? await gracefulShutdown()
        for connector in connectors.reversed() {
            await connector.shutdown()
            logger.info("connector stopped", metadata: ["causeway.connector": .string(connector.name)])
        }
        await auth?.shutdown()
    }
}

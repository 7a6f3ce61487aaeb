import CausewayCore
import Hummingbird
import Logging
import ServiceLifecycle

/// Builds the gateway application: connectors start before the server listens and stop after it.
public enum CausewayApplication {
    public static func build(configuration: LoadedConfiguration, logger: Logger) -> some ApplicationProtocol {
        let gateway = Gateway(config: configuration.gateway, connectors: configuration.connectors)
        let readiness = Readiness()
        let responder = ParseResponder(gateway: gateway, readiness: readiness)
        var app = Application(
            responder: responder,
            configuration: .init(
                address: .hostname(configuration.gateway.server.host, port: configuration.gateway.server.port),
                serverName: "Causeway"),
            services: [ConnectorLifecycle(connectors: configuration.connectors, logger: logger)],
            logger: logger)
        app.beforeServerStarts {
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
}

/// Shuts connectors down when the service group stops (after the HTTP server has stopped).
struct ConnectorLifecycle: Service {
    let connectors: [any Connector]
    let logger: Logger

    func run() async throws {
        try? await gracefulShutdown()
        for connector in connectors.reversed() {
            await connector.shutdown()
            logger.info("connector stopped", metadata: ["causeway.connector": .string(connector.name)])
        }
    }
}

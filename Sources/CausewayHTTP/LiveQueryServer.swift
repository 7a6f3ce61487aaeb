import CausewayCore
import CausewayLiveQuery
import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOCore
import Prometheus
import ServiceLifecycle

/// Parse LiveQuery over WebSocket on the gateway's own port: a GET with `Upgrade: websocket` at the
/// LiveQuery path (the mount path unless `liveQuery.path` says otherwise, which is where the SDKs connect
/// when no separate LiveQuery URL is set) becomes a LiveQuery connection of the hub; every other request is
/// served by the Parse responder exactly as without LiveQuery.
enum LiveQueryServer {
    /// The HTTP/1 server with the WebSocket upgrade.
    static func builder(hub: LiveQueryHub, config: GatewayConfig, http1: HTTP1Channel.Configuration) -> HTTPServerBuilder {
        let settings = hub.settings
        let path = settings.path ?? config.server.mountPath
        let ws = WebSocketServerConfiguration(
            maxFrameSize: max(settings.maxMessageBytes, 1 << 14),
            autoPing: settings.pingIntervalSeconds > 0 ? .enabled(timePeriod: .seconds(settings.pingIntervalSeconds)) : .disabled)
        // Guarded: requests NIO's parser refuses get a Parse error body (ParseFramingErrorHandler).
        return .framingGuarded(firstRequestTimeout: http1.idleTimeout) { responder in
            HTTP1WebSocketUpgradeChannel(responder: responder, configuration: .init(http1: http1, ws: ws)) { request, channel, _ in
                guard isLiveQueryPath(request.path, path) else { return .dontUpgrade }
                // Behind a trusted load balancer, the client its X-Forwarded-For names (for masterKeyIps), as for REST.
                let address = config.server.trustedProxies.clientAddress(
                    peer: channel.remoteAddress?.ipAddress, forwardedFor: request.headerFields[values: CausewayResponder.forwardedFor])
                return .upgrade([:]) { inbound, outbound, context in
                    await serve(hub: hub, inbound: inbound, outbound: outbound, address: address,
                                maxMessageBytes: settings.maxMessageBytes, logger: context.logger)
                }
            }
        }
    }

    /// `/parse`, `/parse/` (and any query string after them).
    static func isLiveQueryPath(_ requestPath: String?, _ path: String) -> Bool {
        guard let requestPath else { return false }
        let bare = requestPath.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? requestPath
        return bare == path || bare == (path == "/" ? "/" : path + "/")
    }

    /// Checks a `connect` message's application id and keys as `ParseAuthenticator` checks the REST headers.
    static func authenticator(_ app: GatewayConfig.App) -> @Sendable (LiveQueryCredentials) -> Caller? {
        let authenticator = ParseAuthenticator(app: app)
        return { c in
            var credentials = ParseCall.Credentials()
            credentials.applicationId = c.applicationId
            credentials.masterKey = c.masterKey
            credentials.clientKeys = c.clientKeys
            credentials.sessionToken = c.sessionToken
            switch authenticator.authenticate(credentials, remoteAddress: c.remoteAddress) {
            case .caller(let caller): return caller
            case .rejected: return nil
            }
        }
    }

    /// One connection: the client's messages go to the hub, the hub's queue goes to the client. A slow
    /// client's close does not wait for its queue; the close frame gets `slowCloseWait` to leave before the
    /// socket is closed regardless.
    static func serve(hub: LiveQueryHub, inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter,
                      address: String?, maxMessageBytes: Int, logger: Logger) async {
        guard let connection = hub.open(remoteAddress: address) else {
            try? await outbound.write(.text(hub.tooManyClientsMessage))
            try? await outbound.close(.unknown(LiveQueryCloseReason.tooManyClients.code), reason: LiveQueryCloseReason.tooManyClients.reason)
            return
        }
        // When the server shuts down, the hub's queue ends and the client is told (1001).
        await withGracefulShutdownHandler {
            await pump(connection, inbound: inbound, outbound: outbound, maxMessageBytes: maxMessageBytes, logger: logger)
        } onGracefulShutdown: {
            connection.close(.shutdown)
        }
        let reason = connection.closeReason
        connection.disconnected()
        guard let reason else { return }
        if reason == .slowClient {
            logger.notice("LiveQuery client closed: its send queue is full", metadata: ["causeway.client": .stringConvertible(connection.id)])
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await outbound.close(.unknown(reason.code), reason: reason.reason) }
            group.addTask { try? await Task.sleep(for: slowCloseWait) }
            await group.next()
            group.cancelAll()
        }
    }

    /// Client messages to the hub and the hub's queue to the client, until either side ends or the hub asks
    /// for an immediate close.
    static func pump(_ connection: LiveQueryConnection, inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter,
                     maxMessageBytes: Int, logger: Logger) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await text in connection.outbound {
                    do { try await outbound.write(.text(text)) } catch { return }
                }
            }
            group.addTask {
                do {
                    for try await message in inbound.messages(maxSize: maxMessageBytes) {
                        switch message {
                        case .text(let text): await connection.receive(text)
                        case .binary: connection.receiveBinary()
                        }
                    }
                } catch {
                    logger.debug("LiveQuery connection ended", metadata: ["error": .string(String(describing: error))])
                }
            }
            group.addTask { _ = await connection.closeRequested() }
            await group.next()
            group.cancelAll()
        }
    }

    static let slowCloseWait = Duration.seconds(10)
}

extension LiveQueryServer {
    /// The hub when `liveQuery` is configured (a service of the application), nil otherwise.
    /// `holder`: where the gateway serving now is found after a configuration reload.
    static func hub(_ configuration: LoadedConfiguration, gateway: Gateway, holder: GatewayHolder? = nil, auth: AuthService?,
                    registry: PrometheusCollectorRegistry, logger: Logger) -> LiveQueryHub? {
        guard let settings = configuration.gateway.liveQuery else { return nil }
        var current: (@Sendable () -> Gateway)?
        if let holder { current = { holder.current.gateway } }
        // On a cluster, other nodes announce writes with keys only: every class's images are remembered.
        return LiveQueryHub(gateway: gateway, current: current, settings: settings, sessions: auth, authenticate: authenticator(configuration.gateway.app),
                            metricsFactory: PrometheusMetricsFactory(registry: registry), logger: logger,
                            imagesForAllClasses: configuration.makeClusterServices != nil)
    }

    /// The server: plain HTTP/1 without LiveQuery, HTTP/1 with the WebSocket upgrade with it.
    static func server(_ hub: LiveQueryHub?, _ config: GatewayConfig, http1: HTTP1Channel.Configuration) -> HTTPServerBuilder {
        guard let hub else { return .guardedHTTP1(http1) }
        return builder(hub: hub, config: config, http1: http1)
    }
}

import CausewayCore
import Prometheus

/// `/metrics` in Prometheus' text format. Open to the master key, to `Authorization: Bearer <token>` when
/// `metrics.bearerToken` is set, and to the client addresses in `metrics.allowedIPs`; others get 403.
public struct MetricsEndpoint: Sendable {
    public let registry: PrometheusCollectorRegistry
    public let settings: GatewayConfig.Metrics

    public init(registry: PrometheusCollectorRegistry, settings: GatewayConfig.Metrics) {
        self.registry = registry
        self.settings = settings
    }

    func reply(authorization: String?, masterKey: String?, configuredMasterKey: String?, remoteAddress: String?) -> ParseReply {
        var allowed = false
        if let given = masterKey, let master = configuredMasterKey, constantTimeEquals(given, master) { allowed = true }
        if let token = settings.bearerToken, let header = authorization, header.hasPrefix("Bearer "),
           constantTimeEquals(String(header.dropFirst(7)), token) { allowed = true }
        if let address = remoteAddress, settings.allowedIPs.contains(address) { allowed = true }
        guard allowed else { return .unauthorized }
        var reply = ParseReply(status: 200, body: registry.emitToBuffer())
        reply.headers.append(("Content-Type", "text/plain; version=0.0.4; charset=utf-8"))
        return reply
    }
}

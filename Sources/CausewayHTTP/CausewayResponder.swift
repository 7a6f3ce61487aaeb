import CausewayCore
import HTTPTypes
import Hummingbird
import NIOCore

/// The application's responder: the admin page (`admin.path`) and, for everything else, the `ParseResponder`
/// of the current configuration (`GatewayHolder`), taken once per request so that a reload swaps it between
/// requests, never during one. Answers with a 4xx or 5xx status go to the admin page's error log.
public struct CausewayResponder: HTTPResponder {
    public typealias Context = ParseRequestContext

    let holder: GatewayHolder
    let admin: AdminEndpoint?
    let errors: AdminErrorLog

    public func respond(to request: Request, context: Context) async throws -> Response {
        var context = context
        if let admin, admin.handles(request.uri.path) {
            context.remoteAddress = CausewayResponder.clientAddress(request, context, holder.current.gateway.config.server.trustedProxies)
            return try await admin.respond(to: request, context: context)
        }
        let generation = holder.acquire()
        defer { generation.leave() }
        context.remoteAddress = CausewayResponder.clientAddress(request, context, generation.gateway.config.server.trustedProxies)
        let capture = ErrorCapture()
        let response = try await ErrorCapture.$current.withValue(capture) {
            try await generation.responder.respond(to: request, context: context)
        }
        if response.status.code >= 400 {
            let noted = capture.error
            errors.record(.init(at: .now(), requestId: context.id, method: request.method.rawValue,
                                path: request.uri.path, status: Int(response.status.code), code: noted?.code.rawValue,
                                message: noted?.message ?? response.status.reasonPhrase))
        }
        return response
    }

    static let forwardedFor = HTTPField.Name("X-Forwarded-For")!

    /// The peer, or behind a trusted proxy the client its `X-Forwarded-For` names.
    static func clientAddress(_ request: Request, _ context: Context, _ proxies: TrustedProxies) -> String? {
        guard !proxies.list.isEmpty else { return context.peerAddress }
        return proxies.clientAddress(peer: context.peerAddress, forwardedFor: request.headers[values: forwardedFor])
    }
}

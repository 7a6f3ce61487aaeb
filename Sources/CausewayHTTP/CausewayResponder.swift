import CausewayCore
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
        if let admin, admin.handles(request.uri.path) {
            return try await admin.respond(to: request, context: context)
        }
        let generation = holder.acquire()
        defer { generation.leave() }
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
}

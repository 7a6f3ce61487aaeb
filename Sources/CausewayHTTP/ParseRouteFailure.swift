import CausewayCore
import HTTPTypes
import Hummingbird
import NIOCore

/// A routing failure with the HTTP status Parse Server uses for it (404 for no endpoint, 405 for a method
/// an endpoint does not take), carrying a Parse error body.
struct ParseRouteFailure: Error, HTTPResponseError {
    let status: HTTPResponse.Status
    let error: GatewayError

    init(status: Int, _ error: GatewayError) {
        self.status = .init(code: status)
        self.error = error
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        ParseReply.json(Int(status.code)) { w in ParseReply.writeError(error, &w) }.response(omitBody: request.method == .head)
    }
}

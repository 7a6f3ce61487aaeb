import CausewayCore
import HTTPTypes
import Hummingbird
import NIOCore

extension ParseReply {
    /// The HTTP response: JSON, never cached by intermediaries, with Parse's CORS headers on every answer.
    ///
    /// Hummingbird's `CORSMiddleware` is not used: it adds headers only when the request has an `Origin`
    /// and answers preflights with 204, while Parse Server (and SDKs that probe it) expect the headers on
    /// every response and 200 for `OPTIONS`.
    func response(omitBody: Bool = false) -> Response {
        var fields: HTTPFields = ParseReply.corsHeaders
        fields[.contentType] = "application/json; charset=utf-8"
        fields[.cacheControl] = "private, no-cache, no-store"
        for (name, value) in headers {
            if let n = HTTPField.Name(name) { fields[n] = value }
        }
        return Response(status: .init(code: status), headers: fields, body: omitBody ? .init() : .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    static let corsHeaders: HTTPFields = [
        .accessControlAllowOrigin: "*",
        .accessControlAllowMethods: "GET,PUT,POST,DELETE,OPTIONS",
        .accessControlAllowHeaders: "X-Parse-Master-Key, X-Parse-REST-API-Key, X-Parse-Javascript-Key, X-Parse-Application-Id, X-Parse-Client-Version, X-Parse-Session-Token, X-Requested-With, X-Parse-Revocable-Session, X-Parse-Request-Id, Content-Type, Pragma, Cache-Control, X-Parse-Installation-Id, X-Parse-Client-Key, X-Parse-Windows-Key",
        .accessControlExposeHeaders: "X-Parse-Job-Status-Id, X-Parse-Push-Status-Id",
    ]
}

/// A `GatewayError` thrown by a route handler becomes Parse's `{code, error}` answer with its HTTP status.
extension GatewayError: HTTPResponseError {
    public var status: HTTPResponse.Status { .init(code: httpStatus) }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        ParseReply.error(self).response(omitBody: request.method == .head)
    }
}

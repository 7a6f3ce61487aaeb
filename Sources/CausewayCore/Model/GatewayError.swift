/// The one error type the core throws.
///
/// `message` is safe to show to API clients; `detail` carries internal context (SQL state,
/// file paths, upstream bodies) for logs only and never reaches a response.
///
/// Like PostgresNIO's errors, `description` (what string interpolation and most log lines show) carries
/// only the code and the client-safe message; `debugDescription` (`String(reflecting:)`) adds `detail`.
public struct GatewayError: Error, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    public var code: ParseErrorCode
    public var message: String
    public var detail: String?

    public init(_ code: ParseErrorCode, _ message: String, detail: String? = nil) {
        self.code = code
        self.message = message
        self.detail = detail
    }

    public var description: String { "[\(code)] \(message)" }

    public var debugDescription: String {
        if let detail { return "[\(code)] \(message) (\(detail))" }
        return description
    }

    /// The HTTP status Parse Server uses for this code: 404 for 101, 500 for 1, 400 otherwise.
    /// Connection failures and timeouts are 503/504 so that SDKs retry them (a retry is harmless).
    public var httpStatus: Int {
        switch code {
        case .objectNotFound: return 404
        case .internalServerError: return 500
        case .connectionFailed: return 503
        case .timeout: return 504
        case .objectTooLarge: return 413
        case .requestLimitExceeded: return 429
        default: return 400
        }
    }

    public static func objectNotFound() -> GatewayError { GatewayError(.objectNotFound, "Object not found.") }

    public static func invalidQuery(_ message: String) -> GatewayError { GatewayError(.invalidQuery, message) }
}

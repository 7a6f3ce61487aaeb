import AsyncHTTPClient
import CausewayCore
import Foundation
import NIOCore
import NIOPosix

/// Upstream failures as Parse errors, with the upstream status in the message (never a bare 500).
enum RESTErrors {
    static func status(_ status: Int, body: [UInt8], connector: String) -> GatewayError {
        let snippet = String(decoding: body.prefix(300), as: UTF8.self)
        switch status {
        case 404: return GatewayError(.objectNotFound, "Object not found.", detail: "upstream \(connector) 404: \(snippet)")
        case 400, 409, 422: return GatewayError(.validationError, "The upstream API of connector \(connector) refused the request (HTTP \(status)).", detail: snippet)
        case 401, 403: return GatewayError(.operationForbidden, "The upstream API of connector \(connector) refused Causeway's credentials (HTTP \(status)).", detail: snippet)
        case 429: return GatewayError(.connectionFailed, "The upstream API of connector \(connector) is rate-limiting requests (HTTP 429); retry shortly.", detail: snippet)
        case 500...599: return GatewayError(.connectionFailed, "The upstream API of connector \(connector) failed (HTTP \(status)); retry shortly.", detail: snippet)
        default: return GatewayError(.internalServerError, "The upstream API of connector \(connector) answered HTTP \(status).", detail: snippet)
        }
    }

    /// A transport failure, typed for the retry decision: a refused connection and timeouts are not
    /// repeated (nothing listens, or the time is already spent; the circuit breaker takes over); a
    /// connection lost mid-exchange is (a pooled connection the server had closed, a restart).
    static func transport(_ error: any Error, connector: String, url: String) -> RESTUpstreamFailure {
        if let e = error as? HTTPClientError, e == .deadlineExceeded || e == .readTimeout || e == .connectTimeout {
            return RESTUpstreamFailure(status: nil, retryable: false, error: GatewayError(.timeout,
                "The upstream API of connector \(connector) did not answer in time; retry the request.", detail: "\(url): \(e)"))
        }
        if let e = error as? ChannelError, case .connectTimeout = e {
            return RESTUpstreamFailure(status: nil, retryable: false, error: GatewayError(.timeout,
                "The upstream API of connector \(connector) did not accept a connection in time; retry the request.", detail: "\(url): \(e)"))
        }
        let refused = isRefused(error)
        return RESTUpstreamFailure(status: nil, retryable: !refused, error: GatewayError(.connectionFailed,
            refused ? "The upstream API of connector \(connector) refused the connection (nothing listens there); retry shortly."
                    : "The upstream API of connector \(connector) cannot be reached; retry shortly.", detail: "\(url): \(error)"))
    }

    /// Whether the connection was refused or could not be routed: trying again at once cannot help.
    static func isRefused(_ error: any Error) -> Bool {
        let hopeless: Set<Int32> = [ECONNREFUSED, EHOSTUNREACH, ENETUNREACH, EADDRNOTAVAIL]
        if let e = error as? IOError { return hopeless.contains(e.errnoCode) }
        if let e = error as? NIOConnectionError {
            return !e.connectionErrors.isEmpty && e.connectionErrors.allSatisfy { isRefused($0.error) }
        }
        if error is SocketAddressError { return true }
        return false
    }
}

/// A failed upstream exchange, typed for the retry decision: the HTTP status when there was one, and
/// whether repeating an idempotent request may help (a lost connection, 429, 5xx).
/// `RESTConnector.send` decides on these fields and passes only `error` on.
struct RESTUpstreamFailure: Error {
    let status: Int?
    let retryable: Bool
    let error: GatewayError
}

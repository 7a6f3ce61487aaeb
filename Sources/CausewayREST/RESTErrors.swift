import AsyncHTTPClient
import CausewayCore
import NIOCore
import Synchronization

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

    static func transport(_ error: any Error, connector: String, url: String) -> GatewayError {
        if let e = error as? HTTPClientError, e == .deadlineExceeded || e == .readTimeout || e == .connectTimeout {
            return GatewayError(.timeout, "The upstream API of connector \(connector) did not answer in time; retry the request.", detail: "\(url): \(e)")
        }
        return GatewayError(.connectionFailed, "The upstream API of connector \(connector) cannot be reached; retry shortly.", detail: "\(url): \(error)")
    }

    static func isRetryable(_ error: GatewayError) -> Bool {
        error.code == .connectionFailed || error.code == .timeout
    }
}

/// At most `limit` requests in flight per connector; the rest wait their turn.
final class ConcurrencyLimiter: Sendable {
    private struct State {
        var running = 0
        var waiting: [CheckedContinuation<Void, Never>] = []
    }
    private let state: Mutex<State>
    let limit: Int

    init(limit: Int) {
        self.limit = limit
        state = Mutex(State())
    }

    func run<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        await acquire()
        defer { release() }
        return try await body()
    }

    private func acquire() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let go = state.withLock { s -> Bool in
                if s.running < limit { s.running += 1; return true }
                s.waiting.append(c)
                return false
            }
            if go { c.resume() }
        }
    }

    private func release() {
        let next = state.withLock { s -> CheckedContinuation<Void, Never>? in
            if s.waiting.isEmpty { s.running -= 1; return nil }
            return s.waiting.removeFirst()
        }
        next?.resume()
    }
}

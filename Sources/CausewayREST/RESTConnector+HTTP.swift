import AsyncHTTPClient
import CausewayCore
import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// One upstream answer before it is read as JSON.
struct RESTAnswer {
    var status: Int
    var headers: HTTPHeaders
    var bytes: [UInt8]

    var isBlank: Bool { bytes.allSatisfy { $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 } }
    var contentType: String { headers.first(name: "Content-Type")?.lowercased() ?? "" }
    /// No Content-Type, or one that names JSON (`application/json`, `application/vnd.api+json`, …).
    /// Compared on bytes: Foundation's `contains` cost a measurable share of an uncached get.
    var mayBeJSON: Bool {
        guard let declared = headers.first(name: "Content-Type") else { return true }
        let bytes = Array(declared.utf8).map { $0 | 0x20 }  // ASCII lower case; "json" has no byte it would confuse
        let json = Array("json".utf8)
        return declared.isEmpty || (bytes.count >= json.count && (0...(bytes.count - json.count)).contains { bytes[$0..<$0 + json.count].elementsEqual(json) })
    }
    /// Declared as JSON, or undeclared and starting like JSON.
    var looksLikeJSON: Bool {
        if headers.first(name: "Content-Type").map({ !$0.isEmpty }) ?? false { return mayBeJSON }
        guard let first = bytes.first(where: { $0 != 0x20 && $0 != 0x0A && $0 != 0x0D && $0 != 0x09 }) else { return false }
        return first == UInt8(ascii: "{") || first == UInt8(ascii: "[")
    }
}

/// A successful exchange: the JSON body (nil when the answer is the declared end of a list's data).
struct RESTReply {
    var json: JSONValue?
    var headers: HTTPHeaders
    var status: Int
    var body: JSONValue { json ?? .object([:]) }
}

extension RESTConnector {
    /// One request with auth, the circuit breaker, a concurrency limit, and retries with backoff — only of
    /// idempotent requests, and only for what a repetition can fix (a dropped connection, 429, 5xx; not a
    /// refused connection or a timeout, which the breaker handles), plus one retry after an OAuth2 token was
    /// refused. Upstream failures become Parse errors; the upstream's own text goes to the log only.
    /// `context` is nil for the gateway's own calls (`check`, which also bypasses the breaker via `given`).
    /// `endOfData` (pages after the first): answers that mean "no more records" give a reply without JSON.
    func send(method: String, url: String, body: JSONValue?, idempotent: Bool, context: ConnectorContext?,
              via given: HTTPClient? = nil, endOfData: RESTCollection.PageEnd? = nil) async throws -> RESTReply {
        let http = try given ?? client()
        let logger = context?.logger ?? self.logger
        var attempt = 0
        while true {
            let admission = given == nil ? breaker.admit() : .pass
            if case .refuse(let retryIn, let failures) = admission {
                let seconds = max(1, Int((retryIn + .milliseconds(999)).components.seconds))
                throw GatewayError(.connectionFailed,
                                   "The upstream API of connector \(name) is unavailable (\(failures) failures in a row); Causeway tries it again \(retryIn == .zero ? "now" : "in \(seconds) s").")
            }
            let probe = admission == .probe
            do {
                let answer: RESTAnswer
                do {
                    answer = try await limiter.withPermit {
                        try await self.sendOnce(method: method, url: url, body: body, http: http, caller: context?.caller)
                    }
                } catch let failure as RESTUpstreamFailure {
                    if given == nil { breaker.failed(probe: probe) }
                    throw failure
                } catch {
                    if given == nil { breaker.abandoned(probe: probe) }
                    throw error
                }
                if given == nil {
                    if answer.status >= 500 { breaker.failed(probe: probe) } else { breaker.succeeded() }
                }
                return try interpret(answer, method: method, url: url, endOfData: endOfData, write: !idempotent, logger: logger)
            } catch let caught {
                // A typed upstream failure, or one from fetching an OAuth2 token (retryable by its code).
                let failure = caught as? RESTUpstreamFailure ?? (caught as? GatewayError).map {
                    RESTUpstreamFailure(status: nil, retryable: $0.code == .connectionFailed || $0.code == .timeout, error: $0)
                }
                guard let failure else { throw caught }
                let tokenRefused = oauth != nil && attempt == 0 && failure.status == 401
                guard attempt < settings.retries, tokenRefused || (idempotent && failure.retryable) else { throw failure.error }
                attempt += 1
                let delay = settings.retryBackoffMs * (1 << (attempt - 1))
                logger.notice("retrying upstream request", metadata: [
                    "causeway.connector": .string(name), "attempt": .stringConvertible(attempt), "error": .string(String(reflecting: failure.error)),
                ])
                try await Task.sleep(for: .milliseconds(delay))
            }
        }
    }

    /// An answer as a reply or a Parse error. The upstream's text is logged (with the connector and, through
    /// the request's logger, the request id) and never put in a client's message.
    /// A write's 2xx answer that is not JSON is still a success (with an empty body): it happened.
    func interpret(_ answer: RESTAnswer, method: String, url: String, endOfData: RESTCollection.PageEnd?, write: Bool, logger: Logger) throws -> RESTReply {
        let status = answer.status
        if let end = endOfData, end.statuses.contains(status) || (end.empty && answer.isBlank)
            || (end.nonJSON && status < 500 && !answer.isBlank && !answer.looksLikeJSON) {
            return RESTReply(json: nil, headers: answer.headers, status: status)
        }
        func logUpstream(_ what: String, level: Logger.Level) {
            logger.log(level: level, "\(what)", metadata: [
                "causeway.connector": .string(name), "upstream.status": .stringConvertible(status), "upstream.request": .string("\(method) \(url)"),
                "upstream.contentType": .string(answer.contentType), "upstream.body": .string(String(decoding: answer.bytes.prefix(500), as: UTF8.self)),
            ])
        }
        guard (200..<300).contains(status) else {
            logUpstream("upstream refused the request", level: status == 404 ? .debug : .notice)
            throw RESTUpstreamFailure(status: status, retryable: status == 429 || status >= 500,
                                      error: RESTErrors.status(status, body: answer.bytes, connector: name))
        }
        if answer.isBlank { return RESTReply(json: .object([:]), headers: answer.headers, status: status) }
        if write && !answer.looksLikeJSON {
            logUpstream("upstream accepted a write with an answer that is not JSON", level: .notice)
            return RESTReply(json: .object([:]), headers: answer.headers, status: status)
        }
        guard answer.mayBeJSON else {
            logUpstream("upstream answered something other than JSON", level: .notice)
            throw RESTUpstreamFailure(status: status, retryable: false, error: GatewayError(.connectionFailed,
                "The upstream API of connector \(name) answered \(answer.contentType), not JSON (HTTP \(status)); the gateway log has its text."))
        }
        do {
            return RESTReply(json: try JSONParser.parse(answer.bytes), headers: answer.headers, status: status)
        } catch where write {
            logUpstream("upstream accepted a write with malformed JSON", level: .notice)
            return RESTReply(json: .object([:]), headers: answer.headers, status: status)
        } catch {
            logUpstream("upstream answered malformed JSON", level: .notice)
            throw RESTUpstreamFailure(status: status, retryable: false, error: GatewayError(.connectionFailed,
                "The upstream API of connector \(name) answered malformed JSON (HTTP \(status)); the gateway log has its text.", detail: "\(error)"))
        }
    }

    /// The headers every request carries: Accept, User-Agent and the static credentials (made once).
    static func fixedHeaders(_ settings: RESTSettings, name: String) -> HTTPHeaders {
        var headers: HTTPHeaders = ["Accept": "application/json", "User-Agent": "causeway/\(name)"]
        switch settings.auth {
        case .none, .oauth2: break
        case .header(let n, let v): headers.add(name: n, value: v)
        case .basic(let u, let p): headers.add(name: "Authorization", value: "Basic " + Base64.encode(Array("\(u):\(p)".utf8)))
        case .bearer(let t): headers.add(name: "Authorization", value: "Bearer " + t)
        }
        return headers
    }

    func sendOnce(method: String, url: String, body: JSONValue?, http: HTTPClient, caller: Caller?) async throws -> RESTAnswer {
        var request = HTTPClientRequest(url: url)
        request.method = HTTPMethod(rawValue: method)
        request.headers = fixedHeaders
        if let oauth {
            request.headers.add(name: "Authorization", value: "Bearer " + (try await oauth.token(using: http, timeout: .milliseconds(Int64(settings.requestTimeoutMs)))))
        }
        if let header = settings.forwardIdentityHeader, let user = caller?.user {
            request.headers.add(name: header, value: settings.forwardIdentityValue == .username ? user.username : user.objectId)
        }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: JSONWriter.serialize(body)))
        }
        let response: HTTPClientResponse
        do {
            response = try await http.execute(request, timeout: .milliseconds(Int64(settings.requestTimeoutMs)))
        } catch let error as GatewayError {
            throw error
        } catch {
            throw RESTErrors.transport(error, connector: name, url: url)
        }
        var buffer: ByteBuffer
        do {
            buffer = try await response.body.collect(upTo: settings.maxResponseBytes)
        } catch is NIOTooManyBytesError {
            throw RESTUpstreamFailure(status: Int(response.status.code), retryable: false, error: GatewayError(.internalServerError,
                "The upstream API of connector \(name) answered more than \(settings.maxResponseBytes) bytes (maxResponseBytes)."))
        } catch {
            throw RESTErrors.transport(error, connector: name, url: url)
        }
        let status = Int(response.status.code)
        if status == 401, let oauth { oauth.invalidate() }
        return RESTAnswer(status: status, headers: response.headers, bytes: buffer.readBytes(length: buffer.readableBytes) ?? [])
    }
}

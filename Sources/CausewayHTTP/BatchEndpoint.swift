import CausewayCore
import HTTPTypes
import Logging

/// `POST /batch`: runs sub-requests in order and answers `{"success":…}` or `{"error":…}` for each.
struct BatchEndpoint: Sendable {
    let endpoints: ParseEndpoints

    func run(_ call: ParseCall, caller: Caller, logger: Logger) async throws -> ParseReply {
        let body = try call.bodyObject()
        guard case .array(let requests)? = body["requests"] else {
            throw GatewayError(.invalidJSON, "requests must be an array")
        }
        let max = endpoints.config.limits.maxBatchRequests
        guard requests.count <= max else {
            throw GatewayError(.invalidJSON, "A batch may hold at most \(max) requests; this one has \(requests.count).")
        }
        // Validate every sub-request before running any, as Parse does for routing errors.
        var calls: [ParseCall] = []
        for (i, item) in requests.enumerated() {
            guard case .object(let r) = item else { throw GatewayError(.invalidJSON, "requests[\(i)] must be an object.") }
            guard case .string(let methodName)? = r["method"], let method = HTTPRequest.Method(methodName.uppercased()),
                  [.get, .post, .put, .delete].contains(method) else {
                throw GatewayError(.invalidJSON, "requests[\(i)].method must be GET, POST, PUT or DELETE.")
            }
            guard case .string(let path)? = r["path"] else { throw GatewayError(.invalidJSON, "requests[\(i)].path must be a string.") }
            calls.append(try subCall(path: path, method: method, body: r["body"], parent: call))
        }
        if case .bool(true)? = body["transaction"] {
            return try await runTransaction(calls, caller: caller, logger: logger)
        }
        var w = JSONWriter(capacity: 128 * calls.count)
        w.byte(UInt8(ascii: "["))
        for (i, sub) in calls.enumerated() {
            if i > 0 { w.byte(UInt8(ascii: ",")) }
            let reply: ParseReply
            do {
                reply = try await endpoints.dispatchObject(sub, caller: caller, logger: logger)
            } catch let error as GatewayError {
                reply = .error(error)
            } catch let failure as ParseRouteFailure {
                reply = .error(failure.error)
            }
            if reply.isSuccess {
                w.raw("{\"success\":")
                w.bytes.append(contentsOf: reply.body)
            } else {
                w.raw("{\"error\":")
                w.bytes.append(contentsOf: reply.body)
            }
            w.raw("}")
        }
        w.byte(UInt8(ascii: "]"))
        return ParseReply(status: 200, body: w.bytes)
    }

    /// All-or-nothing: every sub-request runs in one transaction of the one connector the classes belong to.
    /// The first failure rolls everything back and is the batch's answer.
    private func runTransaction(_ calls: [ParseCall], caller: Caller, logger: Logger) async throws -> ParseReply {
        struct Abort: Error { let reply: ParseReply }
        let classes = Set(calls.map { $0.segments[1] })
        do {
            let body = try await endpoints.gateway.withTransaction(classNames: classes) { gateway in
                let scoped = ParseEndpoints(gateway: gateway, auth: endpoints.auth)
                var w = JSONWriter(capacity: 128 * calls.count)
                w.byte(UInt8(ascii: "["))
                for (i, sub) in calls.enumerated() {
                    let reply: ParseReply
                    do {
                        reply = try await scoped.dispatchObject(sub, caller: caller, logger: logger)
                    } catch let error as GatewayError {
                        reply = .error(error)
                    } catch let failure as ParseRouteFailure {
                        reply = .error(failure.error)
                    }
                    guard reply.isSuccess else { throw Abort(reply: reply) }
                    if i > 0 { w.byte(UInt8(ascii: ",")) }
                    w.raw("{\"success\":")
                    w.bytes.append(contentsOf: reply.body)
                    w.raw("}")
                }
                w.byte(UInt8(ascii: "]"))
                return w.bytes
            }
            return ParseReply(status: 200, body: body)
        } catch let abort as Abort {
            return abort.reply
        }
    }

    /// Accepts `/parse/classes/…` (with the mount path) and `/classes/…` (without).
    private func subCall(path: String, method: HTTPRequest.Method, body: JSONValue?, parent: ParseCall) throws(GatewayError) -> ParseCall {
        var pathPart = Substring(path)
        var parameters: [String: JSONValue] = [:]
        if let q = path.firstIndex(of: "?") {
            pathPart = path[..<q]
            guard let decoded = QueryString.decode(String(path[path.index(after: q)...])) else {
                throw GatewayError(.invalidJSON, "cannot route batch path \(path)")
            }
            for (k, v) in decoded { parameters[k] = .string(v) }
        }
        let mount = endpoints.config.server.mountPath
        if mount != "/", pathPart.hasPrefix(mount + "/") { pathPart = pathPart.dropFirst(mount.count) }
        guard pathPart.hasPrefix("/") else { throw GatewayError(.invalidJSON, "cannot route batch path \(path)") }
        var segments: [String] = []
        for raw in pathPart.split(separator: "/") {
            guard let s = QueryString.unescape(raw) else { throw GatewayError(.invalidJSON, "cannot route batch path \(path)") }
            segments.append(s)
        }
        guard segments.first == "classes", (2...3).contains(segments.count) else {
            throw GatewayError(.invalidJSON, "cannot route batch path \(path)")
        }
        var sub = ParseCall(method: method, segments: segments, parameters: parameters, body: body, credentials: parent.credentials)
        if method == .get || method == .delete, case .object(let o)? = body {
            for (k, v) in o where sub.parameters[k] == nil { sub.parameters[k] = v }
            sub.body = nil
        }
        return sub
    }
}

import CausewayCore
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// The Parse REST API's outer responder: what Parse requires before a request can be routed, then
/// Hummingbird's router (`ParseRoutes`).
///
/// Before routing it answers `OPTIONS`, `/metrics` and `/health` (no keys needed), reads the body (bounded)
/// as JSON whatever the content type (the JS SDK posts `text/plain`), applies the SDKs' `_method` override
/// and body-borne credentials, decodes the query string, checks the application id and keys and resolves a
/// session token to its user. The router's handlers find all of that in `ParseRequestContext`. Every
/// failure, the framework's own included, becomes Parse's `{code, error}` shape; nothing escapes as a bare 500.
public struct ParseResponder: HTTPResponder {
    public typealias Context = ParseRequestContext

    let gateway: Gateway
    let config: GatewayConfig
    let authenticator: ParseAuthenticator
    let endpoints: ParseEndpoints
    let routes: RouterResponder<ParseRequestContext>
    let status: ComponentStatus
    /// The identity providers' status entry, when users and sessions are configured.
    let identity: ComponentStatus.Entry?

    let auth: AuthService?
    let metrics: MetricsEndpoint?
    /// Fails `/health/ready` once shutdown has begun (`ParseResponder+Probes.swift`).
    let readiness: Readiness

    public init(gateway: Gateway, auth: AuthService? = nil, metrics: MetricsEndpoint? = nil, status: ComponentStatus,
                readiness: Readiness = Readiness()) {
        self.readiness = readiness
        self.metrics = metrics
        self.gateway = gateway
        self.config = gateway.config
        self.auth = auth
        self.authenticator = ParseAuthenticator(app: gateway.config.app)
        self.endpoints = ParseEndpoints(gateway: gateway, auth: auth)
        self.routes = endpoints.router().buildResponder()
        self.status = status
        self.identity = auth.map { _ in status.entry(IdentityService.componentName) }
    }

    public func respond(to request: Request, context: Context) async throws -> Response {
        let started = ContinuousClock.now
        var context = context
        if let rid = request.headers[.parseRequestId] { context.logger[metadataKey: "request.parse_id"] = .string(LogText.clean(rid, limit: 128)) }
        let logger = context.logger
        let response: Response
        do {
            response = try await handle(request, context: context)
        } catch let error as GatewayError {
            ParseRoutingMiddleware.log(error, logger)
            response = ParseReply.error(error).response(omitBody: request.method == .head)
        } catch {
            logger.error("unexpected failure", metadata: ["error": .string(String(reflecting: error))])
            response = ParseReply.internalError.response(omitBody: request.method == .head)
        }
        let elapsed = ContinuousClock.now - started
        let ms = Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000
        logger.info("request", metadata: [
            "http.method": .string(request.method.rawValue),
            "http.path": .string(LogText.clean(request.uri.path, limit: 512)),
            "http.status": .stringConvertible(response.status.code),
            "http.duration_ms": .string(String(Double(Int(ms * 100)) / 100)),
        ])
        return response
    }

    static let explainHeader = HTTPField.Name("X-Causeway-Explain")!

    private func handle(_ request: Request, context: Context) async throws -> Response {
        let head = request.method == .head
        if let reply = try preRoutingReply(request, remoteAddress: context.remoteAddress) { return reply.response(omitBody: head) }
        var context = context
        let call = try await parseCall(request, remoteAddress: context.remoteAddress)
        switch authenticator.authenticate(call.credentials, remoteAddress: context.remoteAddress) {
        case .rejected(let reply):
            return reply.response(omitBody: head)
        case .caller(var caller):
            if let identity, !identity.up, call.credentials.sessionToken != nil || call.segments.first.map(ParseResponder.identitySegments.contains) == true {
                throw GatewayError(.connectionFailed, "Users and sessions are not available yet (the identity providers are \(identity.current == .stopping ? "stopping" : "starting")); retry shortly.")
            }
            // A session token makes the caller that user; `/login` ignores a stale one, as Parse does.
            if let token = call.credentials.sessionToken, !caller.isMaster, call.segments != ["login"] {
                guard let auth else { throw GatewayError(.invalidSessionToken, "Invalid session token") }
                let (user, _) = try await auth.validate(token: token)
                caller = auth.caller(for: user)
            }
            context.caller = caller
            context.call = call
            // `X-Causeway-Explain: 1` with the master key: connectors log the plans of this request's statements.
            if caller.isMaster, request.headers[ParseResponder.explainHeader] == "1" {
                context.logger[metadataKey: ConnectorContext.explainMetadataKey] = "1"
            }
        }
        // Routed by the method Parse sees (after `_method`; HEAD as GET) on the path as sent.
        var routedHead = request.head
        routedHead.method = head ? .get : call.method
        let routed = Request(head: routedHead, body: .init(buffer: ByteBuffer()))
        var response = try await routes.respond(to: routed, context: context)
        if head { response.body = .init() }
        return response
    }

    /// `OPTIONS`, `/metrics`, `/health` and paths outside the mount path: answered without keys or routing.
    private func preRoutingReply(_ request: Request, remoteAddress: String?) throws -> ParseReply? {
        let path = request.uri.path
        if request.method == .options { return ParseReply(status: 200, body: []) }
        if let metrics, path == metrics.settings.path {
            return metrics.reply(authorization: request.headers[.authorization], masterKey: request.headers[.parseMasterKey],
                                 configuredMasterKey: config.app.masterKey, remoteAddress: remoteAddress)
        }
        let mount = config.server.mountPath
        if path == "/health" || path == "/health/" || path == (mount == "/" ? "" : mount) + "/health" || path == (mount == "/" ? "" : mount) + "/health/" {
            return health()
        }
        // The OpenAPI document holds shapes, never data: served without keys so tools can fetch it (#16).
        if request.method == .get || request.method == .head, path == (mount == "/" ? "" : mount) + "/openapi.json" {
            return endpoints.openAPI()
        }
        if let probe = probeReply(path) { return probe }
        guard mount == "/" || path == mount || path.hasPrefix(mount + "/") else {
            return ParseReply.json(404) { w in
                ParseReply.writeError(GatewayError(.commandUnavailable, "No endpoint at \(LogText.clean(path, limit: 256)); the Parse API is mounted at \(mount)."), &w)
            }
        }
        return nil
    }

    /// The request as Parse sees it: decoded path below the mount path, parameters, JSON body, credentials.
    private func parseCall(_ request: Request, remoteAddress: String?) async throws -> ParseCall {
        let mount = config.server.mountPath
        let below = mount == "/" ? Substring(request.uri.path) : request.uri.path.dropFirst(mount.count)
        var segments: [String] = []
        for raw in below.split(separator: "/") {
            // In a path, `+` is a plus sign (only query strings use it for spaces).
            guard raw.utf8.contains(where: { $0 == UInt8(ascii: "%") }) else { segments.append(String(raw)); continue }
            guard let s = QueryString.unescape(raw, plusIsSpace: false) else {
                throw GatewayError(.invalidQuery, "Improper encode of parameter")
            }
            segments.append(s)
        }
        // Body: bounded, then JSON whatever the content type (the JS SDK posts text/plain).
        var bodyBytes: [UInt8] = []
        do {
            var buffer = try await request.body.collect(upTo: config.limits.maxBodyBytes)
            bodyBytes = buffer.readBytes(length: buffer.readableBytes) ?? []
        } catch is NIOTooManyBytesError {
            throw GatewayError(.objectTooLarge, "The request body is larger than the limit of \(config.limits.maxBodyBytes) bytes.")
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            // The client's framing (chunk sizes, Transfer-Encoding, a body cut short) broke while the body was
            // read: a client error, never a 500.
            throw GatewayError(.invalidJSON, "The request body could not be read: its HTTP framing is malformed.", detail: String(reflecting: error))
        }
        var body: JSONValue?
        if bodyBytes.contains(where: { $0 != 0x20 && $0 != 0x0A && $0 != 0x0D && $0 != 0x09 }) {
            do { body = try JSONParser.parse(bodyBytes) } catch {
                throw GatewayError(.invalidJSON, "Invalid JSON: \(error.description).")
            }
        }
        var call = ParseCall(method: request.method == .head ? .get : request.method, segments: segments, parameters: [:], body: body,
                             credentials: credentials(request.headers, body))
        call.credentials.remoteAddress = remoteAddress
        if case .object(var o)? = body {
            let override = o["_method"]?.stringValue
            for key in ParseCall.transportKeys { o[key] = nil }
            call.body = .object(o)
            if request.method == .post, let override {
                guard let method = HTTPRequest.Method(override.uppercased()), [.get, .put, .delete, .post].contains(method) else {
                    throw GatewayError(.invalidJSON, "Unsupported _method '\(LogText.clean(override, limit: 32))'.")
                }
                call.method = method
                if method == .get || method == .delete {
                    call.parameters = o
                    call.body = nil
                }
            }
        }
        if let query = request.uri.query, !query.isEmpty, call.parameters.isEmpty, call.method == .get, segments.count == 2,
           segments[0] == "classes", let parsed = endpoints.findMemo.lookup(segments[1], rawQuery: query) {
            // A repeated find: its parsed form is remembered, so the query string is not decoded again.
            call.parsedFind = parsed
        } else if let query = request.uri.query, !query.isEmpty {
            if call.parameters.isEmpty { call.rawQuery = query }
            guard let decoded = QueryString.decode(query) else { throw GatewayError(.invalidQuery, "Improper encode of parameter") }
            for (k, v) in decoded where call.parameters[k] == nil { call.parameters[k] = .string(v) }
        }
        return call
    }

    /// Paths that need the identity providers.
    static let identitySegments: Set<String> = ["users", "login", "logout", "sessions", "roles"]

    /// `/health`: 200 `{"status":"ok"}` (Parse's answer) when every connector and the identity providers are
    /// up; 503 otherwise, with each part's state (`starting`, `stopping`, or why it is unavailable), so a
    /// load balancer and an operator both see what is missing.
    func health() -> ParseReply {
        let parts = status.snapshot
        var detail: [String: JSONValue] = [:]
        for (name, state) in parts {
            switch state {
            case .up: detail[name] = .string("up")
            case .starting: detail[name] = .string("starting")
            case .stopping: detail[name] = .string("stopping")
            case .unavailable(let reason): detail[name] = .string("unavailable: " + reason)
            }
        }
        // Parse's own answer when healthy; while not, the parts and their states too.
        if parts.allSatisfy({ $0.state == .up }) { return .json(200, .object(["status": .string("ok")])) }
        let starting = parts.contains { $0.state == .starting }
        return .json(503, .object(["status": .string(starting ? "starting" : "unavailable"), "components": .object(detail)]))
    }

    private func credentials(_ headers: HTTPFields, _ body: JSONValue?) -> ParseCall.Credentials {
        var c = ParseCall.Credentials()
        let o = body?.objectValue ?? [:]
        c.applicationId = headers[.parseApplicationId] ?? o["_ApplicationId"]?.stringValue
        c.masterKey = headers[.parseMasterKey] ?? o["_MasterKey"]?.stringValue
        c.sessionToken = headers[.parseSessionToken] ?? o["_SessionToken"]?.stringValue
        c.installationId = headers[.parseInstallationId] ?? o["_InstallationId"]?.stringValue
        c.requestId = headers[.parseRequestId]
        c.cacheBypass = headers[.causewayCache]?.lowercased() == "bypass"
        for (name, header, bodyKey) in ParseAuthenticator.clientKeyNames {
            if let v = HTTPField.Name(header).flatMap({ headers[$0] }) ?? o[bodyKey]?.stringValue { c.clientKeys[name] = v }
        }
        return c
    }
}

extension HTTPField.Name {
    static let parseApplicationId = HTTPField.Name("X-Parse-Application-Id")!
    static let parseMasterKey = HTTPField.Name("X-Parse-Master-Key")!
    static let parseSessionToken = HTTPField.Name("X-Parse-Session-Token")!
    static let parseInstallationId = HTTPField.Name("X-Parse-Installation-Id")!
    static let parseRequestId = HTTPField.Name("X-Parse-Request-Id")!
    static let causewayCache = HTTPField.Name("X-Causeway-Cache")!
}

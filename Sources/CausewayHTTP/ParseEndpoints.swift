import CausewayCore
import HTTPTypes
import Logging

/// Routes a `ParseCall` to the endpoint that answers it.
struct ParseEndpoints: Sendable {
    let gateway: Gateway
    let auth: AuthService?
    let findMemo = FindQueryMemo()

    var config: GatewayConfig { gateway.config }

    var users: UserEndpoints? { auth.map { UserEndpoints(auth: $0, config: config, publicURL: publicURL) } }

    func dispatch(_ call: ParseCall, caller: Caller, logger: Logger, inBatch: Bool = false) async throws -> ParseReply {
        let s = call.segments
        if let reply = try await dispatchUsers(call, caller: caller) { return reply }
        switch (s.first, s.count) {
        case ("classes", 2):
            switch call.method {
            case .get: return try await find(call, className: s[1], caller: caller, logger: logger)
            case .post: return try await create(call, className: s[1], caller: caller, logger: logger)
            default: return methodNotAllowed(call)
            }
        case ("classes", 3):
            switch call.method {
            case .get: return try await get(call, className: s[1], objectId: s[2], caller: caller, logger: logger)
            case .put: return try await update(call, className: s[1], objectId: s[2], caller: caller, logger: logger)
            case .delete:
                try await gateway.delete(s[1], objectId: s[2], caller: caller, logger: logger)
                return .json(200, .object([:]))
            default: return methodNotAllowed(call)
            }
        case ("batch", 1) where !inBatch:
            guard call.method == .post else { return methodNotAllowed(call) }
            return try await BatchEndpoint(endpoints: self).run(call, caller: caller, logger: logger)
        case ("cache", _) where call.method == .delete:
            guard caller.isMaster else { return .masterKeyRequired }
            let purged: Int
            switch (s.count, s.count > 1 ? s[1] : "") {
            case (1, _): purged = try gateway.purgeCache(connector: nil, className: nil)
            case (3, "connectors"): purged = try gateway.purgeCache(connector: s[2], className: nil)
            case (3, "classes"): purged = try gateway.purgeCache(connector: nil, className: s[2])
            default: throw GatewayError(.commandUnavailable, "Purge with DELETE /cache, /cache/connectors/NAME or /cache/classes/CLASS.")
            }
            return .json(200, .object(["purged": .int(Int64(purged))]))
        case ("serverInfo", 1):
            guard caller.isMaster else { return .masterKeyRequired }
            return serverInfo()
        case ("health", 1):
            return .json(200, .object(["status": .string("ok")]))
        case ("users", _), ("login", _), ("logout", _), ("sessions", _), ("roles", _):
            throw GatewayError(.commandUnavailable, "/\(s.joined(separator: "/")) is not available: this gateway has no identity provider configured (identityProviders in causeway.yaml).")
        case ("requestPasswordReset", _), ("verificationEmailRequest", _), ("verifyPassword", _):
            throw GatewayError(.commandUnavailable, "/\(s[0]) is not supported: passwords are managed by the identity provider.")
        default:
            return ParseReply.json(404) { w in
                ParseReply.writeError(GatewayError(.commandUnavailable, "No endpoint for \(call.method.rawValue) \(config.server.mountPath)/\(s.joined(separator: "/"))."), &w)
            }
        }
    }

    /// The user, session and role endpoints, when an identity provider is configured.
    private func dispatchUsers(_ call: ParseCall, caller: Caller) async throws -> ParseReply? {
        guard let users else { return nil }
        let s = call.segments
        let m = call.method
        switch (s.first, s.count) {
        case ("users", 1), ("classes", 2) where s[1] == "_User":
            if m == .post { return try await users.signUp(call) }
            if m == .get { return try await users.findUsers(call, caller: caller) }
            return methodNotAllowed(call)
        case ("users", 2) where s[1] == "me":
            return m == .get ? try await users.me(call) : methodNotAllowed(call)
        case ("users", 2), ("classes", 3) where s[1] == "_User":
            let id = s[s.count - 1]
            switch m {
            case .get: return try await users.getUser(id, caller: caller, call: call)
            case .put: return try await users.updateUser(id, call: call, caller: caller)
            case .delete: return try await users.deleteUser(id, caller: caller)
            default: return methodNotAllowed(call)
            }
        case ("login", 1):
            return m == .get || m == .post ? try await users.logIn(call, remoteAddress: call.credentials.remoteAddress) : methodNotAllowed(call)
        case ("logout", 1):
            return m == .post ? try await users.logOut(call) : methodNotAllowed(call)
        case ("sessions", 2) where s[1] == "me":
            return m == .get ? try await users.sessionMe(call) : methodNotAllowed(call)
        case ("roles", 1) where m == .get, ("classes", 2) where s[1] == "_Role" && m == .get:
            return try await users.findRoles(call, caller: caller)
        case ("sessions", _), ("classes", _) where s.count > 1 && s[1] == "_Session":
            throw GatewayError(.commandUnavailable, "Sessions are read with GET /sessions/me and ended with POST /logout.")
        case ("roles", _), ("classes", _) where s.count > 1 && s[1] == "_Role":
            throw GatewayError(.operationForbidden, "Roles come from the identity providers (directory groups) and cannot be changed through the API.")
        default:
            return nil
        }
    }

    private func methodNotAllowed(_ call: ParseCall) -> ParseReply {
        ParseReply.json(405) { w in
            ParseReply.writeError(GatewayError(.commandUnavailable, "\(call.method.rawValue) is not supported on \(config.server.mountPath)/\(call.segments.joined(separator: "/"))."), &w)
        }
    }

    // MARK: Objects

    func find(_ call: ParseCall, className: String, caller: Caller, logger: Logger) async throws -> ParseReply {
        let parsed = try call.parsedFind ?? findMemo.parse(className, call.parameters, rawQuery: call.rawQuery, gateway: gateway)
        let result = try await gateway.find(className, parsed, caller: caller, logger: logger, cacheMode: cacheMode(call, caller))
        var reply = result.body.map { ParseReply(status: 200, body: $0) }
            ?? ParseReply.json(200) { w in ParseCodec.writeFindResponse(result.objects, count: result.count, to: &w) }
        ParseEndpoints.addCacheHeaders(result.cache, to: &reply)
        return reply
    }

    func cacheMode(_ call: ParseCall, _ caller: Caller) -> Gateway.CacheMode {
        call.credentials.cacheBypass && caller.isMaster ? .bypass : .use
    }

    /// `X-Causeway-Cache` says where the answer came from; a stale answer served because the source failed
    /// also carries `Warning: 111`.
    static func addCacheHeaders(_ outcome: CacheOutcome?, to reply: inout ParseReply) {
        guard let outcome else { return }
        reply.headers.append(("X-Causeway-Cache", outcome.rawValue))
        if outcome == .staleIfError { reply.headers.append(("Warning", "111 - \"Revalidation Failed\"")) }
    }

    static let getParameters: Set<String> = ["keys", "excludeKeys", "include", "readPreference"]

    func get(_ call: ParseCall, className: String, objectId: String, caller: Caller, logger: Logger) async throws -> ParseReply {
        for key in call.parameters.keys where !ParseEndpoints.getParameters.contains(key) {
            throw GatewayError(.invalidQuery, "Improper encode of parameter")
        }
        if call.parameters["include"] != nil {
            throw GatewayError(.invalidQuery, "The query parameter include is not supported by Causeway yet; fetch pointed-to objects with their own query.")
        }
        let keys = try call.parameters["keys"].map { v throws(GatewayError) in Set(try names(v, "keys")) }
        let exclude = try call.parameters["excludeKeys"].map { v throws(GatewayError) in Set(try names(v, "excludeKeys")) } ?? []
        let (body, outcome) = try await gateway.getEncoded(className, objectId: objectId, keys: keys, excludeKeys: exclude, caller: caller,
                                                           logger: logger, cacheMode: cacheMode(call, caller))
        var reply = ParseReply(status: 200, body: body)
        ParseEndpoints.addCacheHeaders(outcome, to: &reply)
        return reply
    }

    private func names(_ v: JSONValue, _ parameter: String) throws(GatewayError) -> [String] {
        let list: [String]
        switch v {
        case .string(let s): list = s.split(separator: ",").map { String($0) }
        case .array(let a): list = a.compactMap(\.stringValue)
        default: throw GatewayError(.invalidQuery, "\(parameter) must be a comma-separated string.")
        }
        for k in list where !QueryParser.isValidKeyPath(k) { throw GatewayError(.invalidKeyName, "Invalid key name: \(k)") }
        return list
    }

    func create(_ call: ParseCall, className: String, caller: Caller, logger: Logger) async throws -> ParseReply {
        let body = try call.bodyObject()
        let stored = try await gateway.create(className, body: body, caller: caller, logger: logger)
        let id = stored.objectId ?? ""
        var reply = ParseReply.json(201) { w in
            w.raw("{\"objectId\":")
            w.writeString(id)
            w.raw(",\"createdAt\":")
            w.writeString((stored.createdAt ?? ParseDate.now()).iso8601)
            w.raw("}")
        }
        reply.headers.append(("Location", "\(publicURL)/classes/\(className)/\(id)"))
        return reply
    }

    func update(_ call: ParseCall, className: String, objectId: String, caller: Caller, logger: Logger) async throws -> ParseReply {
        let body = try call.bodyObject()
        let result = try await gateway.update(className, objectId: objectId, body: body, caller: caller, logger: logger)
        return .json(200) { w in
            w.raw("{\"updatedAt\":")
            w.writeString(result.updatedAt.iso8601)
            for key in result.operationResults.keys.sorted() {
                let value = result.operationResults[key]!
                w.byte(UInt8(ascii: ","))
                w.writeKey(key)
                ParseCodec.write(value, to: &w)
            }
            w.raw("}")
        }
    }

    var publicURL: String {
        if let url = config.server.publicURL { return url.hasSuffix("/") ? String(url.dropLast()) : url }
        let host = config.server.host == "0.0.0.0" || config.server.host == "::" ? "localhost" : config.server.host
        let mount = config.server.mountPath == "/" ? "" : config.server.mountPath
        return "http://\(host):\(config.server.port)\(mount)"
    }

    func serverInfo() -> ParseReply {
        .json(200, .object([
            "parseServerVersion": .string(CausewayVersion.parseServerCompatibility),
            "causewayVersion": .string(CausewayVersion.current),
            "features": .object([
                "globalConfig": .object(["create": .bool(false), "read": .bool(false), "update": .bool(false), "delete": .bool(false)]),
                "hooks": .object(["create": .bool(false), "read": .bool(false), "update": .bool(false), "delete": .bool(false)]),
                "cloudCode": .object(["jobs": .bool(false)]),
                "logs": .object(["level": .bool(false), "size": .bool(false), "order": .bool(false), "until": .bool(false), "from": .bool(false)]),
                "push": .object(["immediatePush": .bool(false), "scheduledPush": .bool(false), "storedPushData": .bool(false), "pushAudiences": .bool(false), "localization": .bool(false)]),
                "schemas": .object(["addField": .bool(false), "removeField": .bool(false), "addClass": .bool(false), "removeClass": .bool(false), "clearAllDataFromClass": .bool(false), "exportClass": .bool(false), "editClassLevelPermissions": .bool(false), "editPointerPermissions": .bool(false)]),
            ]),
        ]))
    }
}

/// Version strings reported by `/serverInfo` and `causeway --version`.
public enum CausewayVersion {
    public static let current = "0.1.0"
    /// The Parse Server release whose REST behaviour Causeway reproduces.
    public static let parseServerCompatibility = "7.4.0"
}

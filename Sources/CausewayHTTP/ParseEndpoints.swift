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

    /// The object endpoints by method and path (`/classes/Class`, `/classes/Class/id`): the routes and
    /// `/batch` sub-requests both come here.
    func dispatchObject(_ call: ParseCall, caller: Caller, logger: Logger) async throws -> ParseReply {
        let s = call.segments
        switch (call.method, s.count) {
        case (.get, 2): return try await find(call, className: s[1], caller: caller, logger: logger)
        case (.post, 2): return try await create(call, className: s[1], caller: caller, logger: logger)
        case (.get, 3): return try await get(call, className: s[1], objectId: s[2], caller: caller, logger: logger)
        case (.put, 3): return try await update(call, className: s[1], objectId: s[2], caller: caller, logger: logger)
        case (.delete, 3):
            try await gateway.delete(s[1], objectId: s[2], caller: caller, logger: logger)
            return .json(200, .object([:]))
        default: throw methodNotAllowed(call.method, call.path(mountPath: config.server.mountPath))
        }
    }

    func methodNotAllowed(_ method: HTTPRequest.Method, _ path: String) -> ParseRouteFailure {
        ParseRouteFailure(status: 405, GatewayError(.commandUnavailable, "\(method.rawValue) is not supported on \(path)."))
    }

    /// `DELETE /cache[/connectors/NAME | /classes/CLASS]` (master key): empties cached answers.
    func purgeCache(_ call: ParseCall, caller: Caller) throws -> ParseReply {
        guard caller.isMaster else { return .masterKeyRequired }
        let s = call.segments
        let purged: Int
        switch (s.count, s.count > 1 ? s[1] : "") {
        case (1, _): purged = try gateway.purgeCache(connector: nil, className: nil)
        case (3, "connectors"): purged = try gateway.purgeCache(connector: s[2], className: nil)
        case (3, "classes"): purged = try gateway.purgeCache(connector: nil, className: s[2])
        default: throw GatewayError(.commandUnavailable, "Purge with DELETE /cache, /cache/connectors/NAME or /cache/classes/CLASS.")
        }
        return .json(200, .object(["purged": .int(Int64(purged))]))
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
        let requestedKeys = try call.parameters["keys"].map { v throws(GatewayError) in Set(try names(v, "keys")) }
        let exclude = try call.parameters["excludeKeys"].map { v throws(GatewayError) in Set(try names(v, "excludeKeys")) } ?? []
        // `include` (and the includes that dotted `keys` imply), followed after the object is read.
        let (include, keys) = try gateway.includePaths(className, include: call.parameters["include"], keys: requestedKeys)
        let (body, outcome) = try await gateway.getEncoded(className, objectId: objectId, keys: keys, excludeKeys: exclude, include: include,
                                                           caller: caller, logger: logger, cacheMode: cacheMode(call, caller))
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

    func serverInfo(caller: Caller) -> ParseReply {
        guard caller.isMaster else { return .masterKeyRequired }
        return .json(200, .object([
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

import CausewayCore
import HTTPTypes
import Logging

/// `/users`, `/login`, `/logout`, `/sessions/me`, `/roles` (and `/classes/_User`, `/classes/_Role`):
/// Parse's user and session API over the `AuthService`.
struct UserEndpoints: Sendable {
    let auth: AuthService
    let config: GatewayConfig
    let publicURL: String

    /// `_User` as a queryable class: the built-in fields and what the providers fill in.
    var userSchema: CollectionSchema {
        var fields: [String: FieldMapping] = [:]
        for f in ["username", "email", "authProvider"] + auth.userFields { fields[f] = FieldMapping(name: f, type: .string, column: f) }
        return CollectionSchema(className: "_User", connectorName: "metadata", fields: fields, objectId: ObjectIdMapping(column: "object_id", type: .string),
                                createdAtColumn: "created_at", updatedAtColumn: "updated_at", readOnly: true)
    }

    // MARK: Sign-up, login, logout

    func signUp(_ call: ParseCall) async throws -> ParseReply {
        let body = try call.bodyObject()
        guard case .string(let username)? = body["username"], !username.isEmpty else {
            throw GatewayError(.usernameMissing, "bad or missing username")
        }
        guard case .string(let password)? = body["password"], !password.isEmpty else {
            throw GatewayError(.passwordMissing, "password is required")
        }
        var email: String?
        if let e = body["email"], e != .null {
            guard case .string(let s) = e, UserEndpoints.looksLikeEmail(s) else {
                throw GatewayError(.invalidEmailAddress, "Email address format is invalid.")
            }
            email = s
        }
        let allowed = Set(auth.signUpProvider?.userFields ?? [])
        var attributes: [String: String] = [:]
        for (key, value) in body where !["username", "password", "email", "ACL", "authData"].contains(key) {
            guard allowed.contains(key) else {
                throw GatewayError(.invalidKeyName, "\(key) is not a user field on this server (allowed: \(allowed.sorted().joined(separator: ", "))).")
            }
            guard case .string(let s) = value else {
                throw GatewayError(.incorrectType, "schema mismatch for _User.\(key); expected String but got \(value.parseTypeName)")
            }
            attributes[key] = s
        }
        if body["authData"] != nil {
            throw GatewayError(.commandUnavailable, "authData sign-up is not supported; log in with a username and password.")
        }
        let (user, token) = try await auth.signUp(.init(username: username, password: password, email: email, attributes: attributes),
                                                  installationId: call.credentials.installationId)
        var reply = ParseReply.json(201) { w in
            w.raw("{\"objectId\":")
            w.writeString(user.objectId)
            w.raw(",\"createdAt\":")
            w.writeString(user.createdAt.iso8601)
            w.raw(",\"sessionToken\":")
            w.writeString(token)
            w.raw("}")
        }
        reply.headers.append(("Location", "\(publicURL)/users/\(user.objectId)"))
        return reply
    }

    static func looksLikeEmail(_ s: String) -> Bool {
        let parts = s.split(separator: "@", omittingEmptySubsequences: false)
        return parts.count == 2 && !parts[0].isEmpty && parts[1].contains(".") && !parts[1].hasPrefix(".") && !parts[1].hasSuffix(".")
            && !s.contains(where: { $0 == " " })
    }

    func logIn(_ call: ParseCall, remoteAddress: String?) async throws -> ParseReply {
        let values = call.method == .get ? call.parameters : try call.bodyObject().merging(call.parameters) { a, _ in a }
        let username: String
        switch values["username"] ?? values["email"] {
        case .string(let s)? where !s.isEmpty: username = s
        case nil, .string?, .null?: throw GatewayError(.usernameMissing, "username/email is required.")
        default: throw GatewayError.invalidCredentials()
        }
        let password: String
        switch values["password"] {
        case .string(let s)? where !s.isEmpty: password = s
        case nil, .string?, .null?: throw GatewayError(.passwordMissing, "password is required.")
        default: throw GatewayError.invalidCredentials()
        }
        let (user, token) = try await auth.logIn(username: username, password: password, address: remoteAddress,
                                                 installationId: call.credentials.installationId)
        return userReply(user, includeEmail: true, sessionToken: token)
    }

    func logOut(_ call: ParseCall) async throws -> ParseReply {
        if let token = call.credentials.sessionToken { try await auth.logOut(token: token) }
        return .json(200, .object([:]))
    }

    // MARK: Me

    func me(_ call: ParseCall) async throws -> ParseReply {
        guard let token = call.credentials.sessionToken else { throw GatewayError(.invalidSessionToken, "Invalid session token") }
        let (user, _) = try await auth.validate(token: token)
        return userReply(user, includeEmail: true, sessionToken: token)
    }

    func sessionMe(_ call: ParseCall) async throws -> ParseReply {
        guard let token = call.credentials.sessionToken else { throw GatewayError(.invalidSessionToken, "Session token required.") }
        let (_, session) = try await auth.validate(token: token)
        return .json(200) { w in
            w.raw("{\"objectId\":")
            w.writeString(session.objectId)
            w.raw(",\"sessionToken\":")
            w.writeString(token)
            w.raw(",\"user\":{\"__type\":\"Pointer\",\"className\":\"_User\",\"objectId\":")
            w.writeString(session.userId)
            w.raw("},\"createdWith\":{\"action\":")
            w.writeString(session.action)
            w.raw(",\"authProvider\":")
            w.writeString(session.authProvider)
            w.raw("},\"expiresAt\":{\"__type\":\"Date\",\"iso\":")
            w.writeString(session.expiresAt.iso8601)
            w.raw("},\"restricted\":false,\"createdAt\":")
            w.writeString(session.createdAt.iso8601)
            w.raw(",\"updatedAt\":")
            w.writeString(session.createdAt.iso8601)
            if let installation = session.installationId {
                w.raw(",\"installationId\":")
                w.writeString(installation)
            }
            w.raw("}")
        }
    }

    // MARK: Users as a class

    /// Users are visible to signed-in users and the master key; `email` only to the user and the master key.
    private func requireReader(_ caller: Caller) throws(GatewayError) {
        guard caller.isMaster || caller.user != nil else {
            throw GatewayError(.operationForbidden, "Permission denied: sign in to read users.")
        }
    }

    func getUser(_ objectId: String, caller: Caller, call: ParseCall) async throws -> ParseReply {
        try requireReader(caller)
        guard let user = try await auth.store.user(objectId: objectId) else { throw GatewayError.objectNotFound() }
        let own = caller.user?.objectId == user.objectId
        return userReply(user, includeEmail: own || caller.isMaster, sessionToken: own ? call.credentials.sessionToken : nil)
    }

    func findUsers(_ call: ParseCall, caller: Caller) async throws -> ParseReply {
        try requireReader(caller)
        let query = try FindRequestParser(schema: userSchema, limits: config.limits).parse(call.parameters)
        // The parser leaves a `where` with sub-queries for the gateway to run; users are not a connector's class.
        guard query.pendingWhere == nil else {
            throw GatewayError(.invalidQuery, "Sub-queries ($inQuery, $notInQuery, $select, $dontSelect, $relatedTo) are not supported in queries on _User.")
        }
        // The store runs what it can on its columns (a lookup by username reads one row); the rest runs here on
        // what it returns, as each caller may see it (a user sees only their own email).
        var (page, count) = try await UserQueryPlan.plan(query, emailVisible: caller.isMaster)
            .run(query, store: auth.store) { u in caller.isMaster || caller.user?.objectId == u.objectId }
        if query.keys != nil || !query.excludeKeys.isEmpty { page = page.map { $0.projected(keys: query.keys, excluding: query.excludeKeys) } }
        return .json(200) { w in ParseCodec.writeFindResponse(page, count: count, to: &w) }
    }

    func deleteUser(_ objectId: String, caller: Caller) async throws -> ParseReply {
        guard let user = try await auth.store.user(objectId: objectId) else {
            if caller.user == nil && !caller.isMaster { throw GatewayError(.sessionMissing, "Insufficient auth to delete user") }
            throw GatewayError.objectNotFound()
        }
        guard caller.isMaster || caller.user?.objectId == user.objectId else {
            throw GatewayError(.sessionMissing, caller.user == nil ? "Insufficient auth to delete user" : "Insufficient auth.")
        }
        try await auth.deleteUser(user)
        return .json(200, .object([:]))
    }

    func updateUser(_ objectId: String, call: ParseCall, caller: Caller) async throws -> ParseReply {
        guard caller.isMaster || caller.user?.objectId == objectId else {
            throw GatewayError(.sessionMissing, caller.user == nil ? "Cannot modify user \(objectId)." : "Insufficient auth.")
        }
        guard var user = try await auth.store.user(objectId: objectId) else { throw GatewayError.objectNotFound() }
        guard let provider = auth.providers.first(where: { $0.name == user.provider }) as? LocalIdentityProvider else {
            throw GatewayError(.operationForbidden, "This account is managed by the directory \(user.provider); change it there.")
        }
        for (key, value) in try call.bodyObject() {
            switch key {
            case "password":
                guard case .string(let p) = value, !p.isEmpty else { throw GatewayError(.passwordMissing, "password is required") }
                try provider.checkPasswordPolicy(p)
                user.passwordHash = try await provider.hashPassword(p)
            case "email":
                if value == .null { user.email = nil; continue }
                guard case .string(let e) = value, UserEndpoints.looksLikeEmail(e) else {
                    throw GatewayError(.invalidEmailAddress, "Email address format is invalid.")
                }
                user.email = e
            case "username":
                guard case .string(let u) = value, !u.isEmpty else { throw GatewayError(.usernameMissing, "bad or missing username") }
                user.username = u
            default:
                guard provider.userFields.contains(key) else { throw GatewayError(.invalidKeyName, "\(key) is not a user field on this server.") }
                if value == .null { user.attributes[key] = nil; continue }
                guard case .string(let s) = value else {
                    throw GatewayError(.incorrectType, "schema mismatch for _User.\(key); expected String but got \(value.parseTypeName)")
                }
                user.attributes[key] = s
            }
        }
        user.updatedAt = .now()
        try await auth.store.updateUser(user)
        auth.invalidate(userId: user.objectId)
        return .json(200, .object(["updatedAt": .string(user.updatedAt.iso8601)]))
    }

    func userReply(_ user: UserRecord, includeEmail: Bool, sessionToken: String?) -> ParseReply {
        var object = user.parseObject(includeEmail: includeEmail)
        if let sessionToken { object.fields["sessionToken"] = .string(sessionToken) }
        return .json(200) { w in ParseCodec.write(object, to: &w) }
    }

    // MARK: Roles

    /// Roles come from the identity providers (directory groups, local role lists). Each is an object with a
    /// stable id derived from its name; `where` may ask by `name`, `objectId` or `users` (a user pointer).
    func findRoles(_ call: ParseCall, caller: Caller) async throws -> ParseReply {
        try requireReader(caller)
        for key in call.parameters.keys where !["where", "limit", "skip", "order", "count", "keys"].contains(key) {
            throw GatewayError(.invalidQuery, "Invalid parameter for query: \(key)")
        }
        var constraints: [String: JSONValue] = [:]
        if let w = call.parameters["where"] {
            let parsed: JSONValue
            if case .string(let s) = w {
                guard let v = try? JSONParser.parse(Array(s.utf8)) else { throw GatewayError(.invalidJSON, "where must be JSON.") }
                parsed = v
            } else { parsed = w }
            guard case .object(let o) = parsed else { throw GatewayError(.invalidQuery, "where must be a JSON object.") }
            constraints = o
        }
        func accepts(_ key: String, _ candidates: [String]) throws(GatewayError) -> Bool {
            guard let c = constraints[key] else { return true }
            switch c {
            case .string(let s): return candidates.contains(s)
            case .object(let o) where o["__type"]?.stringValue == "Pointer":
                return candidates.contains(o["objectId"]?.stringValue ?? "")
            case .object(let o) where o.count == 1 && o["$in"] != nil:
                guard case .array(let list)? = o["$in"] else { throw GatewayError(.invalidQuery, "$in must be an array.") }
                return list.contains { v in
                    if let s = v.stringValue { return candidates.contains(s) }
                    if case .object(let p) = v { return candidates.contains(p["objectId"]?.stringValue ?? "") }
                    return false
                }
            default:
                throw GatewayError(.invalidQuery, "Roles can be queried by name, objectId and users with equality or $in only.")
            }
        }
        for key in constraints.keys where !["name", "objectId", "users"].contains(key) {
            throw GatewayError(.invalidQuery, "Roles can be queried by name, objectId and users only, not \(key).")
        }
        // Every condition's form is checked before anything is read, so the answer to a malformed one never
        // depends on which roles exist.
        for key in constraints.keys { _ = try accepts(key, []) }
        // Members matter only to a `users` condition: then only the users it names are read; otherwise the store
        // collects the role names (it no longer reads every user).
        var members: [String: [String]] = [:]
        var names: Set<String>
        if let condition = constraints["users"] {
            let ids = UserEndpoints.referencedUserIds(condition)
            guard ids.count <= UserQueryPlan.maxBinds else {
                throw GatewayError(.invalidQuery, "A role query may name at most \(UserQueryPlan.maxBinds) users.")
            }
            let named = ids.isEmpty ? [] : try await auth.store.findUsers(UserQuery(conditions: [.isIn(.objectId, ids.map { .text($0) }, negated: false)])).users
            for u in named { for r in u.roles { members[r, default: []].append(u.objectId) } }
            names = Set(members.keys)
        } else {
            names = Set(try await auth.store.roleNames())
        }
        for p in auth.providers { if let local = p as? LocalIdentityProvider { names.formUnion(local.allRoleNames) } }
        var results: [ParseObject] = []
        for name in names.sorted() {
            let id = UserEndpoints.roleId(name)
            guard try accepts("name", [name]), try accepts("objectId", [id]), try accepts("users", members[name] ?? []) else { continue }
            results.append(ParseObject(objectId: id, createdAt: ParseDate(millisecondsSince1970: 0), updatedAt: ParseDate(millisecondsSince1970: 0),
                                       fields: ["name": .string(name)]))
        }
        let total = results.count
        let skip = try UserEndpoints.integer(call.parameters["skip"], "skip") ?? 0
        let limit = try UserEndpoints.integer(call.parameters["limit"], "limit") ?? config.limits.defaultLimit
        let page = Array(results.dropFirst(max(0, skip)).prefix(max(0, limit)))
        let wantsCount = ["1", "true"].contains(call.parameters["count"]?.stringValue ?? "") || call.parameters["count"] == .int(1) || call.parameters["count"] == .bool(true)
        let roles = page.map { role -> ParseObject in
            var role = role
            role.fields["ACL"] = .object(["*": .object(["read": .bool(true)])])
            return role
        }
        return .json(200) { w in ParseCodec.writeFindResponse(roles, count: wantsCount ? total : nil, to: &w) }
    }

    /// The user ids a role query's `users` condition names, read as `accepts` matches them: an id, a pointer, or
    /// `$in` of ids and objects with an `objectId`. Ids that cannot be stored (NUL) are left out: they match nobody.
    static func referencedUserIds(_ condition: JSONValue) -> [String] {
        var ids: [String] = []
        switch condition {
        case .string(let s): ids = [s]
        case .object(let o) where o["__type"]?.stringValue == "Pointer": ids = [o["objectId"]?.stringValue ?? ""]
        case .object(let o):
            if case .array(let list)? = o["$in"] {
                ids = list.compactMap { v in
                    if let s = v.stringValue { return s }
                    if case .object(let p) = v { return p["objectId"]?.stringValue ?? "" }
                    return nil
                }
            }
        default: break
        }
        return Array(Set(ids.filter { !$0.isEmpty && !$0.utf8.contains(0) }))
    }

    static func integer(_ v: JSONValue?, _ name: String) throws(GatewayError) -> Int? {
        switch v {
        case nil: return nil
        case .int(let i)?: return Int(i)
        case .string(let s)?: if let i = Int(s) { return i }
        default: break
        }
        throw GatewayError(.invalidQuery, "\(name) must be an integer.")
    }

    /// A stable 10-character id for a role name.
    static func roleId(_ name: String) -> String {
        String(SessionToken.hash("role:" + name).prefix(10))
    }
}

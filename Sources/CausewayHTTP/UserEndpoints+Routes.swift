import CausewayCore
import HTTPTypes
import Hummingbird

extension ParseEndpoints {
    /// `/users`, `/login`, `/logout`, `/sessions`, `/roles` and the `_User`, `_Role`, `_Session` classes:
    /// the user API when identity providers are configured, a clear 108 otherwise.
    func userRoutes() -> RouteCollection<ParseRequestContext> {
        let routes = RouteCollection(context: ParseRequestContext.self)
        let all: [HTTPRequest.Method] = [.get, .post, .put, .delete, .patch]
        func every(_ handler: @escaping Handler) -> [HTTPRequest.Method: Handler] {
            Dictionary(uniqueKeysWithValues: all.map { ($0, handler) })
        }
        guard let users else {
            let mount = config.server.mountPath
            let unavailable: Handler = { _, context in
                throw GatewayError(.commandUnavailable, "\(context.call.path(mountPath: mount)) is not available: this gateway has no identity provider configured (identityProviders in causeway.yaml).")
            }
            for path in ["users", "users/:id", "login", "logout", "sessions", "sessions/:id", "roles", "roles/:id"] {
                endpoint(routes, RouterPath(path), every(unavailable))
            }
            return routes
        }
        let signUpOrFind: [HTTPRequest.Method: Handler] = [
            .post: { _, context in try await users.signUp(context.call) },
            .get: { _, context in try await users.findUsers(context.call, caller: context.caller) },
        ]
        endpoint(routes, "users", signUpOrFind)
        endpoint(routes, "classes/_User", signUpOrFind)
        endpoint(routes, "users/me", [.get: { _, context in try await users.me(context.call) }])
        let oneUser: [HTTPRequest.Method: Handler] = [
            .get: { _, c in try await users.getUser(c.call.segments.last ?? "", caller: c.caller, call: c.call) },
            .put: { _, c in try await users.updateUser(c.call.segments.last ?? "", call: c.call, caller: c.caller) },
            .delete: { _, c in try await users.deleteUser(c.call.segments.last ?? "", caller: c.caller) },
        ]
        endpoint(routes, "users/:id", oneUser)
        endpoint(routes, "classes/_User/:id", oneUser)
        let logIn: Handler = { _, context in try await users.logIn(context.call, remoteAddress: context.call.credentials.remoteAddress) }
        endpoint(routes, "login", [.get: logIn, .post: logIn])
        endpoint(routes, "logout", [.post: { _, context in try await users.logOut(context.call) }])
        endpoint(routes, "sessions/me", [.get: { _, context in try await users.sessionMe(context.call) }])
        let sessions: Handler = { _, _ in
            throw GatewayError(.commandUnavailable, "Sessions are read with GET /sessions/me and ended with POST /logout.")
        }
        for path in ["sessions", "sessions/:id", "classes/_Session", "classes/_Session/:id"] { endpoint(routes, RouterPath(path), every(sessions)) }
        let rolesAreRead: Handler = { _, _ in
            throw GatewayError(.operationForbidden, "Roles come from the identity providers (directory groups) and cannot be changed through the API.")
        }
        var roles = every(rolesAreRead)
        roles[.get] = { _, context in try await users.findRoles(context.call, caller: context.caller) }
        endpoint(routes, "roles", roles)
        endpoint(routes, "classes/_Role", roles)
        for path in ["roles/:id", "classes/_Role/:id"] { endpoint(routes, RouterPath(path), every(rolesAreRead)) }
        return routes
    }
}

import CausewayCore
import HTTPTypes
import Hummingbird
import Logging

/// The Parse API's routes, in one `RouteCollection` per endpoint group, mounted at the mount path.
///
/// Handlers read the request as Parse sees it from the context (`ParseRequestContext.call`, filled in by
/// `ParseResponder` before routing: `_method` override applied, credentials found, JSON parsed) and who
/// asks (`caller`). A path an endpoint serves answers 405 for the methods it does not take; any other
/// path answers 404; both with code 108, as Parse Server does.
extension ParseEndpoints {
    func router() -> Router<ParseRequestContext> {
        let router = Router(context: ParseRequestContext.self)
        router.middlewares.add(ParseRoutingMiddleware(mountPath: config.server.mountPath))
        let mount = RouterPath(config.server.mountPath == "/" ? "" : config.server.mountPath)
        router.addRoutes(objectRoutes(), atPath: mount)
        router.addRoutes(userRoutes(), atPath: mount)
        router.addRoutes(adminRoutes(), atPath: mount)
        router.addRoutes(schemaRoutes(), atPath: mount)
        router.addRoutes(openAPIRoutes(), atPath: mount)
        return router
    }

    typealias Handler = @Sendable (Request, ParseRequestContext) async throws -> ParseReply

    /// Registers `handlers` for `path`, and a 405 answer for the other methods clients use.
    func endpoint(_ routes: RouteCollection<ParseRequestContext>, _ path: RouterPath, _ handlers: [HTTPRequest.Method: Handler]) {
        for method: HTTPRequest.Method in [.get, .post, .put, .delete, .patch] {
            if let handler = handlers[method] {
                routes.on(path, method: method) { request, context in try await handler(request, context).response() }
            } else {
                let endpoints = self
                routes.on(path, method: method) { request, context -> Response in
                    throw endpoints.methodNotAllowed(method, context.call.path(mountPath: endpoints.config.server.mountPath))
                }
            }
        }
    }

    /// `/classes/:className` and `/classes/:className/:objectId`.
    func objectRoutes() -> RouteCollection<ParseRequestContext> {
        let routes = RouteCollection(context: ParseRequestContext.self)
        let object: Handler = { _, context in try await dispatchObject(context.call, caller: context.caller, logger: context.logger) }
        endpoint(routes, "classes/:className", [.get: object, .post: object])
        endpoint(routes, "classes/:className/:objectId", [.get: object, .put: object, .delete: object])
        endpoint(routes, "batch", [.post: { _, context in
            try await BatchEndpoint(endpoints: self).run(context.call, caller: context.caller, logger: context.logger)
        }])
        return routes
    }

    /// `/cache` purges and `/serverInfo` (master key), and the Parse features this gateway leaves to others.
    func adminRoutes() -> RouteCollection<ParseRequestContext> {
        let routes = RouteCollection(context: ParseRequestContext.self)
        let purge: Handler = { _, context in try purgeCache(context.call, caller: context.caller) }
        endpoint(routes, "cache", [.delete: purge])
        endpoint(routes, "cache/:kind/:name", [.delete: purge])
        endpoint(routes, "serverInfo", [.get: { _, context in serverInfo(caller: context.caller) }])
        for feature in ["requestPasswordReset", "verificationEmailRequest", "verifyPassword"] {
            let refuse: Handler = { _, _ in
                throw GatewayError(.commandUnavailable, "/\(feature) is not supported: passwords are managed by the identity provider.")
            }
            endpoint(routes, RouterPath(feature), [.get: refuse, .post: refuse, .put: refuse, .delete: refuse, .patch: refuse])
        }
        return routes
    }
}

import CausewayCore
import HTTPTypes
import Hummingbird
import Logging

/// Around every route: the router's "no route" becomes Parse's 404 with code 108 naming the method and path;
/// a `GatewayError` is logged when it is internal (with its detail) or carries a detail worth keeping;
/// anything else a handler throws is logged and answered as Parse's internal error, never a bare 500.
struct ParseRoutingMiddleware: RouterMiddleware {
    typealias Context = ParseRequestContext
    let mountPath: String

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            throw ParseRouteFailure(status: 404, GatewayError(.commandUnavailable,
                "No endpoint for \(context.call.method.rawValue) \(context.call.path(mountPath: mountPath))."))
        } catch let error as GatewayError {
            Self.log(error, context.logger)
            throw error
        } catch let error as ParseRouteFailure {
            throw error
        } catch {
            context.logger.error("unexpected failure", metadata: ["error": .string(String(reflecting: error))])
            throw GatewayError(.internalServerError, "Internal server error.")
        }
    }

    static func log(_ error: GatewayError, _ logger: Logger) {
        if error.code == .internalServerError {
            logger.error("request failed", metadata: ["error": .string(String(reflecting: error))])
        } else if error.detail != nil {
            logger.info("request refused", metadata: ["error": .string(String(reflecting: error))])
        }
    }
}

import Logging
import ServiceLifecycle

/// Runs the users-and-sessions part of the gateway as a service: opens the metadata store and the identity
/// providers (their connection pools and threads), re-reads directory roles periodically until graceful
/// shutdown, then closes the providers and the store. A store that cannot be opened ends the gateway
/// with its error (sessions cannot be served without it).
public struct IdentityService: Service {
    public static let componentName = "identity providers"

    let auth: AuthService
    let status: ComponentStatus.Entry
    let logger: Logger

    public init(auth: AuthService, status: ComponentStatus, logger: Logger) {
        self.auth = auth
        self.status = status.entry(IdentityService.componentName)
        self.logger = logger
    }

    public func run() async throws {
        do {
            try await auth.start(logger: logger)
        } catch {
            status.set(.unavailable("the metadata store or an identity provider could not be opened"))
            await Task { await auth.shutdown() }.value
            throw error
        }
        status.set(.up)
        logger.info("identity providers started", metadata: [
            "causeway.providers": .string(auth.providers.map { "\($0.name) (\($0.kind))" }.joined(separator: ", ")),
        ])
        try? await cancelWhenGracefulShutdown { await auth.refreshRolesPeriodically() }
        status.set(.stopping)
        // Runs to the end even when the group was cancelled: the store and pools are always closed.
        await Task { await auth.shutdown() }.value
    }
}

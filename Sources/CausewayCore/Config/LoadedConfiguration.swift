import Foundation
import Logging
import ServiceLifecycle

/// Everything configuration produces: the gateway settings and the connectors.
public struct LoadedConfiguration: Sendable {
    public var gateway: GatewayConfig
    public var connectors: [any Connector]
    /// In the order logins try them.
    public var identityProviders: [any IdentityProvider]
    /// Cache policies by connector name (connectors whose file has `cache`).
    public var cachePolicies: [String: CachePolicy] = [:]
    /// Opens the metadata store at a path (the executable supplies the embedded SQLite store).
    public var makeMetadataStore: (@Sendable (String) -> any MetadataStore)?
    /// Services that keep several gateway nodes coherent (the PostgreSQL store's `ClusterBus`), made once the
    /// gateway and the auth service exist (nil: a single node).
    public var makeClusterServices: (@Sendable (Gateway, AuthService?, Logger) -> [any Service])?
    /// Services that hear sources announce their own changes (PostgreSQL triggers with NOTIFY for
    /// `liveQuery.triggers`), made once the gateway exists (nil: none).
    public var makeChangeSourceServices: (@Sendable (Gateway, Logger) -> [any Service])?

    public init(gateway: GatewayConfig, connectors: [any Connector], identityProviders: [any IdentityProvider] = []) {
        self.gateway = gateway
        self.connectors = connectors
        self.identityProviders = identityProviders
    }
}

import Logging

/// The request-level core: resolves a class to its connector, checks permissions, validates input,
/// plans queries and finishes in memory what the connector could not do.
/// It knows nothing of HTTP; the HTTP module translates Parse requests into these calls.
public final class Gateway: Sendable {
    public let config: GatewayConfig
    public let connectors: [any Connector]
    public let caches: CacheSet
    /// Every write through this gateway is published here once it has succeeded (LiveQuery, other nodes).
    public let changes: ChangeFeed
    /// Each connector's activity over the last hour (the admin page's charts); shared across reloads.
    public let stats: ConnectorStatsSet
    let status: ComponentStatus?
    private let routes: [String: Route]

    struct Route: Sendable {
        let connector: any Connector
        let schema: CollectionSchema
        /// The connector's status when it runs under a `ConnectorService` (nil: always considered up).
        let status: ComponentStatus.Entry?
    }

    public struct FindResult: Sendable {
        public var objects: [ParseObject]
        public var count: Int?
        public var plan: QueryPlan?
        /// What the cache did (nil when the collection is not cached).
        public var cache: CacheOutcome?
        /// The encoded answer when it came through the cache (then `objects` is empty).
        public var body: [UInt8]?
    }

    /// Whether a read may use the cache (a master-key caller may bypass it).
    public enum CacheMode: Sendable { case use, bypass }

    public struct UpdateResult: Sendable {
        public var updatedAt: ParseDate
        /// The resulting values of fields changed by `__op` operations (Parse echoes them).
        public var operationResults: [String: ParseValue]
    }

    /// `status`: the components' status when connectors run as services (then the classes of a connector
    /// that is not up answer 100); nil when the caller starts the connectors itself.
    /// Where the gateway reads the time for its evaluation budget (tests pass a stepping clock).
    let now: @Sendable () -> ContinuousClock.Instant

    public init(config: GatewayConfig, connectors: [any Connector], caches: CacheSet = .none, status: ComponentStatus? = nil,
                changes: ChangeFeed = ChangeFeed(), now: @escaping @Sendable () -> ContinuousClock.Instant = { .now },
                stats: ConnectorStatsSet = ConnectorStatsSet()) {
        self.config = config
        self.stats = stats
        self.changes = changes
        self.now = now
        self.connectors = connectors
        self.caches = caches
        self.status = status
        var routes: [String: Route] = [:]
        for connector in connectors {
            let entry = status?.entry(ConnectorService.componentName(connector.name))
            for schema in connector.collections { routes[schema.className] = Route(connector: connector, schema: schema, status: entry) }
        }
        self.routes = routes
    }

    public var classNames: [String] { routes.keys.sorted() }


    public func schema(for className: String) throws(GatewayError) -> CollectionSchema {
        try route(className).schema
    }

    func route(_ className: String) throws(GatewayError) -> Route {
        if let r = routes[className] {
            if let entry = r.status, !entry.up { throw unavailable(r, entry) }
            return r
        }
        guard CollectionSchemaReader.isValidClassName(className) || className.hasPrefix("_") else {
            throw GatewayError(.invalidClassName, "Invalid classname: \(className), classnames can only have alphanumeric characters and _, and must start with an alpha character ")
        }
        throw GatewayError(.invalidClassName, "Class \(className) is not served by this gateway (no connector maps it).")
    }

    func unavailable(_ route: Route, _ entry: ComponentStatus.Entry) -> GatewayError {
        let why: String
        switch entry.current {
        case .starting: why = "it is starting"
        case .stopping: why = "the gateway is shutting down"
        case .unavailable(let reason): why = reason
        case .up: why = "it was not reachable a moment ago"
        }
        return GatewayError(.connectionFailed, "Class \(route.schema.className) is not available: connector '\(route.connector.name)' is not up (\(why)); retry shortly.")
    }

    func authorize(_ op: ClassPermissions.Operation, _ route: Route, _ caller: Caller) throws(GatewayError) {
        guard route.schema.permissions.allows(op, caller: caller) else {
            throw GatewayError(.operationForbidden, "Permission denied for action \(op.rawValue) on class \(route.schema.className).")
        }
    }

    /// For sources that answer per user: the user in the cache key.
    func callerKey(_ route: Route, _ caller: Caller) -> String {
        guard route.connector.answersDependOnCaller else { return "" }
        return "|as " + (caller.isMaster ? "master" : caller.user?.objectId ?? "anonymous")
    }

    /// Runs a write and then drops the collection's cached answers, before the write is acknowledged
    /// (also when the write failed: it may have reached the source).
    func invalidating<T: Sendable>(_ route: Route, _ write: () async throws -> T) async throws -> T {
        defer { caches.invalidate(className: route.schema.className, connector: route.connector.name) }
        countRequest(route)
        return try await measured(route, write)
    }

    /// Announces a successful write on the change feed.
    func announce(_ kind: ObjectChange.Kind, _ route: Route, objectId: String?, object: ParseObject? = nil, original: ParseObject? = nil) {
        guard let objectId else { return }
        changes.publish(ObjectChange(kind: kind, className: route.schema.className, connector: route.connector.name,
                                     objectId: objectId, object: object, original: original))
    }

    /// Empties the cache of one connector (all when nil), or of one class. Returns the entries dropped.
    public func purgeCache(connector: String?, className: String?) throws(GatewayError) -> Int {
        defer { caches.coherence.purged(connector: className.flatMap { routes[$0]?.connector.name } ?? connector, className: className) }
        if let className {
            let r = try route(className)
            guard let cache = caches.caches[r.connector.name] else { return 0 }
            let before = cache.entryCount
            cache.invalidate(className: className)
            return before - cache.entryCount
        }
        if let connector {
            guard connectors.contains(where: { $0.name == connector }) else {
                throw GatewayError(.objectNotFound, "No connector named \(connector).")
            }
            return caches.caches[connector]?.purge() ?? 0
        }
        return caches.caches.values.reduce(0) { $0 + $1.purge() }
    }
}

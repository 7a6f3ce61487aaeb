import Metrics

/// Every connector's cache and policy, shared by the gateway (and the gateways of its transactions).
public struct CacheSet: Sendable {
    public let caches: [String: ResponseCache]
    public let policies: [String: CachePolicy]
    public let budget: CacheBudget
    /// Runs the caches' stale-while-revalidate refreshes: a service for the application's service group,
    /// listed after the connectors' services so that it stops (waiting for its refreshes) before they do.
    public let refresher: CacheRefresher
    /// Suspension while this node cannot hear other nodes' writes, and purge announcements (#15).
    /// Shared with the sets that configuration reloads make (`CacheSet+Reload.swift`).
    public let coherence: CacheCoherence

    /// `clock` is where the caches read the time: the real monotonic clock unless a test passes a manual one.
    public init(policies: [String: CachePolicy], maxBytes: Int, metricsFactory: (any MetricsFactory)?,
                clock: any Clock<Duration> = ContinuousClock()) {
        let budget = CacheBudget(maxBytes: maxBytes)
        let refresher = CacheRefresher()
        self.budget = budget
        self.policies = policies
        self.refresher = refresher
        self.coherence = CacheCoherence()
        var caches: [String: ResponseCache] = [:]
        for (connector, policy) in policies {
            caches[connector] = ResponseCache(connector: connector, maxBytes: policy.maxBytes, budget: budget, metricsFactory: metricsFactory,
                                              clock: clock, refresher: refresher)
        }
        self.caches = caches
        coherence.adopt(caches)
    }

    public static let none = CacheSet(policies: [:], maxBytes: 0, metricsFactory: nil)

    /// The cache and effective policy for a collection, when its data may be cached for `operation`.
    func cache(for schema: CollectionSchema, _ operation: CachePolicy.Operation) -> (ResponseCache, CachePolicy)? {
        guard !coherence.isSuspended, let cache = caches[schema.connectorName],
              let policy = policies[schema.connectorName]?.applying(schema.cacheOverride),
              policy.operations.contains(operation) else { return nil }
        return (cache, policy)
    }

    public func invalidate(className: String, connector: String) {
        caches[connector]?.invalidate(className: className)
    }

    /// Empties every cache; returns the entries dropped.
    @discardableResult
    public func purgeAll() -> Int { caches.values.reduce(0) { $0 + $1.purge() } }
}

import Metrics

/// A configuration reload: the caches of connectors that did not change are kept (entries, bytes and all);
/// the others start empty. The budget, the refresher and the cluster coherence state (suspension, purge
/// announcements) are shared with the previous set.
extension CacheSet {
    public init(reloading previous: CacheSet, policies: [String: CachePolicy], keep: Set<String>, metricsFactory: (any MetricsFactory)?,
                clock: any Clock<Duration> = ContinuousClock()) {
        var caches: [String: ResponseCache] = [:]
        for (connector, policy) in policies {
            if keep.contains(connector), let old = previous.caches[connector] {
                caches[connector] = old
            } else {
                caches[connector] = ResponseCache(connector: connector, maxBytes: policy.maxBytes, budget: previous.budget,
                                                  metricsFactory: metricsFactory, clock: clock, refresher: previous.refresher)
            }
        }
        self.caches = caches
        self.policies = policies
        self.budget = previous.budget
        self.refresher = previous.refresher
        self.coherence = previous.coherence
        coherence.adopt(caches)   // other nodes' announcements reach the new caches (#15)
    }
}

/// Feeding `ConnectorStats`: requests per connector, each source call's latency and failure, cache outcomes.
extension Gateway {
    func countRequest(_ route: Route) {
        stats.stats(route.connector.name).request()
    }

    func countCache(_ route: Route, _ outcome: CacheOutcome) {
        stats.stats(route.connector.name).cache(outcome)
    }

    /// Runs a call into the route's source, recording how long it took and whether the source failed.
    func measured<T: Sendable>(_ route: Route, _ call: () async throws -> T) async throws -> T {
        let started = ContinuousClock.now
        do {
            let result = try await call()
            stats.stats(route.connector.name).sourceCall(ContinuousClock.now - started, error: nil)
            return result
        } catch {
            let failed = ConnectorStatsSet.isSourceError(error)
            stats.stats(route.connector.name).sourceCall(ContinuousClock.now - started, error: failed ? ConnectorStatsSet.safeMessage(error) : nil)
            throw error
        }
    }
}

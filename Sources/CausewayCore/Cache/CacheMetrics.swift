import Metrics
import Synchronization

/// Per connector and collection: hits, misses, coalesced and stale serves, evictions, bytes used and
/// source latency, through swift-metrics (exported by the HTTP module at `/metrics`).
final class CacheMetrics: Sendable {
    let connector: String
    let factory: (any MetricsFactory)?
    private let counters = Mutex<[String: Counter]>([:])
    private let timers = Mutex<[String: Metrics.Timer]>([:])
    private let bytesGauge: Gauge?

    init(connector: String, factory: (any MetricsFactory)?) {
        self.connector = connector
        self.factory = factory
        bytesGauge = factory.map { Gauge(label: "causeway_cache_bytes", dimensions: [("connector", connector)], factory: $0) }
    }

    private func counter(_ name: String, _ className: String, extra: [(String, String)] = []) -> Counter? {
        guard let factory else { return nil }
        let id = name + "|" + className + extra.map { "|\($0.1)" }.joined()
        return counters.withLock { c in
            if let existing = c[id] { return existing }
            let made = Counter(label: name, dimensions: [("connector", connector), ("collection", className)] + extra, factory: factory)
            c[id] = made
            return made
        }
    }

    func record(_ outcome: CacheOutcome, _ className: String) {
        switch outcome {
        case .hit, .coalesced: counter("causeway_cache_hits_total", className)?.increment()
        case .miss: counter("causeway_cache_misses_total", className)?.increment()
        case .stale, .staleIfError: counter("causeway_cache_stale_total", className, extra: [("kind", outcome.rawValue)])?.increment()
        case .bypass: counter("causeway_cache_bypass_total", className)?.increment()
        }
    }

    func eviction(_ className: String) { counter("causeway_cache_evictions_total", className)?.increment() }

    func bytes(_ value: Int) { bytesGauge?.record(value) }

    func sourceLatency(_ className: String, _ duration: Duration) {
        guard let factory else { return }
        let timer = timers.withLock { t in
            if let existing = t[className] { return existing }
            let made = Metrics.Timer(label: "causeway_source_latency_seconds", dimensions: [("connector", connector), ("collection", className)], factory: factory)
            t[className] = made
            return made
        }
        timer.recordNanoseconds(duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
    }
}

import Metrics
import Synchronization

/// LiveQuery's metrics: connected clients and subscriptions (gauges), changes seen, events delivered by
/// type, and slow clients dropped (counters).
final class LiveQueryMetrics: Sendable {
    private let clients: Gauge
    private let subscriptions: Gauge
    private let changes: Counter
    private let drops: Counter
    private let refused: Counter
    private let unroutedDeletes: Counter
    private let feedDrops: Counter
    /// Feed drops counted so far (the feed counts; the metric follows).
    private let feedDropsSeen = Mutex(0)
    private let events: [LiveQueryReply.Event: Counter]
    private let counts = Mutex((clients: 0, subscriptions: 0))

    init(factory: any MetricsFactory) {
        clients = Gauge(label: "causeway_livequery_clients", factory: factory)
        subscriptions = Gauge(label: "causeway_livequery_subscriptions", factory: factory)
        changes = Counter(label: "causeway_livequery_changes_total", factory: factory)
        drops = Counter(label: "causeway_livequery_slow_clients_dropped_total", factory: factory)
        refused = Counter(label: "causeway_livequery_clients_refused_total", factory: factory)
        unroutedDeletes = Counter(label: "causeway_livequery_unrouted_deletes_total", factory: factory)
        feedDrops = Counter(label: "causeway_livequery_changes_dropped_total", factory: factory)
        var events: [LiveQueryReply.Event: Counter] = [:]
        for e in [LiveQueryReply.Event.create, .enter, .update, .leave, .delete] {
            events[e] = Counter(label: "causeway_livequery_events_total", dimensions: [("event", e.rawValue)], factory: factory)
        }
        self.events = events
    }

    func adjust(clients dc: Int = 0, subscriptions ds: Int = 0) {
        let (c, s) = counts.withLock { v -> (Int, Int) in
            v.clients += dc
            v.subscriptions += ds
            return (v.clients, v.subscriptions)
        }
        clients.record(c)
        subscriptions.record(s)
    }

    var current: (clients: Int, subscriptions: Int) { counts.withLock { $0 } }

    func change() { changes.increment() }
    func dropped() { drops.increment() }
    func refusedClient() { refused.increment() }
    /// A delete announced without the object before it, whose image was not remembered (only master-key
    /// subscriptions without `where` get it).
    func unrouted() { unroutedDeletes.increment() }
    /// The feed has dropped `total` changes for the hub since start; returns how many are new since the last call.
    func feedDropped(total: Int) -> Int {
        let new = feedDropsSeen.withLock { seen -> Int in defer { seen = max(seen, total) }; return total - seen }
        if new > 0 { feedDrops.increment(by: Int64(new)) }
        return max(0, new)
    }
    func delivered(_ event: LiveQueryReply.Event) { events[event]?.increment() }
}

import Synchronization

/// What keeps the caches of several gateway nodes coherent: a node that cannot hear the others' writes
/// suspends its caches (nothing is read from or stored in them) until it hears them again, and purges
/// through the API are told to whoever coordinates the nodes (`ClusterBus`).
public final class CacheCoherence: Sendable {
    private struct State {
        var suspended = false
        var purgeObserver: (@Sendable (_ connector: String?, _ className: String?) -> Void)?
        /// The caches of the set serving now (a configuration reload replaces some; `adopt`).
        var current: [String: ResponseCache] = [:]
    }
    private let state = Mutex(State())

    public init() {}

    /// While suspended, every read goes to the source and no answer is stored.
    public var isSuspended: Bool { state.withLock { $0.suspended } }

    public func setSuspended(_ suspended: Bool) {
        state.withLock { $0.suspended = suspended }
    }

    /// `observer` hears every purge made through `Gateway.purgeCache` (nil: nobody).
    public func observePurges(_ observer: (@Sendable (_ connector: String?, _ className: String?) -> Void)?) {
        state.withLock { $0.purgeObserver = observer }
    }

    func purged(connector: String?, className: String?) {
        state.withLock { $0.purgeObserver }?(connector, className)
    }

    /// Makes `caches` the ones other nodes' announcements reach (each `CacheSet` adopts its own; a reload's
    /// set shares this object with the set it replaces).
    public func adopt(_ caches: [String: ResponseCache]) {
        state.withLock { $0.current = caches }
    }

    /// Drops a class's cached answers in the current caches (another node wrote to it).
    public func invalidate(className: String, connector: String) {
        state.withLock { $0.current[connector] }?.invalidate(className: className)
    }

    /// Empties one connector's current cache, or all of them; returns the entries dropped.
    @discardableResult
    public func purge(connector: String? = nil) -> Int {
        let caches = state.withLock { s in connector.map { c in s.current[c].map { [$0] } ?? [] } ?? Array(s.current.values) }
        return caches.reduce(0) { $0 + $1.purge() }
    }
}

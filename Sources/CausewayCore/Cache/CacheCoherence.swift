import Synchronization

/// What keeps the caches of several gateway nodes coherent: a node that cannot hear the others' writes
/// suspends its caches (nothing is read from or stored in them) until it hears them again, and purges
/// through the API are told to whoever coordinates the nodes (`ClusterBus`).
public final class CacheCoherence: Sendable {
    private struct State {
        var suspended = false
        var purgeObserver: (@Sendable (_ connector: String?, _ className: String?) -> Void)?
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
}

/// What cluster coherence needs of the auth service: hearing of local session ends, applying other nodes'
/// session ends without announcing them again, and turning in-memory session reuse off while this node
/// cannot hear the others.
extension AuthService {
    /// `observer` is told of every local logout and user change from now on (nil: nobody).
    public func observeSessionEvents(_ observer: (@Sendable (SessionEvent) -> Void)?) {
        sessionObserver.withLock { $0 = observer }
    }

    func announce(_ event: SessionEvent) {
        sessionObserver.withLock { $0 }?(event)
    }

    /// Applies another node's session event: the session (or the user's sessions) is read from the store
    /// again at its next use. Not announced again.
    public func apply(_ event: SessionEvent) {
        // Long-lived consumers on this node (LiveQuery) hear other nodes' logouts too.
        switch event {
        case .sessionEnded(let hash):
            cache.withLock { $0.remove(hash) }
            sessionEvents.publish(.ended(tokenHash: hash))
        case .userChanged(let userId):
            cache.withLock { $0.removeUser(userId) }
            sessionEvents.publish(.userChanged(userId: userId))
        }
    }

    /// Off: every session is read from the store at each request (and what was cached is dropped); on: a
    /// validated session is reused for up to `cacheSeconds`.
    public func setSessionReuse(_ enabled: Bool) {
        reusesSessions.store(enabled, ordering: .sequentiallyConsistent)
        if !enabled { cache.withLock { c in let g = c.generation; c = SessionCache(); c.generation = g &+ 1 } }
    }

    public var reusesSessionsInMemory: Bool { reusesSessions.load(ordering: .relaxed) }

    /// Sessions held in memory (tests, metrics).
    public var cachedSessionCount: Int { cache.withLock { $0.byHash.count } }
}

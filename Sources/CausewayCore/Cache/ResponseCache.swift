import Logging
import Metrics
import Synchronization

/// One connector's cache: byte-bounded LRU, single flight per key, stale-while-revalidate,
/// stale-if-error, and invalidation per collection that also stops answers already in flight from being
/// stored after a write.
///
/// Time comes from `clock` (the real monotonic clock unless a test passes a manual one), for ages and for
/// the source latency metric. Stale-while-revalidate refreshes run on `refresher` (see `CacheRefresher`
/// for what happens when it is not running).
public final class ResponseCache: Sendable {
    public let connector: String
    public let maxBytes: Int
    let budget: CacheBudget
    let metrics: CacheMetrics
    let refresher: CacheRefresher
    private let state = Mutex(State())
    /// Time since the cache was made, on its clock.
    private let elapsed: @Sendable () -> Duration

    final class Node {
        let key: String
        let className: String
        var answer: CachedAnswer
        var bytes: Int
        var storedAtMs: Int64
        var prev: Node?
        var next: Node?
        init(key: String, className: String, answer: CachedAnswer, bytes: Int, storedAtMs: Int64) {
            self.key = key
            self.className = className
            self.answer = answer
            self.bytes = bytes
            self.storedAtMs = storedAtMs
        }
    }

    struct State {
        var nodes: [String: Node] = [:]
        var byClass: [String: Set<String>] = [:]
        /// Most recently used first.
        var head: Node?
        var tail: Node?
        var bytes = 0
        var generations: [String: UInt64] = [:]
        var inflight: [String: Task<CachedAnswer, any Error>] = [:]
        var refreshing: Set<String> = []
    }

    public init(connector: String, maxBytes: Int, budget: CacheBudget, metricsFactory: (any MetricsFactory)?,
                clock: any Clock<Duration> = ContinuousClock(), refresher: CacheRefresher = CacheRefresher()) {
        self.connector = connector
        self.maxBytes = maxBytes
        self.budget = budget
        self.metrics = CacheMetrics(connector: connector, factory: metricsFactory)
        self.refresher = refresher
        self.elapsed = ResponseCache.stopwatch(clock)
    }

    private static func stopwatch<C: Clock<Duration>>(_ clock: C) -> @Sendable () -> Duration {
        let origin = clock.now
        return { origin.duration(to: clock.now) }
    }

    var nowMs: Int64 {
        let d = elapsed()
        return d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000
    }

    public var usedBytes: Int { state.withLock { $0.bytes } }
    public var entryCount: Int { state.withLock { $0.nodes.count } }

    // MARK: Lookup

    /// The cached answer for `key`, or `load()`'s (stored for next time). Concurrent misses for one key
    /// share one `load()`.
    public func answer(key: String, className: String, policy: CachePolicy, logger: Logger,
                       load: @escaping @Sendable () async throws -> CachedAnswer) async throws -> (CachedAnswer, CacheOutcome) {
        let now = nowMs
        enum Step { case serve(CachedAnswer, CacheOutcome), wait(Task<CachedAnswer, any Error>, fallback: CachedAnswer?, generation: UInt64, leader: Bool) }
        let step: Step = state.withLock { s in
            var fallback: CachedAnswer?
            if let node = s.nodes[key] {
                let age = now - node.storedAtMs
                if age <= policy.ttlMs {
                    touch(&s, node)
                    return .serve(node.answer, .hit)
                }
                if age <= policy.ttlMs + policy.staleWhileRevalidateMs {
                    // One background refresh per key. A refresher that has stopped takes none: then the entry
                    // is loaded below, like a miss.
                    var refreshing = s.refreshing.contains(key) || s.inflight[key] != nil
                    if !refreshing, startRefresh(key: key, className: className, generation: s.generations[className, default: 0], logger: logger, load: load) {
                        s.refreshing.insert(key)
                        refreshing = true
                    }
                    if refreshing {
                        touch(&s, node)
                        return .serve(node.answer, .stale)
                    }
                }
                if age <= policy.ttlMs + policy.staleIfErrorMs { fallback = node.answer }
            }
            let generation = s.generations[className, default: 0]
            if let task = s.inflight[key] { return .wait(task, fallback: fallback, generation: generation, leader: false) }
            let task = Task { try await load() }
            s.inflight[key] = task
            return .wait(task, fallback: fallback, generation: generation, leader: true)
        }
        switch step {
        case .serve(let answer, let outcome):
            metrics.record(outcome, className)
            logger.debug("cache", metadata: ["causeway.cache": .string(outcome.rawValue), "causeway.class": .string(className)])
            return (answer, outcome)
        case .wait(let task, let fallback, let generation, let leader):
            let started = elapsed()
            do {
                let answer = try await task.value
                if leader {
                    metrics.sourceLatency(className, elapsed() - started)
                    state.withLock { s in
                        s.inflight[key] = nil
                        if s.generations[className, default: 0] == generation { store(&s, key: key, className: className, answer: answer, now: nowMs) }
                    }
                }
                let outcome: CacheOutcome = leader ? .miss : .coalesced
                metrics.record(outcome, className)
                logger.debug("cache", metadata: ["causeway.cache": .string(outcome.rawValue), "causeway.class": .string(className)])
                return (answer, outcome)
            } catch {
                if leader { state.withLock { _ = $0.inflight.removeValue(forKey: key) } }
                if let fallback, ResponseCache.isSourceFailure(error) {
                    metrics.record(.staleIfError, className)
                    logger.warning("source failed; serving a stale cached answer", metadata: [
                        "causeway.connector": .string(connector), "causeway.class": .string(className), "error": .string(String(describing: error)),
                    ])
                    return (fallback, .staleIfError)
                }
                throw error
            }
        }
    }

    /// Errors that mean "the source did not answer" (as opposed to a bad request).
    static func isSourceFailure(_ error: any Error) -> Bool {
        guard let e = error as? GatewayError else { return true }
        return e.code == .connectionFailed || e.code == .timeout || e.code == .internalServerError
    }

    /// Hands one background refresh of `key` to the refresher; false when it takes none.
    private func startRefresh(key: String, className: String, generation: UInt64, logger: Logger,
                              load: @escaping @Sendable () async throws -> CachedAnswer) -> Bool {
        refresher.submit { [self] in
            let started = elapsed()
            let result: Result<CachedAnswer, any Error>
            do { result = .success(try await load()) } catch { result = .failure(error) }
            metrics.sourceLatency(className, elapsed() - started)
            state.withLock { s in
                s.refreshing.remove(key)
                if case .success(let answer) = result, s.generations[className, default: 0] == generation {
                    store(&s, key: key, className: className, answer: answer, now: nowMs)
                }
            }
            if case .failure(let error) = result {
                logger.warning("background refresh failed", metadata: ["causeway.class": .string(className), "error": .string(String(describing: error))])
            }
        }
    }

    // MARK: Invalidation

    /// Drops every entry of a collection and keeps answers already in flight from being stored.
    public func invalidate(className: String) {
        let dropped = state.withLock { s -> Int in
            s.generations[className, default: 0] &+= 1
            var n = 0
            for key in s.byClass[className] ?? [] {
                if let node = s.nodes[key] { remove(&s, node); n += 1 }
            }
            s.byClass[className] = nil
            return n
        }
        if dropped > 0 { metrics.bytes(usedBytes) }
    }

    /// Drops everything; returns how many entries.
    @discardableResult
    public func purge() -> Int {
        let classes = state.withLock { Array($0.byClass.keys) + Array($0.generations.keys) }
        let before = entryCount
        for c in Set(classes) { invalidate(className: c) }
        return before
    }

    // MARK: LRU bookkeeping (under the lock)

    private func touch(_ s: inout State, _ node: Node) {
        guard s.head !== node else { return }
        unlink(&s, node)
        node.next = s.head
        s.head?.prev = node
        s.head = node
        if s.tail == nil { s.tail = node }
    }

    private func unlink(_ s: inout State, _ node: Node) {
        node.prev?.next = node.next
        node.next?.prev = node.prev
        if s.head === node { s.head = node.next }
        if s.tail === node { s.tail = node.prev }
        node.prev = nil
        node.next = nil
    }

    private func remove(_ s: inout State, _ node: Node) {
        unlink(&s, node)
        s.nodes[node.key] = nil
        s.byClass[node.className]?.remove(node.key)
        s.bytes -= node.bytes
        budget.release(node.bytes)
    }

    private func store(_ s: inout State, key: String, className: String, answer: CachedAnswer, now: Int64) {
        let size = answer.size + key.utf8.count
        if let old = s.nodes[key] { remove(&s, old) }
        guard size <= maxBytes else { return }
        // Evict least recently used entries until the entry fits this cache and the process-wide cap.
        while s.bytes + size > maxBytes || !budget.reserve(size) {
            guard let victim = s.tail else { return }
            remove(&s, victim)
            metrics.eviction(victim.className)
        }
        let node = Node(key: key, className: className, answer: answer, bytes: size, storedAtMs: now)
        s.nodes[key] = node
        s.byClass[className, default: []].insert(key)
        s.bytes += size
        touch(&s, node)
        metrics.bytes(s.bytes)
    }
}

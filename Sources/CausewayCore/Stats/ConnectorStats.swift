import Synchronization

/// One connector's activity over the last hour, in one-minute buckets (a ring of 60): requests on its
/// classes, the latency of its source calls (a histogram, for p50/p95/p99), source errors, and cache hits
/// and misses. In memory only; the admin page draws its charts from it.
public final class ConnectorStats: Sendable {
    public static let minutes = 60
    /// Upper bounds of the latency buckets in milliseconds; the last bucket is everything above.
    public static let latencyBoundsMs: [Double] = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000]

    /// One minute of activity.
    public struct Minute: Sendable, Equatable {
        /// Minutes since 1970 (UTC).
        public var minute: Int64
        public var requests = 0
        public var sourceCalls = 0
        public var sourceErrors = 0
        public var cacheHits = 0
        public var cacheMisses = 0
        /// Source call counts per latency bucket (`latencyBoundsMs`, then one more for above).
        public var latency = [Int](repeating: 0, count: ConnectorStats.latencyBoundsMs.count + 1)

        public init(minute: Int64) { self.minute = minute }

        /// The `p` quantile (0...1) of source latency in milliseconds: the upper bound of the bucket that
        /// holds it (nil without source calls). Above the last bound it reports the last bound.
        public func latencyMs(quantile p: Double) -> Double? { ConnectorStats.quantile(p, latency) }

        /// Hits over hits and misses (nil when the cache was not asked).
        public var hitRatio: Double? {
            let asked = cacheHits + cacheMisses
            return asked == 0 ? nil : Double(cacheHits) / Double(asked)
        }

        mutating func add(_ other: Minute) {
            requests += other.requests
            sourceCalls += other.sourceCalls
            sourceErrors += other.sourceErrors
            cacheHits += other.cacheHits
            cacheMisses += other.cacheMisses
            for i in latency.indices { latency[i] += other.latency[i] }
        }
    }

    /// The source's most recent failure and success: whether it is failing now, since when and why.
    public struct Health: Sendable, Equatable {
        public var lastErrorMs: Int64?
        /// The error's client-safe message (never the source's own text).
        public var lastError: String?
        public var lastSuccessMs: Int64?
        /// When the current run of failures began (nil: the last call succeeded).
        public var failingSinceMs: Int64?
        public var failing: Bool { failingSinceMs != nil }
        public init() {}
    }

    public let connector: String
    private let ring: Mutex<[Minute]>
    private let healthState = Mutex(Health())
    /// Milliseconds since 1970 (tests inject a fixed or stepping time).
    let nowMs: @Sendable () -> Int64

    public init(connector: String, nowMs: @escaping @Sendable () -> Int64 = { ParseDate.now().millisecondsSince1970 }) {
        self.connector = connector
        self.nowMs = nowMs
        ring = Mutex([Minute](repeating: Minute(minute: -1), count: ConnectorStats.minutes))
    }

    private func update(_ change: (inout Minute) -> Void) {
        let minute = nowMs() / 60_000
        let slot = Int(minute % Int64(ConnectorStats.minutes))
        ring.withLock { r in
            if r[slot].minute != minute { r[slot] = Minute(minute: minute) }
            change(&r[slot])
        }
    }

    /// A request on one of the connector's classes (answered from the cache or not).
    public func request() { update { $0.requests += 1 } }

    /// A call into the source and how long it took; `failed`: the source failed (5xx class errors).
    public func sourceCall(_ duration: Duration, failed: Bool) {
        sourceCall(duration, error: failed ? "the source failed" : nil)
    }

    /// A call into the source; `error`: the source failed, with this client-safe message.
    public func sourceCall(_ duration: Duration, error: String?) {
        let now = nowMs()
        healthState.withLock { h in
            if let error {
                if h.failingSinceMs == nil { h.failingSinceMs = now }
                h.lastErrorMs = now
                h.lastError = error
            } else {
                h.lastSuccessMs = now
                h.failingSinceMs = nil
            }
        }
        let failed = error != nil
        let ms = Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
        let bucket = ConnectorStats.latencyBoundsMs.firstIndex { ms <= $0 } ?? ConnectorStats.latencyBoundsMs.count
        update { m in
            m.sourceCalls += 1
            m.latency[bucket] += 1
            if failed { m.sourceErrors += 1 }
        }
    }

    /// What the cache did for a read: hits (fresh, coalesced, stale) and misses; bypasses are not counted.
    public func cache(_ outcome: CacheOutcome) {
        switch outcome {
        case .hit, .coalesced, .stale, .staleIfError: update { $0.cacheHits += 1 }
        case .miss: update { $0.cacheMisses += 1 }
        case .bypass: break
        }
    }

    public var health: Health { healthState.withLock { $0 } }

    /// The last hour, oldest first, one entry per minute (empty minutes included), ending with the current one.
    public func lastHour() -> [Minute] {
        let now = nowMs() / 60_000
        let stored = ring.withLock { $0 }
        return (0..<Int64(ConnectorStats.minutes)).reversed().map { back in
            let minute = now - back
            let slot = stored[Int(((minute % 60) + 60) % 60)]
            return slot.minute == minute ? slot : Minute(minute: minute)
        }
    }

    /// The sum of the last hour.
    public func hourTotal() -> Minute {
        var total = Minute(minute: nowMs() / 60_000)
        for m in lastHour() { total.add(m) }
        return total
    }

    static func quantile(_ p: Double, _ counts: [Int]) -> Double? {
        let total = counts.reduce(0, +)
        guard total > 0 else { return nil }
        let rank = max(1, Int((p * Double(total)).rounded(.up)))
        var seen = 0
        for (i, c) in counts.enumerated() {
            seen += c
            if seen >= rank { return latencyBoundsMs[min(i, latencyBoundsMs.count - 1)] }
        }
        return latencyBoundsMs.last
    }
}

/// Every connector's `ConnectorStats`, by connector name; kept across configuration reloads, so a
/// connector's history survives them.
public final class ConnectorStatsSet: Sendable {
    private let all = Mutex<[String: ConnectorStats]>([:])
    let nowMs: @Sendable () -> Int64

    public init(nowMs: @escaping @Sendable () -> Int64 = { ParseDate.now().millisecondsSince1970 }) { self.nowMs = nowMs }

    public func stats(_ connector: String) -> ConnectorStats {
        all.withLock { a in
            if let s = a[connector] { return s }
            let s = ConnectorStats(connector: connector, nowMs: nowMs)
            a[connector] = s
            return s
        }
    }

    /// Whether an error from a source call counts as a source error (the source failed, timed out or is
    /// unreachable), as opposed to a client's mistake such as a missing object.
    public static func isSourceError(_ error: any Error) -> Bool {
        if error is CancellationError { return false }
        guard let e = error as? GatewayError else { return true }
        return e.httpStatus >= 500
    }

    /// What the admin page may show of a source error: a `GatewayError`'s client-safe message, else a generic text.
    public static func safeMessage(_ error: any Error) -> String {
        (error as? GatewayError)?.message ?? "the source failed (see the log)"
    }
}

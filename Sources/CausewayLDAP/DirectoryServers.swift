import Synchronization

/// The directory's URLs and which of them recently failed (failover).
///
/// Connections go to the first URL that has not failed within the back-off period (`failoverBackoffSeconds`),
/// in configured order; URLs in back-off are tried only after all the others, soonest-retry first, so a login
/// still succeeds when every URL has failed once. A URL that answers again is healthy at once.
/// The time comes from `now` (seconds on a monotonic clock; tests move it by hand).
final class DirectoryServers: Sendable {
    struct Failure: Sendable {
        var retryAt: Duration
        var reason: String
    }

    let urls: [String]
    let backoff: Duration
    private let failures = Mutex<[String: Failure]>([:])
    private let clock: Mutex<@Sendable () -> Duration>

    init(urls: [String], backoff: Duration) {
        self.urls = urls
        self.backoff = backoff
        let origin = ContinuousClock.now
        clock = Mutex({ ContinuousClock.now - origin })
    }

    /// Replaces the clock (tests: a `ManualClock`'s offset).
    func setClock(_ now: @escaping @Sendable () -> Duration) { clock.withLock { $0 = now } }

    var now: Duration { clock.withLock { $0 }() }

    /// The URLs in the order to try them now.
    func ordered() -> [String] {
        let now = self.now
        return failures.withLock { f in
            let healthy = urls.filter { url in f[url].map { $0.retryAt <= now } ?? true }
            let waiting = urls.filter { !healthy.contains($0) }.sorted { f[$0]!.retryAt < f[$1]!.retryAt }
            return healthy + waiting
        }
    }

    /// The URL new connections should use first.
    var preferred: String? { ordered().first }

    func failed(_ url: String, reason: String) {
        let retryAt = now + backoff
        failures.withLock { $0[url] = Failure(retryAt: retryAt, reason: reason) }
    }

    func succeeded(_ url: String) {
        _ = failures.withLock { $0.removeValue(forKey: url) }
    }

    /// Why a URL is in back-off, if it is.
    func failure(_ url: String) -> Failure? {
        let now = self.now
        return failures.withLock { f in f[url].flatMap { $0.retryAt > now ? $0 : nil } }
    }
}

import Synchronization

/// One connector's circuit breaker: after `failureThreshold` upstream failures in a row (no connection,
/// a timeout, a 5xx answer) it opens, and requests fail at once — so a cache's stale-if-error answer comes
/// at once too — for `coolDown`. Then it is half-open: the next request goes through as the probe while
/// the others still fail fast; the probe's success closes it, its failure opens it for another cool-down.
///
/// Time comes from `now` (the connector factory's clock: tests pass a `ManualClock`).
final class RESTCircuitBreaker: Sendable {
    struct Settings: Sendable {
        /// Consecutive failures that open the breaker; 0 turns it off.
        var failureThreshold = 5
        var coolDown: Duration = .seconds(30)
    }

    enum Admission: Equatable {
        case pass
        /// The half-open breaker's one trial request: its outcome decides.
        case probe
        /// Open: fail without asking the API; it is tried again in `retryIn`.
        case refuse(retryIn: Duration, failures: Int)
    }

    private enum State {
        case closed(failures: Int)
        case open(until: Duration, failures: Int)
        case halfOpen(failures: Int)
    }

    let settings: Settings
    private let now: @Sendable () -> Duration
    private let state = Mutex(State.closed(failures: 0))

    init(settings: Settings, now: @escaping @Sendable () -> Duration) {
        self.settings = settings
        self.now = now
    }

    func admit() -> Admission {
        guard settings.failureThreshold > 0 else { return .pass }
        let t = now()
        return state.withLock { s -> Admission in
            switch s {
            case .closed: return .pass
            case .open(let until, let failures):
                guard t >= until else { return .refuse(retryIn: until - t, failures: failures) }
                s = .halfOpen(failures: failures)
                return .probe
            case .halfOpen(let failures):
                return .refuse(retryIn: .zero, failures: failures)
            }
        }
    }

    /// The API answered (any status below 500): the breaker closes.
    func succeeded() {
        guard settings.failureThreshold > 0 else { return }
        state.withLock { $0 = .closed(failures: 0) }
    }

    /// The API failed; `probe` tells whether this was the half-open trial.
    func failed(probe: Bool) {
        guard settings.failureThreshold > 0 else { return }
        let t = now()
        state.withLock { s in
            switch s {
            case .closed(let failures):
                let n = failures + 1
                s = n >= settings.failureThreshold ? .open(until: t + settings.coolDown, failures: n) : .closed(failures: n)
            case .halfOpen(let failures) where probe:
                s = .open(until: t + settings.coolDown, failures: failures + 1)
            case .open(let until, let failures):
                s = .open(until: until, failures: failures + 1)
            case .halfOpen:
                break
            }
        }
    }

    /// The probe ended without an answer either way (cancelled): the next request probes again.
    func abandoned(probe: Bool) {
        guard probe else { return }
        state.withLock { s in
            if case .halfOpen(let failures) = s { s = .open(until: .zero, failures: failures) }
        }
    }

    var isOpen: Bool {
        state.withLock { s in
            if case .closed = s { return false }
            return true
        }
    }
}

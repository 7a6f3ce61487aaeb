import Synchronization

/// One connector's circuit breaker: after `failureThreshold` upstream failures in a row (no connection,
/// a timeout, a 5xx answer) it opens, and requests fail at once — so a cache's stale-if-error answer comes
/// at once too. While the connector runs, its background prober (`RESTConnector+Probe`) asks the API after
/// each `coolDown` and closes the breaker when it answers, so no client request is ever the trial.
/// Without a prober (a connector used outside its service) the breaker is half-open after the cool-down:
/// the next request goes through as the probe while the others still fail fast.
///
/// Time comes from `now` (the connector factory's clock: tests pass a `ManualClock`).
final class RESTCircuitBreaker: Sendable {
    struct Settings: Sendable {
        /// Consecutive failures that open the breaker; 0 turns it off.
        var failureThreshold = 5
        var coolDown: Duration = .seconds(30)
        /// What the background probe asks (a path below baseURL); nil: the first collection's list, one record.
        var healthPath: String?
    }

    enum Admission: Equatable {
        case pass
        /// The half-open breaker's one trial request: its outcome decides.
        case probe
        /// Open: fail without asking the API; it is tried again in `retryIn`.
        case refuse(retryIn: Duration, failures: Int)
    }

    private enum Phase {
        case closed(failures: Int)
        case open(until: Duration, failures: Int)
        case halfOpen(failures: Int)
    }

    private struct State {
        var phase = Phase.closed(failures: 0)
        /// A background prober runs: client requests are never the trial.
        var probing = false
        /// Background probes finished (for tests and the log).
        var probes = 0
    }

    let settings: Settings
    private let now: @Sendable () -> Duration
    private let state = Mutex(State())
    /// One element each time the breaker opens (newest kept): wakes the background prober.
    let openings: AsyncStream<Void>
    private let opened: AsyncStream<Void>.Continuation

    init(settings: Settings, now: @escaping @Sendable () -> Duration) {
        self.settings = settings
        self.now = now
        (openings, opened) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    deinit { opened.finish() }

    func admit() -> Admission {
        guard settings.failureThreshold > 0 else { return .pass }
        let t = now()
        return state.withLock { s -> Admission in
            switch s.phase {
            case .closed: return .pass
            case .open(let until, let failures):
                if s.probing { return .refuse(retryIn: max(.zero, until - t), failures: failures) }
                guard t >= until else { return .refuse(retryIn: until - t, failures: failures) }
                s.phase = .halfOpen(failures: failures)
                return .probe
            case .halfOpen(let failures):
                return .refuse(retryIn: .zero, failures: failures)
            }
        }
    }

    /// The API answered (any status below 500): the breaker closes.
    func succeeded() {
        guard settings.failureThreshold > 0 else { return }
        state.withLock { $0.phase = .closed(failures: 0) }
    }

    /// The API failed; `probe` tells whether this was the half-open trial.
    func failed(probe: Bool) {
        guard settings.failureThreshold > 0 else { return }
        let t = now()
        let opens = state.withLock { s -> Bool in
            switch s.phase {
            case .closed(let failures):
                let n = failures + 1
                s.phase = n >= settings.failureThreshold ? .open(until: t + settings.coolDown, failures: n) : .closed(failures: n)
                return n >= settings.failureThreshold
            case .halfOpen(let failures) where probe:
                s.phase = .open(until: t + settings.coolDown, failures: failures + 1)
            case .open(let until, let failures):
                s.phase = .open(until: until, failures: failures + 1)
            case .halfOpen:
                break
            }
            return false
        }
        if opens { opened.yield() }
    }

    /// The probe ended without an answer either way (cancelled): the next request probes again.
    func abandoned(probe: Bool) {
        guard probe else { return }
        state.withLock { s in
            if case .halfOpen(let failures) = s.phase { s.phase = .open(until: .zero, failures: failures) }
        }
    }

    var isOpen: Bool {
        state.withLock { s in
            if case .closed = s.phase { return false }
            return true
        }
    }

    var isHalfOpen: Bool {
        state.withLock { s in
            if case .halfOpen = s.phase { return true }
            return false
        }
    }

    /// Background probes finished so far.
    var probes: Int { state.withLock { $0.probes } }

    // MARK: The background prober's side

    /// Marks whether a background prober runs (while it does, client requests never probe).
    func setProbing(_ on: Bool) {
        state.withLock { $0.probing = on }
    }

    enum ProbeStep: Equatable {
        /// Closed: nothing to probe until the breaker opens again.
        case idle
        /// Open: wait until the clock reads this (the end of the cool-down).
        case wait(until: Duration)
        /// Half-open now, for this probe: report its outcome with `probeEnded`.
        case probe
    }

    /// What the prober does next; `.probe` moves the breaker to half-open.
    func nextProbeStep() -> ProbeStep {
        guard settings.failureThreshold > 0 else { return .idle }
        let t = now()
        return state.withLock { s -> ProbeStep in
            switch s.phase {
            case .closed: return .idle
            case .open(let until, let failures):
                guard t >= until else { return .wait(until: until) }
                s.phase = .halfOpen(failures: failures)
                return .probe
            case .halfOpen:
                // A client request is the trial (it began before the prober ran): look again shortly.
                return .wait(until: t + min(settings.coolDown, .seconds(1)))
            }
        }
    }

    /// The background probe's outcome: an answer closes the breaker; a failure opens it for another
    /// cool-down; nil (cancelled) leaves it open with the cool-down over.
    func probeEnded(answered: Bool?) {
        switch answered {
        case true?: succeeded()
        case false?: failed(probe: true)
        case nil: abandoned(probe: true)
        }
        state.withLock { $0.probes += 1 }
    }
}

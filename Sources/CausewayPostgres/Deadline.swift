import Synchronization

/// Enforces per-call deadlines for one connector with a single periodic sweep instead of one timer per call
/// (a timer per call cost about 35 µs of CPU per request, see Docs/benchmarks.md).
///
/// Two ways: `register` calls an action when a deadline passes (statements close their connection, which
/// fails everything waiting on it: no extra task per statement); `run` runs work in a task of its own and
/// answers the caller with the timeout error at once, for work that has no connection to close (the pooled
/// client's calls: a call stuck on a connection that died, seen when PostgreSQL backends are killed
/// mid-query, may never return, and a task group would wait for its stuck child forever).
final class DeadlineWatchdog: Sendable {
    private struct State {
        var next: UInt64 = 0
        var calls: [UInt64: Call] = [:]
    }
    private struct Call {
        let deadline: ContinuousClock.Instant
        let expire: @Sendable () -> Void
    }
    private let state = Mutex(State())
    /// How often deadlines are checked: a call times out between its limit and its limit plus this.
    let resolution: Duration

    init(resolution: Duration = .milliseconds(200)) {
        self.resolution = resolution
    }

    /// Runs `body` in its own task and returns its result, or throws `onTimeout()` once `limit` has passed.
    func run<T: Sendable>(_ limit: Duration, onTimeout: @escaping @Sendable () -> any Error,
                          _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let race = DeadlineRace(continuation)
            let id = register(ContinuousClock.now + limit) { race.fail(onTimeout()) }
            race.attach(work: Task {
                await race.finish { try await body() }
                self.unregister(id)
            })
        }
    }

    /// Calls `expire` once `deadline` has passed, unless `unregister` came first.
    func register(_ deadline: ContinuousClock.Instant, expire: @escaping @Sendable () -> Void) -> UInt64 {
        state.withLock { s in
            s.next &+= 1
            s.calls[s.next] = Call(deadline: deadline, expire: expire)
            return s.next
        }
    }

    func unregister(_ id: UInt64) {
        _ = state.withLock { $0.calls.removeValue(forKey: id) }
    }

    /// Checks deadlines every `resolution` until cancelled (the connector runs it in `runBackground`; several
    /// concurrent sweeps are harmless).
    func run() async {
        while !Task.isCancelled {
            do { try await Task.sleep(for: resolution) } catch { return }
            let now = ContinuousClock.now
            let expired = state.withLock { s -> [Call] in
                let ids = s.calls.filter { $0.value.deadline <= now }.map(\.key)
                return ids.compactMap { s.calls.removeValue(forKey: $0) }
            }
            for call in expired { call.expire() }
        }
    }
}

/// Resumes the continuation exactly once, with the work's result or the timeout.
final class DeadlineRace<T: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<T, any Error>?
        var work: Task<Void, Never>?
    }
    private let state: Mutex<State>

    init(_ continuation: CheckedContinuation<T, any Error>) {
        state = Mutex(State(continuation: continuation))
    }

    func attach(work: Task<Void, Never>) {
        let timedOut = state.withLock { s -> Bool in
            s.work = work
            return s.continuation == nil
        }
        if timedOut { work.cancel() }
    }

    func finish(_ body: @Sendable () async throws -> T) async {
        do { resume(.success(try await body())) } catch { resume(.failure(error)) }
    }

    func fail(_ error: any Error) { resume(.failure(error)) }

    private func resume(_ result: Result<T, any Error>) {
        let (continuation, work) = state.withLock { s in
            defer { s.continuation = nil }
            return (s.continuation, s.work)
        }
        guard let continuation else { return }
        if case .failure = result { work?.cancel() }
        continuation.resume(with: result)
    }
}

/// Set once a statement's deadline has passed.
final class ExpiryFlag: Sendable {
    private let value = Atomic<Bool>(false)
    func set() { value.store(true, ordering: .releasing) }
    var isSet: Bool { value.load(ordering: .acquiring) }
}

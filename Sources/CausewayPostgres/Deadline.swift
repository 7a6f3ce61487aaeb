import Synchronization

/// Runs `body` but gives up after `limit` without waiting for it: a call stuck on a connection that died
/// (seen when PostgreSQL backends are killed mid-query) must not hold the request, and a task group would
/// wait for its stuck child. The abandoned work is cancelled.
func withDeadline<T: Sendable>(_ limit: Duration, onTimeout: @escaping @Sendable () -> any Error,
                               _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
        let race = DeadlineRace(continuation)
        let work = Task { await race.finish({ try await body() }) }
        let timer = Task {
            do { try await Task.sleep(for: limit) } catch { return }
            race.fail(onTimeout())
        }
        race.attach(work: work, timer: timer)
    }
}

/// Resumes the continuation exactly once, with the work's result or the timeout.
final class DeadlineRace<T: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<T, any Error>?
        var work: Task<Void, Never>?
        var timer: Task<Void, Never>?
    }
    private let state: Mutex<State>

    init(_ continuation: CheckedContinuation<T, any Error>) {
        state = Mutex(State(continuation: continuation))
    }

    func attach(work: Task<Void, Never>, timer: Task<Void, Never>) {
        let done = state.withLock { s -> Bool in
            s.work = work
            s.timer = timer
            return s.continuation == nil
        }
        if done { timer.cancel() }
    }

    func finish(_ body: @Sendable () async throws -> T) async {
        do { resume(.success(try await body())) } catch { resume(.failure(error)) }
    }

    func fail(_ error: any Error) { resume(.failure(error)) }

    private func resume(_ result: Result<T, any Error>) {
        let (continuation, work, timer) = state.withLock { s in
            defer { s.continuation = nil }
            return (s.continuation, s.work, s.timer)
        }
        guard let continuation else { return }
        timer?.cancel()
        if case .failure = result { work?.cancel() }
        continuation.resume(with: result)
    }
}

import ServiceLifecycle
import Synchronization

/// Runs the caches' stale-while-revalidate refreshes under structured concurrency.
///
/// It is a `Service`: `run()` runs every refresh as a child task of its own task group, and on graceful
/// shutdown stops taking refreshes, lets those already taken finish, and only then returns. Listed after
/// the connectors' services in the service group, it is shut down before them, so no refresh reads from a
/// connector that is shutting down. Cancelling `run()` cancels the refreshes.
///
/// Without a running `run()`:
/// - before it starts (a cache used outside a service group: unit tests, tools; or the moment between the
///   service group's start and this service's), a refresh runs in a task of its own. `run()` adopts such
///   tasks when it starts and waits for them like for its own.
/// - once it has stopped (graceful shutdown begun, or `run()` ended), refreshes are refused: the cache then
///   loads a stale entry in the foreground, like a miss, instead of starting work nobody would wait for.
public final class CacheRefresher: Service, Sendable {
    public typealias Job = @Sendable () async -> Void

    private enum Phase { case idle, running, stopped }

    private struct State {
        var phase = Phase.idle
        /// Refreshes started before `run()`, by number, until they end or `run()` adopts them.
        var early: [Int: Task<Void, Never>] = [:]
        var nextEarly = 0
    }

    private let state = Mutex(State())
    private let jobs: AsyncStream<Job>
    private let input: AsyncStream<Job>.Continuation
    /// Ends once `run()` takes refreshes itself and listens for graceful shutdown (tests wait for it).
    let started: AsyncStream<Never>
    private let startedInput: AsyncStream<Never>.Continuation

    public init() {
        (jobs, input) = AsyncStream.makeStream(of: Job.self)
        (started, startedInput) = AsyncStream.makeStream(of: Never.self)
    }

    /// Starts `job` in the background; false (and `job` is not run) when the refresher has stopped.
    func submit(_ job: @escaping Job) -> Bool {
        state.withLock { s in
            switch s.phase {
            case .stopped:
                return false
            case .running:
                if case .terminated = input.yield(job) { return false }
                return true
            case .idle:
                s.nextEarly += 1
                let number = s.nextEarly
                s.early[number] = Task {
                    await job()
                    self.state.withLock { _ = $0.early.removeValue(forKey: number) }
                }
                return true
            }
        }
    }

    public func run() async throws {
        let adopted = state.withLock { s -> [Task<Void, Never>] in
            precondition(s.phase == .idle, "a CacheRefresher runs once")
            s.phase = .running
            defer { s.early = [:] }
            return Array(s.early.values)
        }
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                startedInput.finish()
                for task in adopted {
                    group.addTask { await withTaskCancellationHandler { await task.value } onCancel: { task.cancel() } }
                }
                // Ends when `stop()` finishes the stream (after the jobs already taken) or when `run()` is cancelled.
                for await job in jobs { group.addTask { await job() } }
            }
        } onGracefulShutdown: {
            self.stop()
        }
        stop()
    }

    private func stop() {
        state.withLock { s in
            s.phase = .stopped
            input.finish()
        }
    }
}

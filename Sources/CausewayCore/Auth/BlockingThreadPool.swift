import Foundation
import Synchronization

/// A fixed set of threads for work that blocks (libldap calls, password hashing), so that it never
/// occupies Swift concurrency's cooperative threads or an event loop.
public final class BlockingThreadPool: Sendable {
    private struct State {
        var jobs: [@Sendable () -> Void] = []
        var stopped = false
    }
    private let state = Mutex(State())
    private let signal = DispatchSemaphore(value: 0)
    public let threadCount: Int
    public let name: String

    public init(name: String, threads: Int) {
        self.name = name
        self.threadCount = max(1, threads)
        for i in 0..<threadCount {
            let thread = Thread { [self] in self.work() }
            thread.name = "\(name)-\(i)"
            thread.start()
        }
    }

    /// Runs `body` on one of the pool's threads and returns its result.
    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let accepted = state.withLock { s -> Bool in
                guard !s.stopped else { return false }
                s.jobs.append { continuation.resume(with: Result { try body() }) }
                return true
            }
            if accepted { signal.signal() } else {
                continuation.resume(throwing: GatewayError(.connectionFailed, "The \(name) workers are shut down."))
            }
        }
    }

    /// Lets the threads finish their queued jobs and exit.
    public func shutdown() {
        state.withLock { $0.stopped = true }
        for _ in 0..<threadCount { signal.signal() }
    }

    private func work() {
        while true {
            signal.wait()
            let job = state.withLock { s -> (@Sendable () -> Void)? in
                s.jobs.isEmpty ? nil : s.jobs.removeFirst()
            }
            if let job { job(); continue }
            if state.withLock({ $0.stopped }) { return }
        }
    }
}

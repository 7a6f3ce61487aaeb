import NIOPosix

extension NIOThreadPool {
    /// Runs blocking work (libldap calls, password hashing) on one of the pool's threads, never on a
    /// Swift concurrency thread or an event loop.
    ///
    /// A pool that is not running (not started yet, or shut down) refuses the work: that becomes a
    /// `connectionFailed` naming `workers`. A cancelled caller gets `CancellationError` (work that has not
    /// started yet is skipped; work already running on a thread finishes).
    public func runBlocking<T: Sendable>(_ workers: String, _ body: @escaping @Sendable () throws -> T) async throws -> T {
        do {
            return try await runIfActive(body)
        } catch is CancellationError where !Task.isCancelled {
            // `runIfActive` reports a pool that is not running as a cancellation of the work item.
            throw GatewayError(.connectionFailed, "The \(workers) threads are not running (not started, or shut down).")
        }
    }
}

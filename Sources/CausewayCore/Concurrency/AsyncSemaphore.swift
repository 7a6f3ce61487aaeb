import Synchronization

/// A counting semaphore for async code: at most `permits` holders at a time, the others suspended
/// (never blocking a thread) and served first come, first served.
///
/// Cancellation: a task that has to wait and is cancelled leaves the queue and `acquire()` throws
/// `CancellationError`; it holds no permit then. A permit that is free is granted without looking at
/// cancellation (only waiting is cancellable), and a permit granted just before the cancellation arrives
/// stays granted: `acquire()` returns normally and the caller must release it (`withPermit` always does).
/// So every permit granted is released exactly once, whatever the timing of a cancellation.
public final class AsyncSemaphore: Sendable {
    public let permits: Int
    private let state: Mutex<State>
    /// Test hook: called (outside the lock) each time a task joins the queue, with the queue's length.
    private let onEnqueue: (@Sendable (Int) -> Void)?

    private struct State {
        var available: Int
        /// Tasks inside `acquire()` that found no free permit and have not reached their continuation yet
        /// (the value says whether they were cancelled meanwhile).
        var arriving: [UInt64: Bool] = [:]
        /// Waiting tasks by ticket; `order` holds their tickets in arrival order from `head` on, including
        /// tickets of waiters that left (cancelled), which are skipped.
        var waiting: [UInt64: CheckedContinuation<Void, any Error>] = [:]
        var order: [UInt64] = []
        var head = 0
        var nextTicket: UInt64 = 0

        mutating func popFirstWaiter() -> CheckedContinuation<Void, any Error>? {
            defer {
                if head > 32 && head * 2 > order.count {
                    order.removeFirst(head)
                    head = 0
                }
            }
            while head < order.count {
                let ticket = order[head]
                head += 1
                if let waiter = waiting.removeValue(forKey: ticket) { return waiter }
            }
            return nil
        }
    }

    public convenience init(permits: Int) {
        self.init(permits: permits, onEnqueue: nil)
    }

    init(permits: Int, onEnqueue: (@Sendable (Int) -> Void)?) {
        precondition(permits > 0, "a semaphore needs at least one permit")
        self.permits = permits
        self.state = Mutex(State(available: permits))
        self.onEnqueue = onEnqueue
    }

    /// Permits not held right now.
    public var availablePermits: Int { state.withLock { $0.available } }
    /// Tasks waiting for a permit.
    public var waitingCount: Int { state.withLock { $0.waiting.count } }

    /// Takes a permit, waiting for one if none is free. Throws `CancellationError` (holding nothing) when
    /// the task is cancelled while it waits.
    public func acquire() async throws {
        let ticket = state.withLock { s -> UInt64? in
            if s.available > 0 {
                s.available -= 1
                return nil
            }
            s.nextTicket += 1
            s.arriving[s.nextTicket] = false
            return s.nextTicket
        }
        guard let ticket else { return }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                enum Arrival { case cancelled, granted, queued(Int) }
                let arrival = state.withLock { s -> Arrival in
                    // Cancelled before it got here: the cancellation handler found nothing to resume.
                    if s.arriving.removeValue(forKey: ticket) == true { return .cancelled }
                    // A permit was released after the first look.
                    if s.available > 0 {
                        s.available -= 1
                        return .granted
                    }
                    s.waiting[ticket] = continuation
                    s.order.append(ticket)
                    return .queued(s.waiting.count)
                }
                switch arrival {
                case .cancelled: continuation.resume(throwing: CancellationError())
                case .granted: continuation.resume()
                case .queued(let length): onEnqueue?(length)
                }
            }
        } onCancel: {
            let waiter = state.withLock { s -> CheckedContinuation<Void, any Error>? in
                if let waiter = s.waiting.removeValue(forKey: ticket) { return waiter }
                // Not queued yet: tell the arriving task. Neither queued nor arriving: the permit was granted.
                if s.arriving[ticket] != nil { s.arriving[ticket] = true }
                return nil
            }
            waiter?.resume(throwing: CancellationError())
        }
    }

    /// Gives a permit back: to the longest-waiting task, or to the pool.
    public func release() {
        let next = state.withLock { s -> CheckedContinuation<Void, any Error>? in
            if let waiter = s.popFirstWaiter() { return waiter }
            precondition(s.available < permits, "AsyncSemaphore released more often than acquired")
            s.available += 1
            return nil
        }
        next?.resume()
    }

    /// Runs `body` holding a permit, and releases it however `body` ends (also when it throws
    /// because its task was cancelled).
    public func withPermit<T>(isolation: isolated (any Actor)? = #isolation, _ body: () async throws -> T) async throws -> T {
        try await acquire()
        defer { release() }
        return try await body()
    }
}

import Synchronization

/// A barrier the test controls: tasks that reach it (`pass()`) wait until the test opens it, and the test
/// can wait until a number of tasks have arrived, so a test holds a source call for exactly as long as it
/// needs instead of guessing a delay.
public final class SourceGate: Sendable {
    private struct State {
        var isOpen = false
        var arrivals = 0
        var held: [CheckedContinuation<Void, Never>] = []
        var watchers: [(count: Int, continuation: CheckedContinuation<Void, Never>)] = []
    }

    private let state = Mutex(State())

    public init() {}

    /// How many tasks have reached the gate so far.
    public var arrivals: Int { state.withLock { $0.arrivals } }

    /// Waits until the gate is open.
    public func pass() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let (isOpen, reached) = state.withLock { s -> (Bool, [CheckedContinuation<Void, Never>]) in
                s.arrivals += 1
                if !s.isOpen { s.held.append(continuation) }
                let count = s.arrivals
                let reached = s.watchers.filter { $0.count <= count }.map(\.continuation)
                s.watchers.removeAll { $0.count <= count }
                return (s.isOpen, reached)
            }
            for watcher in reached { watcher.resume() }
            if isOpen { continuation.resume() }
        }
    }

    /// Returns once `count` tasks in all have reached the gate.
    public func waitForArrivals(_ count: Int) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let reached = state.withLock { s -> Bool in
                if s.arrivals >= count { return true }
                s.watchers.append((count, continuation))
                return false
            }
            if reached { continuation.resume() }
        }
    }

    /// Lets every held task and every later one through.
    public func open() {
        let held = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.isOpen = true
            defer { s.held = [] }
            return s.held
        }
        for continuation in held { continuation.resume() }
    }
}

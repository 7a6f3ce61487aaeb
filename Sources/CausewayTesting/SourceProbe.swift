import CausewayCore
import Logging
import Synchronization

/// What a `CountingConnector` does and has done; shared with the test that drives it.
public final class SourceProbe: Sendable {
    struct State {
        var reads = 0
        var delay: Duration = .zero
        var failing = false
        var gate: SourceGate?
    }
    private let state = Mutex(State())
    public init() {}

    /// Source reads so far (find, count, get).
    public var reads: Int { state.withLock { $0.reads } }
    public func set(delay: Duration) { state.withLock { $0.delay = delay } }
    public func set(failing: Bool) { state.withLock { $0.failing = failing } }
    public func resetReads() { state.withLock { $0.reads = 0 } }

    /// Holds every read from now on (counted when it arrives) until the test opens the returned gate.
    public func hold() -> SourceGate {
        let gate = SourceGate()
        state.withLock { $0.gate = gate }
        return gate
    }

    func read() async throws {
        let (delay, failing, gate) = state.withLock { s -> (Duration, Bool, SourceGate?) in
            s.reads += 1
            return (s.delay, s.failing, s.gate)
        }
        await gate?.pass()
        if delay > .zero { try await Task.sleep(for: delay) }
        if failing { throw GatewayError(.connectionFailed, "The source is down (test probe).") }
    }
}

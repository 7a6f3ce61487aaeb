import Synchronization

/// A clock that stands still until the test moves it (`advance(by:)`), so tests pass time windows (cache
/// TTLs, stale windows) without sleeping and without depending on the machine's speed.
///
/// `sleep(until:)` returns once the clock has been advanced to the deadline, or throws `CancellationError`
/// when the sleeping task is cancelled first.
public final class ManualClock: Clock, Sendable {
    public struct Instant: InstantProtocol {
        /// Time since the clock was made.
        public var offset: Duration

        public func advanced(by duration: Duration) -> Instant { Instant(offset: offset + duration) }
        public func duration(to other: Instant) -> Duration { other.offset - offset }
        public static func < (a: Instant, b: Instant) -> Bool { a.offset < b.offset }
    }

    private struct Sleeper {
        let deadline: Instant
        let wake: AsyncStream<Never>.Continuation
    }

    private struct State {
        var now = Instant(offset: .zero)
        var sleepers: [Int: Sleeper] = [:]
        var nextSleeper = 0
    }

    private let state = Mutex(State())

    public init() {}

    public var now: Instant { state.withLock { $0.now } }
    public var minimumResolution: Duration { .zero }

    /// Tasks sleeping on this clock now.
    public var sleeperCount: Int { state.withLock { $0.sleepers.count } }

    /// Returns once at least `count` tasks sleep on this clock (a loop under test has reached its wait).
    public func waitForSleepers(_ count: Int = 1) async {
        while sleeperCount < count { await Task.yield() }
    }

    /// Moves the clock forward and wakes the sleepers whose deadline has come.
    public func advance(by duration: Duration) {
        precondition(duration >= .zero, "a clock does not go back")
        let due = state.withLock { s -> [AsyncStream<Never>.Continuation] in
            s.now = s.now.advanced(by: duration)
            let now = s.now
            let due = s.sleepers.filter { $0.value.deadline <= now }
            for id in due.keys { s.sleepers[id] = nil }
            return due.values.map(\.wake)
        }
        for wake in due { wake.finish() }
    }

    public func sleep(until deadline: Instant, tolerance: Duration? = nil) async throws {
        // Each sleeper waits for the end of a stream of its own: `advance` ends it, and cancelling the task
        // ends the iteration too, so neither can be lost or happen twice.
        let (stream, wake) = AsyncStream<Never>.makeStream()
        let id = state.withLock { s -> Int? in
            guard deadline > s.now else { return nil }
            s.nextSleeper += 1
            s.sleepers[s.nextSleeper] = Sleeper(deadline: deadline, wake: wake)
            return s.nextSleeper
        }
        if let id {
            for await _ in stream {}
            state.withLock { _ = $0.sleepers.removeValue(forKey: id) }
        }
        try Task.checkCancellation()
    }
}

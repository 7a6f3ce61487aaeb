import CausewayTesting
import Testing

@Suite(.timeLimit(.minutes(2))) struct ManualClockTests {
    @Test func sleepersWakeWhenTheClockReachesTheirDeadline() async throws {
        let clock = ManualClock()
        let deadline = clock.now.advanced(by: .seconds(5))
        let sleeper = Task {
            try await clock.sleep(until: deadline)
            return clock.now
        }
        clock.advance(by: .seconds(3))
        clock.advance(by: .seconds(2))
        #expect(try await sleeper.value >= deadline)
        // A deadline already passed returns at once.
        try await clock.sleep(until: deadline)
    }

    @Test func aCancelledSleeperThrows() async throws {
        let clock = ManualClock()
        let deadline = clock.now.advanced(by: .seconds(100))
        let sleeper = Task { try await clock.sleep(until: deadline) }
        sleeper.cancel()
        await #expect(throws: CancellationError.self) { try await sleeper.value }
        #expect(clock.now < deadline)
    }
}

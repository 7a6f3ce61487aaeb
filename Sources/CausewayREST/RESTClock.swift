/// The circuit breaker's time: how long since a clock was first read, and sleeping until such a reading.
/// Built once per connector from the factory's clock (tests pass a `ManualClock`). Sleeping until an
/// absolute reading, not for a duration, keeps a cool-down exact when the clock moves between reading it
/// and starting to sleep.
struct RESTClock: Sendable {
    let now: @Sendable () -> Duration
    let sleep: @Sendable (_ until: Duration) async throws -> Void

    init<C: Clock<Duration>>(_ clock: C) {
        let origin = clock.now
        now = { origin.duration(to: clock.now) }
        sleep = { try await clock.sleep(until: origin.advanced(by: $0), tolerance: nil) }
    }
}

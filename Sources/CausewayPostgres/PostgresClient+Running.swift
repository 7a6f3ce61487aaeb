import PostgresNIO

extension PostgresClient {
    /// Starts `run()` in a task and returns once it is under way, so that no connection is leased from a
    /// pool that is not running yet (PostgresNIO warns about that, and under load such a first request was
    /// seen never to be served).
    func startRunning() async -> Task<Void, Never> {
        let (started, continuation) = AsyncStream<Void>.makeStream()
        let task = Task {
            continuation.finish()
            await self.run()
        }
        for await _ in started {}
        // run() marks the client running and starts the pool right after the task begins; give it that moment.
        await Task.yield()
        try? await Task.sleep(for: .milliseconds(20))
        return task
    }
}

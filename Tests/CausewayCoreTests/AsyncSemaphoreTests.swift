@testable import CausewayCore
import CausewayTesting
import Synchronization
import Testing

/// Values appended from many tasks, in the order they happened.
final class Log<T: Sendable>: Sendable {
    private let items = Mutex<[T]>([])
    func append(_ item: T) { items.withLock { $0.append(item) } }
    var all: [T] { items.withLock { $0 } }
}

/// Every test synchronises through continuations and streams (who entered, who joined the queue), never
/// through sleeps; a lost or never-resumed waiter shows as a hang, which the time limit turns into a failure.
@Suite(.timeLimit(.minutes(2))) struct AsyncSemaphoreTests {
    /// How many tasks hold a permit, and the most that ever did at once.
    final class Occupancy: Sendable {
        private let state = Mutex((inside: 0, most: 0))
        func enter() { state.withLock { $0.inside += 1; $0.most = max($0.most, $0.inside) } }
        func leave() { state.withLock { $0.inside -= 1 } }
        var inside: Int { state.withLock { $0.inside } }
        var most: Int { state.withLock { $0.most } }
    }

    /// A semaphore that reports each arrival in its queue (with the queue's length) on `queued`.
    static func observed(permits: Int) -> (AsyncSemaphore, AsyncStream<Int>) {
        let (stream, queued) = AsyncStream<Int>.makeStream()
        return (AsyncSemaphore(permits: permits, onEnqueue: { queued.yield($0) }), stream)
    }

    /// Returns only by throwing `CancellationError`, once the task is cancelled.
    static func untilCancelled() async throws {
        let (stream, keepOpen) = AsyncStream<Never>.makeStream()
        for await _ in stream {}
        withExtendedLifetime(keepOpen) {}
        throw CancellationError()
    }

    @Test func oneHolderAtATime() async throws {
        let lock = AsyncSemaphore(permits: 1)
        let occupancy = Occupancy()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<200 {
                group.addTask {
                    try await lock.withPermit {
                        occupancy.enter()
                        await Task.yield()
                        occupancy.leave()
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(occupancy.most == 1)
        #expect(lock.availablePermits == 1 && lock.waitingCount == 0)
    }

    @Test func neverMoreHoldersThanPermits() async throws {
        let semaphore = AsyncSemaphore(permits: 3)
        let occupancy = Occupancy()
        let gates = (0..<50).map { _ in SourceGate() }
        let (entries, entered) = AsyncStream<Int>.makeStream()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<50 {
                group.addTask {
                    try await semaphore.withPermit {
                        occupancy.enter()
                        entered.yield(i)
                        await gates[i].pass()  // holds the permit until the test lets this task go
                        occupancy.leave()
                    }
                }
            }
            var holders = entries.makeAsyncIterator()
            var inside: [Int] = []
            for _ in 0..<3 { inside.append(await holders.next()!) }
            // Three hold a permit and none can leave yet: the other 47 must be waiting.
            #expect(occupancy.inside == 3)
            for _ in 3..<50 {
                gates[inside.removeFirst()].open()
                inside.append(await holders.next()!)
                #expect(occupancy.inside <= 3)
            }
            for i in inside { gates[i].open() }
            try await group.waitForAll()
        }
        #expect(occupancy.most == 3)
        #expect(semaphore.availablePermits == 3 && semaphore.waitingCount == 0)
    }

    @Test func waitersAreServedInArrivalOrder() async throws {
        let (lock, arrivals) = Self.observed(permits: 1)
        var queued = arrivals.makeAsyncIterator()
        let order = Log<Int>()
        try await lock.acquire()
        var waiters: [Task<Void, any Error>] = []
        for i in 0..<10 {
            waiters.append(Task { try await lock.withPermit { order.append(i) } })
            let length = await queued.next()
            #expect(length == i + 1)  // task i is in the queue before task i + 1 starts
        }
        lock.release()
        for waiter in waiters { try await waiter.value }
        #expect(order.all == Array(0..<10))
        #expect(lock.availablePermits == 1)
    }

    @Test func aCancelledWaiterLeavesTheQueueAndTheNextOneGetsThePermit() async throws {
        let (lock, arrivals) = Self.observed(permits: 1)
        var queued = arrivals.makeAsyncIterator()
        let ran = Log<String>()
        try await lock.acquire()
        let first = Task { try await lock.withPermit { ran.append("first") } }
        _ = await queued.next()
        let second = Task { try await lock.withPermit { ran.append("second") } }
        let length = await queued.next()
        #expect(length == 2)
        first.cancel()
        await #expect(throws: CancellationError.self) { try await first.value }
        #expect(lock.waitingCount == 1)
        lock.release()
        try await second.value
        #expect(ran.all == ["second"])
        #expect(lock.availablePermits == 1 && lock.waitingCount == 0)
    }

    @Test func aTaskCancelledBeforeItWaitsThrowsAndTakesNothing() async throws {
        let lock = AsyncSemaphore(permits: 1)
        try await lock.acquire()
        let start = SourceGate()
        let late = Task {
            await start.pass()
            try await lock.acquire()
        }
        late.cancel()
        start.open()  // it asks for the permit already cancelled
        await #expect(throws: CancellationError.self) { try await late.value }
        #expect(lock.waitingCount == 0)
        lock.release()
        #expect(lock.availablePermits == 1)
        // Only waiting is cancellable: a free permit is granted to a cancelled task, which must release it.
        let again = SourceGate()
        let cancelled = Task {
            await again.pass()
            return try await lock.withPermit { Task.isCancelled }
        }
        cancelled.cancel()
        again.open()
        #expect(try await cancelled.value == true)
        #expect(lock.availablePermits == 1)
    }

    @Test func cancellingAHolderReleasesItsPermit() async throws {
        let (lock, arrivals) = Self.observed(permits: 1)
        var queued = arrivals.makeAsyncIterator()
        let (entries, entered) = AsyncStream<Void>.makeStream()
        let holder = Task {
            try await lock.withPermit {
                entered.yield()
                try await Self.untilCancelled()
            }
        }
        var holding = entries.makeAsyncIterator()
        await holding.next()
        let next = Task { try await lock.withPermit { 42 } }
        _ = await queued.next()
        holder.cancel()
        await #expect(throws: CancellationError.self) { try await holder.value }
        #expect(try await next.value == 42)
        #expect(lock.availablePermits == 1 && lock.waitingCount == 0)
    }

    /// Cancellations at every point of the way in (before, while and after joining the queue) and while
    /// holding: every task either ran or threw `CancellationError`, and no permit or waiter is left over.
    @Test func cancellationRacesLoseNoPermit() async throws {
        let semaphore = AsyncSemaphore(permits: 2)
        let occupancy = Occupancy()
        let ran = Log<Int>()
        var tasks: [Task<Void, any Error>] = []
        for i in 0..<500 {
            let task = Task {
                try await semaphore.withPermit {
                    occupancy.enter()
                    ran.append(i)
                    for _ in 0..<(i % 3) { await Task.yield() }
                    occupancy.leave()
                }
            }
            tasks.append(task)
            if i % 2 == 0 { task.cancel() }
            if i % 7 == 0 { await Task.yield() }
        }
        var cancelled = 0
        for task in tasks {
            do { try await task.value } catch is CancellationError { cancelled += 1 }
        }
        #expect(ran.all.count + cancelled == 500)
        #expect(occupancy.most <= 2)
        #expect(semaphore.availablePermits == 2 && semaphore.waitingCount == 0)
    }
}

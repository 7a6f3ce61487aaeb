import Synchronization
import CausewayCore
import CausewayTesting
@testable import CausewayLiveQuery
import Testing

/// Polling a source for rows whose updatedAt advanced (changes made behind the gateway's back).
@Suite(.timeLimit(.minutes(1))) struct LiveQueryPollerTests {
    static let polled: CollectionSchema = {
        var s = deskSchema
        s.liveQueryPoll = LiveQueryPoll(updatedAtField: "updatedAt", interval: .seconds(5))
        return s
    }()

    static func date(_ ms: Int64) -> ParseDate { ParseDate(millisecondsSince1970: ms) }
    static let context = ConnectorContext(caller: .master, logger: Gateway.quietLogger)

    /// The changes the gateway's feed announced for Desk, as a reader task collects them.
    final class Received: Sendable {
        private let changes = Mutex<[ObjectChange]>([])
        func withLock<R: Sendable>(_ body: (inout [ObjectChange]) -> R) -> R { changes.withLock { body(&$0) } }
    }

    /// Runs `poller` and a reader of the gateway's Desk feed until `stop` is called.
    func run(_ poller: LiveQueryPoller, on gateway: Gateway) -> (received: Received, stop: @Sendable () -> Void) {
        let feed = gateway.changes.subscribe(classes: ["Desk"])
        let received = Received()
        let reader = Task { for await change in feed { received.withLock { $0.append(change) } } }
        let task = Task { try await poller.run() }
        return (received, { reader.cancel(); task.cancel() })
    }

    @Test func announcesRowsChangedInTheSourceOnce() async throws {
        let connector = MemoryConnector(name: "memory", collections: [Self.polled])
        let gateway = Gateway(config: GatewayConfig(), connectors: [connector])
        _ = try await connector.create(ParseObject(objectId: "a", createdAt: Self.date(1000), updatedAt: Self.date(1000), fields: ["name": .string("a")]),
                                       in: Self.polled, context: Self.context)
        let poller = LiveQueryPoller(gateway: { gateway }, classes: ["Desk"], clock: ManualClock())
        let feed = gateway.changes.subscribe(classes: ["Desk"])
        let poll = try #require(Self.polled.liveQueryPoll)

        // The first poll only sets the mark: existing rows are not news.
        let first = try await poller.pollOnce("Desk", connector: "memory", poll, mark: .init())
        #expect(first.value == .date(Self.date(1000)) && first.idsAtValue == ["a"])

        // Another application changes a and adds b.
        _ = try await connector.update(objectId: "a", operations: ["name": .set(.string("a2"))], updatedAt: Self.date(2000), in: Self.polled, context: Self.context)
        _ = try await connector.create(ParseObject(objectId: "b", createdAt: Self.date(3000), updatedAt: Self.date(3000), fields: ["name": .string("b")]),
                                       in: Self.polled, context: Self.context)
        let second = try await poller.pollOnce("Desk", connector: "memory", poll, mark: first)
        #expect(second.value == .date(Self.date(3000)) && second.idsAtValue == ["b"])
        // Nothing changed since: nothing announced (b shares the mark's timestamp and is remembered).
        let third = try await poller.pollOnce("Desk", connector: "memory", poll, mark: second)
        #expect(third.value == second.value)
        // A row with the mark's own timestamp that was not there before is still announced.
        _ = try await connector.create(ParseObject(objectId: "c", createdAt: Self.date(3000), updatedAt: Self.date(3000), fields: ["name": .string("c")]),
                                       in: Self.polled, context: Self.context)
        _ = try await poller.pollOnce("Desk", connector: "memory", poll, mark: third)

        var seen: [String] = []
        for await change in feed {
            #expect(change.origin == .source && change.object != nil)
            seen.append("\(change.kind.rawValue) \(change.objectId)")
            if seen.count == 3 { break }
        }
        #expect(seen == ["update a", "create b", "update c"])
    }

    /// More rows share one timestamp than one poll reads (one `UPDATE … SET updated_at = now()`): successive
    /// polls announce them all, a batch at a time, and then nothing more.
    @Test func rowsSharingOneTimestampBeyondABatchAreAllAnnounced() async throws {
        var schema = Self.polled
        schema.liveQueryPoll = LiveQueryPoll(updatedAtField: "updatedAt", interval: .seconds(5), batchSize: 2)
        let connector = MemoryConnector(name: "memory", collections: [schema])
        let gateway = Gateway(config: GatewayConfig(), connectors: [connector])
        _ = try await connector.create(ParseObject(objectId: "old", createdAt: Self.date(1000), updatedAt: Self.date(1000)), in: schema, context: Self.context)
        let poller = LiveQueryPoller(gateway: { gateway }, classes: ["Desk"], clock: ManualClock())
        let feed = gateway.changes.subscribe(classes: ["Desk"])
        let poll = try #require(schema.liveQueryPoll)
        var mark = try await poller.pollOnce("Desk", connector: "memory", poll, mark: .init())
        for id in ["r1", "r2", "r3", "r4", "r5"] {
            _ = try await connector.create(ParseObject(objectId: id, createdAt: Self.date(500), updatedAt: Self.date(2000)), in: schema, context: Self.context)
        }
        for _ in 0..<4 { mark = try await poller.pollOnce("Desk", connector: "memory", poll, mark: mark) }
        #expect(mark.value == .date(Self.date(2000)) && mark.idsAtValue == ["r1", "r2", "r3", "r4", "r5"])
        var seen: [String] = []
        for await change in feed {
            seen.append(change.objectId)
            if seen.count == 5 { break }
        }
        #expect(seen == ["r1", "r2", "r3", "r4", "r5"])
        #expect(gateway.changes.dropped == 0)
    }

    @Test func theLoopPollsOnTheInjectedClock() async throws {
        let connector = MemoryConnector(name: "memory", collections: [Self.polled])
        let gateway = Gateway(config: GatewayConfig(), connectors: [connector])
        let clock = ManualClock()
        let poller = LiveQueryPoller(gateway: { gateway }, classes: ["Desk"], clock: clock)
        // Rows changed before the poller started are not news: z is older than its first poll.
        let start = ParseDate.now().millisecondsSince1970
        _ = try await connector.create(ParseObject(objectId: "z", createdAt: Self.date(start - 60_000), updatedAt: Self.date(start - 60_000),
                                                   fields: ["name": .string("theirs")]), in: Self.polled, context: Self.context)
        let (received, stop) = run(poller, on: gateway)
        defer { stop() }
        // The first poll has set the mark and the loop sleeps on the injected clock.
        await clock.waitForSleepers(1)
        // Another application changes z. No poll runs until the clock moves.
        _ = try await connector.update(objectId: "z", operations: ["floor": .set(.int(7))], updatedAt: Self.date(start + 1000), in: Self.polled, context: Self.context)
        for _ in 0..<200 { await Task.yield() }
        #expect(received.withLock { $0.isEmpty }, "announced before the interval passed")
        clock.advance(by: .seconds(4))
        for _ in 0..<200 { await Task.yield() }
        #expect(received.withLock { $0.isEmpty }, "announced before the interval passed")
        clock.advance(by: .seconds(1))
        while received.withLock({ $0.isEmpty }) { await Task.yield() }
        let next = try #require(received.withLock { $0.first })
        #expect(next.kind == .update && next.origin == .source && next.objectId == "z" && next.object?.fields["floor"] == .int(7))
    }

    /// A reload that adds a polled class to liveQuery.classes starts its loop; the loops keep the injected clock.
    @Test func aReloadStartsTheLoopsOfNewlyLiveClasses() async throws {
        let connector = MemoryConnector(name: "memory", collections: [Self.polled])
        let gateway = Gateway(config: GatewayConfig(), connectors: [connector])
        let clock = ManualClock()
        let poller = LiveQueryPoller(gateway: { gateway }, classes: [], clock: clock)
        let (received, stop) = run(poller, on: gateway)
        defer { stop() }
        poller.reconfigure(classes: ["Desk"])
        await clock.waitForSleepers(1)  // Desk's first poll has set its mark
        let start = ParseDate.now().millisecondsSince1970
        _ = try await connector.create(ParseObject(objectId: "n", createdAt: Self.date(start + 1000), updatedAt: Self.date(start + 1000),
                                                   fields: ["name": .string("new")]), in: Self.polled, context: Self.context)
        // The sleeper seen may be a loop the reload cancelled (ManualClock drops it only later), and the restarted
        // loop may not sleep yet: the clock moves on until a poll announces the row.
        while received.withLock({ $0.isEmpty }) {
            clock.advance(by: .seconds(5))
            await Task.yield()
        }
        #expect(received.withLock { $0.first?.objectId } == "n")
    }
}

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

    @Test func theLoopPollsOnTheInjectedClock() async throws {
        let connector = MemoryConnector(name: "memory", collections: [Self.polled])
        let gateway = Gateway(config: GatewayConfig(), connectors: [connector])
        let clock = ManualClock()
        let poller = LiveQueryPoller(gateway: { gateway }, classes: ["Desk"], clock: clock)
        let feed = gateway.changes.subscribe(classes: ["Desk"])
        let task = Task { try await poller.run() }
        defer { task.cancel() }
        // Rows changed before the poller started are not news: z is older.
        let start = ParseDate.now().millisecondsSince1970
        _ = try await connector.create(ParseObject(objectId: "z", createdAt: Self.date(start - 60_000), updatedAt: Self.date(start - 60_000),
                                                   fields: ["name": .string("theirs")]), in: Self.polled, context: Self.context)
        // Time passes only when the test moves the clock; meanwhile another application keeps changing z, so
        // whenever the first poll (the mark) ran, a later one sees z change.
        let mover = Task {
            var ms = start + 1000
            while !Task.isCancelled {
                ms += 1000
                _ = try? await connector.update(objectId: "z", operations: ["floor": .set(.int(ms))], updatedAt: Self.date(ms), in: Self.polled, context: Self.context)
                clock.advance(by: .seconds(5))
                await Task.yield()
            }
        }
        defer { mover.cancel() }
        var iterator = feed.makeAsyncIterator()
        let next = try #require(await iterator.next())
        #expect(next.kind == .update && next.origin == .source && next.objectId == "z" && next.object?.fields["name"] == .string("theirs"))
        #expect(clock.now.offset >= .seconds(5))
    }
}

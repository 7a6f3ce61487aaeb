import CausewayCore
import Testing

/// A subscription bounded by bytes (LiveQuery's `feedBufferBytes`): large changes cannot fill memory up to the
/// count bound; reading frees the budget; a change larger than the whole budget still passes an empty buffer.
@Suite struct ChangeFeedByteBoundTests {
    static func change(_ i: Int, payload: Int) -> ObjectChange {
        ObjectChange(kind: .update, className: "Item", connector: "c", objectId: "o\(i)",
                     object: ParseObject(objectId: "o\(i)", fields: ["blob": .string(String(repeating: "x", count: payload))]))
    }

    @Test func unreadChangesStayWithinTheByteBudget() async {
        let feed = ChangeFeed()
        let budget = 10_000
        let subscription = feed.subscription(classes: ["Item"], bufferSize: 100_000, maxBytes: budget)
        let size = Self.change(0, payload: 1_000).approximateBytes
        #expect(size > 1_000 && size < 1_400)
        for i in 0..<50 { feed.publish(Self.change(i, payload: 1_000)) }
        let kept = budget / size
        #expect(subscription.pendingBytes <= budget && subscription.pendingBytes == kept * size)
        #expect(subscription.dropped == 50 - kept && feed.dropped == 50 - kept)

        // Reading frees the budget: the oldest are there, in order, and new ones fit again.
        var iterator = subscription.changes.makeAsyncIterator()
        for i in 0..<kept { #expect(await iterator.next()?.objectId == "o\(i)") }
        #expect(subscription.pendingBytes == 0)
        feed.publish(Self.change(100, payload: 1_000))
        #expect(await iterator.next()?.objectId == "o100")

        // Larger than the whole budget: passes when nothing is waiting, and only then.
        feed.publish(Self.change(200, payload: 50_000))
        feed.publish(Self.change(201, payload: 10))
        #expect(subscription.dropped == 50 - kept + 1)
        #expect(await iterator.next()?.objectId == "o200")
        // A lower budget (a reload) applies to what comes next.
        subscription.setMaxBytes(size)
        feed.publish(Self.change(300, payload: 1_000))
        feed.publish(Self.change(301, payload: 1_000))
        #expect(await iterator.next()?.objectId == "o300")
        #expect(subscription.pendingBytes == 0 && subscription.dropped == 50 - kept + 2)
    }

    @Test func withoutAByteBoundOnlyTheCountBounds() async {
        let feed = ChangeFeed()
        let subscription = feed.subscription(classes: ["Item"], bufferSize: 3)
        for i in 0..<5 { feed.publish(Self.change(i, payload: 100_000)) }
        #expect(subscription.dropped == 2 && subscription.pendingBytes == 0)
    }
}

import CausewayCore
import CausewayTesting
import Testing

/// Writes through the gateway are announced on its change feed, once they have succeeded.
@Suite struct ChangeFeedTests {
    @Test func writesThroughTheGatewayAreAnnouncedInOrder() async throws {
        let connector = MemoryConnector(name: "memory", collections: [testSchema])
        let gateway = Gateway(config: GatewayConfig(), connectors: [connector])
        let stream = gateway.changes.subscribe(classes: ["Item"])
        #expect(gateway.changes.hasSubscribers(for: "Item"))
        #expect(!gateway.changes.hasSubscribers(for: "Other"))
        // Only a subscriber that wants the objects before and after a write makes writes read them.
        let idsOnly = gateway.changes.subscribe(classes: ["Other"], wantsImages: false)
        #expect(gateway.changes.hasSubscribers(for: "Other") && !gateway.changes.wantsImages(for: "Other"))
        #expect(gateway.changes.wantsImages(for: "Item"))
        _ = idsOnly

        let created = try await gateway.create("Item", body: ["name": .string("a")], caller: .master)
        let id = try #require(created.objectId)
        _ = try await gateway.update("Item", objectId: id, body: ["name": .string("b")], caller: .master)
        try await gateway.delete("Item", objectId: id, caller: .master)
        // A failed write announces nothing.
        await #expect(throws: GatewayError.self) { try await gateway.delete("Item", objectId: id, caller: .master) }
        _ = try await gateway.create("Item", body: ["name": .string("last")], caller: .master)

        var seen: [ObjectChange] = []
        for await change in stream {
            seen.append(change)
            if seen.count == 4 { break }
        }
        #expect(seen.map(\.kind) == [.create, .update, .delete, .create])
        #expect(seen.prefix(3).allSatisfy { $0.objectId == id && $0.className == "Item" && $0.connector == "memory" && $0.origin == .local })
        #expect(seen[0].object?.fields["name"] == .string("a"))
        #expect(seen[3].object?.fields["name"] == .string("last"))
    }

    @Test func aDeferredFeedPublishesOnlyOnCommit() async {
        let feed = ChangeFeed()
        let stream = feed.subscribe()
        let held = feed.deferred()
        held.publish(ObjectChange(kind: .create, className: "Item", connector: "c", objectId: "1"))
        held.publish(ObjectChange(kind: .delete, className: "Item", connector: "c", objectId: "1"))
        let rolledBack = feed.deferred()
        rolledBack.publish(ObjectChange(kind: .create, className: "Item", connector: "c", objectId: "2"))
        held.commit()
        feed.publish(ObjectChange(kind: .create, className: "Item", connector: "c", objectId: "3"))
        var ids: [String] = []
        for await change in stream {
            ids.append(change.objectId + change.kind.rawValue)
            if ids.count == 3 { break }
        }
        #expect(ids == ["1create", "1delete", "3create"])
    }

    @Test func aSlowSubscriberLosesChangesNotMemory() async {
        let feed = ChangeFeed()
        let slow = feed.subscribe(bufferSize: 2)
        for i in 0..<5 { feed.publish(ObjectChange(kind: .create, className: "Item", connector: "c", objectId: "\(i)")) }
        #expect(feed.dropped == 3)
        var ids: [String] = []
        for await change in slow {
            ids.append(change.objectId)
            if ids.count == 2 { break }
        }
        #expect(ids == ["0", "1"])
    }

    @Test func aSubscriptionEndsWhenItsConsumerStops() async {
        let feed = ChangeFeed()
        do {
            let stream = feed.subscribe()
            #expect(feed.subscriberCount == 1)
            let task = Task { for await _ in stream {} }
            task.cancel()
            await task.value
        }
        #expect(feed.subscriberCount == 0)
    }
}

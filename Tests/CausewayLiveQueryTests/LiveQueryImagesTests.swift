import CausewayCore
import CausewayLiveQuery
import Testing

/// Changes announced without the object before them (a row deleted or updated directly in a PostgreSQL
/// source, whose trigger sends only the key): the hub's remembered images route them to the subscribers who
/// saw the object, and to nobody else.
@Suite(.timeLimit(.minutes(1))) struct LiveQueryImagesTests {
    static var triggerDesk: CollectionSchema {
        var s = deskSchema
        s.liveQueryTriggers = true
        return s
    }

    /// What the PostgreSQL listener does: the row changed in the source, then a key-only announcement.
    static func sourceDelete(_ f: LiveQueryFixture, _ id: String) async throws {
        let context = ConnectorContext(caller: .master, logger: Gateway.quietLogger)
        #expect(try await f.connector.delete(objectId: id, in: triggerDesk, context: context))
        f.gateway.changes.publish(ObjectChange(kind: .delete, className: "Desk", connector: "memory", objectId: id, origin: .source))
    }

    /// Waits (bounded) for the hub's own task to reach a state; the condition is checked, never a duration.
    static func eventually(_ condition: () -> Bool, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        for _ in 0..<10_000 {
            if condition() { return }
            try await Task.sleep(for: .milliseconds(2))
        }
        Issue.record("the condition was not reached", sourceLocation: sourceLocation)
    }

    static func sourceUpdate(_ f: LiveQueryFixture, _ id: String, _ fields: [String: ParseValue]) async throws {
        let context = ConnectorContext(caller: .master, logger: Gateway.quietLogger)
        _ = try await f.connector.update(objectId: id, operations: fields.mapValues { .set($0) }, updatedAt: .now(), in: triggerDesk, context: context)
        f.gateway.changes.publish(ObjectChange(kind: .update, className: "Desk", connector: "memory", objectId: id, origin: .source))
    }

    @Test func aDeleteWithoutTheObjectReachesOnlyWhoSawIt() async throws {
        let f = LiveQueryFixture(collections: [Self.triggerDesk, vaultSchema])
        f.sessions.add("t-ann", user: "ann")
        f.sessions.add("t-bob", user: "bob")
        // Rows that exist before anyone subscribes, written behind the gateway's back (no change shows them to the hub).
        func desk(_ name: String, floor: Int, acl user: String? = nil) async throws -> String {
            var fields: [String: ParseValue] = ["name": .string(name), "floor": .int(Int64(floor)), "secret": .string("s-" + name)]
            if let user { fields["ACL"] = .object([user: .object(["read": .bool(true), "write": .bool(true)])]) }
            let stored = try await f.connector.create(ParseObject(objectId: "desk-" + name.filter(\.isLetter), fields: fields), in: Self.triggerDesk,
                                                      context: ConnectorContext(caller: .master, logger: Gateway.quietLogger))
            return try #require(stored.objectId)
        }
        let annsDesk = try await desk("ann's", floor: 1, acl: "ann")
        let bobsDesk = try await desk("bob's", floor: 1, acl: "bob")
        let upstairs = try await desk("upstairs", floor: 2)
        let moving = try await desk("moving", floor: 1)
        try await f.run {
            var ann = try f.client()
            try await ann.connect(token: "t-ann")
            #expect(try await ann.subscribe(1, where: #"{"floor": 1}"#)["op"] == .string("subscribed"))
            var bob = try f.client()
            try await bob.connect(token: "t-bob")
            #expect(try await bob.subscribe(1, where: #"{"floor": 1}"#)["op"] == .string("subscribed"))
            // The subscriptions read what they match and their subscriber may see: ann's, bob's, moving.
            #expect(f.hub.rememberedImages.count == 3)

            try await Self.sourceDelete(f, annsDesk)
            let deleted = try await ann.expect("delete", requestId: 1)
            #expect(deleted.object["objectId"] == .string(annsDesk) && deleted.object["name"] == .string("ann's"))
            #expect(deleted.object["secret"] == nil, "a protected field is not shown in a delete either")

            // Not in the query (floor 2): nobody hears of it. Bob's desk: only Bob.
            try await Self.sourceDelete(f, upstairs)
            try await Self.sourceDelete(f, bobsDesk)
            let bobs = try await bob.expect("delete", requestId: 1)  // his first event: ann's desk told him nothing
            #expect(bobs.object["objectId"] == .string(bobsDesk))

            // An update announced without the object: the remembered image is its original, so it leaves.
            try await Self.sourceUpdate(f, moving, ["floor": .int(3)])
            let left = try await ann.expect("leave", requestId: 1)  // ann's next event: bob's desk and upstairs told her nothing
            #expect(left.object["objectId"] == .string(moving) && left.object["floor"] == .int(3) && left.original?["floor"] == .int(1))
            _ = try await bob.expect("leave", requestId: 1)
            // The hub updates its images before it sends a change's events: forgotten by now.
            #expect(f.hub.rememberedImages.count == 0)
        }
    }

    @Test func beyondTheBudgetADeleteReachesOnlyMasterWithoutWhere() async throws {
        var settings = LiveQuerySettings(classes: ["Desk"])
        settings.rememberedObjectsBytes = 0
        let f = LiveQueryFixture(settings: settings, collections: [Self.triggerDesk, vaultSchema])
        let id = try #require(try await f.connector.create(ParseObject(objectId: "a1", fields: ["name": .string("a"), "floor": .int(1)]), in: Self.triggerDesk,
                                                            context: ConnectorContext(caller: .master, logger: Gateway.quietLogger)).objectId)
        try await f.run {
            var user = try f.client()
            try await user.connect()
            _ = try await user.subscribe(1, where: #"{"floor": 1}"#)
            var master = try f.client()
            try await master.connect(masterKey: "master-key-123")
            _ = try await master.subscribe(1)
            try await Self.sourceDelete(f, id)
            let m = try await master.expect("delete", requestId: 1)
            #expect(m.object["objectId"] == .string(id))
            _ = try await f.gateway.create("Desk", body: ["name": .string("next"), "floor": .int(1)], caller: .master)
            #expect(try await user.expect("create", requestId: 1).object["name"] == .string("next"))
        }
    }

    @Test func theImagesStayWithinTheirByteBudget() async throws {
        var settings = LiveQuerySettings(classes: ["Desk"])
        settings.rememberedObjectsBytes = 4_000
        let f = LiveQueryFixture(settings: settings, collections: [Self.triggerDesk, vaultSchema])
        try await f.run {
            var c = try f.client()
            try await c.connect()
            _ = try await c.subscribe(1)
            var ids: [String] = []
            for i in 0..<60 {
                let o = try await f.gateway.create("Desk", body: ["name": .string("desk number \(i)"), "floor": .int(Int64(i))], caller: .master)
                ids.append(try #require(o.objectId))
                _ = try await c.expect("create", requestId: 1)
                let usage = f.hub.rememberedImages
                #expect(usage.bytes <= usage.limit)
            }
            let usage = f.hub.rememberedImages
            #expect(usage.count > 5 && usage.count < 60, "\(usage)")
            // The newest are kept (least recently used go first): its delete is routed; the oldest one's is not.
            try await Self.sourceDelete(f, ids[59])
            #expect(try await c.expect("delete", requestId: 1).object["name"] == .string("desk number 59"))
            try await Self.sourceDelete(f, ids[0])
            _ = try await f.gateway.create("Desk", body: ["name": .string("last")], caller: .master)
            #expect(try await c.expect("create", requestId: 1).object["name"] == .string("last"))
        }
    }

    @Test func aGapInTheSourcesAnnouncementsIsReadAgain() async throws {
        let f = LiveQueryFixture(collections: [Self.triggerDesk, vaultSchema])
        try await f.run {
            var c = try f.client()
            try await c.connect()
            _ = try await c.subscribe(1, where: #"{"floor": 1}"#)
            #expect(f.hub.rememberedImages.count == 0)
            // Inserted while the listener was reconnecting: nobody heard of it.
            _ = try await f.connector.create(ParseObject(objectId: "unheard", fields: ["name": .string("u"), "floor": .int(1)]), in: Self.triggerDesk,
                                             context: ConnectorContext(caller: .master, logger: Gateway.quietLogger))
            await f.hub.resync("Desk")  // what the listener's gap announcement makes the hub do
            #expect(f.hub.rememberedImages.count == 1)
            try await Self.sourceDelete(f, "unheard")
            #expect(try await c.expect("delete", requestId: 1).object["objectId"] == .string("unheard"))
        }
    }

    /// On a cluster, other nodes announce writes with keys only: every live class is remembered (not only
    /// trigger-fed ones), so another node's delete reaches the subscriber who saw the object.
    @Test func anotherNodesDeleteReachesWhoSawItOnACluster() async throws {
        let f = LiveQueryFixture(clustered: true)
        f.sessions.add("t-ann", user: "ann")
        _ = try await f.connector.create(ParseObject(objectId: "n1", fields: ["name": .string("n"), "floor": .int(1),
                                                                         "ACL": .object(["ann": .object(["read": .bool(true)])])]),
                                         in: deskSchema, context: ConnectorContext(caller: .master, logger: Gateway.quietLogger))
        try await f.run {
            var ann = try f.client()
            try await ann.connect(token: "t-ann")
            _ = try await ann.subscribe(1, where: #"{"floor": 1}"#)
            var anonymous = try f.client()
            try await anonymous.connect()
            _ = try await anonymous.subscribe(1, where: #"{"floor": 1}"#)
            #expect(f.hub.rememberedImages.count == 1)
            #expect(try await f.connector.delete(objectId: "n1", in: deskSchema, context: ConnectorContext(caller: .master, logger: Gateway.quietLogger)))
            f.gateway.changes.publish(ObjectChange(kind: .delete, className: "Desk", connector: "memory", objectId: "n1", origin: .node("n2")))
            #expect(try await ann.expect("delete", requestId: 1).object["name"] == .string("n"))
            _ = try await f.gateway.create("Desk", body: ["name": .string("public"), "floor": .int(1)], caller: .master)
            #expect(try await anonymous.expect("create", requestId: 1).object["name"] == .string("public"))
        }
    }

    /// Changes the feed dropped (the fan-out fell behind) count as a gap: images of the live classes are read again.
    @Test func droppedChangesAreReadAgainAsAGap() async throws {
        var settings = LiveQuerySettings(classes: ["Desk"])
        settings.feedBufferBytes = 1
        let f = LiveQueryFixture(settings: settings, collections: [Self.triggerDesk, vaultSchema])
        _ = try await f.connector.create(ParseObject(objectId: "gone", fields: ["name": .string("g"), "floor": .int(1)]), in: Self.triggerDesk,
                                         context: ConnectorContext(caller: .master, logger: Gateway.quietLogger))
        var c = try f.client()
        try await c.connect()
        _ = try await c.subscribe(1, where: #"{"floor": 1}"#)
        #expect(f.hub.rememberedImages.count == 1)
        // Deleted while the hub is not reading the feed; its announcement and others are dropped (1-byte buffer).
        let context = ConnectorContext(caller: .master, logger: Gateway.quietLogger)
        #expect(try await f.connector.delete(objectId: "gone", in: Self.triggerDesk, context: context))
        for i in 0..<3 {
            f.gateway.changes.publish(ObjectChange(kind: .delete, className: "Desk", connector: "memory", objectId: "x\(i)", origin: .source))
        }
        #expect(f.gateway.changes.dropped > 0)
        try await f.run {
            // The hub reads the change that got through, notes the drops and reads the images again (a second read).
            try await Self.eventually { f.hub.imageActivity.reads >= 2 }
            #expect(f.hub.rememberedImages.count == 0, "the stale image of the deleted row was dropped")
            _ = try await f.gateway.create("Desk", body: ["name": .string("after"), "floor": .int(1)], caller: .master)
            _ = try await c.expect("create", requestId: 1)
            #expect(f.hub.rememberedImages.count == 1)
        }
    }

    /// Resending `update` with the same query and filters reads nothing again; a new query does.
    @Test func anUpdateWithTheSameQueryDoesNotReadAgain() async throws {
        let f = LiveQueryFixture(collections: [Self.triggerDesk, vaultSchema])
        try await f.run {
            var c = try f.client()
            try await c.connect()
            _ = try await c.subscribe(1, where: #"{"floor": 1}"#)
            #expect(f.hub.imageActivity.reads == 1)
            for _ in 0..<3 {
                await c.send(#"{"op":"update","requestId":1,"query":{"className":"Desk","where":{"floor":1}}}"#)
                _ = try await c.expect("subscribed", requestId: 1)
            }
            #expect(f.hub.imageActivity.reads == 1)
            await c.send(#"{"op":"update","requestId":1,"query":{"className":"Desk","where":{"floor":2}}}"#)
            _ = try await c.expect("subscribed", requestId: 1)
            #expect(f.hub.imageActivity.reads == 2)
        }
    }

    /// A resync reads at most the image budget's worth of objects, however many distinct subscriptions there are.
    @Test func aResyncReadsWithinTheImageBudget() async throws {
        var settings = LiveQuerySettings(classes: ["Desk"])
        settings.rememberedObjectsBytes = 2_000
        let f = LiveQueryFixture(settings: settings, collections: [Self.triggerDesk, vaultSchema])
        for i in 0..<40 {
            _ = try await f.connector.create(ParseObject(objectId: "d\(i)", fields: ["name": .string("desk \(i)"), "floor": .int(Int64(i))]),
                                             in: Self.triggerDesk, context: ConnectorContext(caller: .master, logger: Gateway.quietLogger))
        }
        try await f.run {
            var c = try f.client()
            try await c.connect()
            for i in 0..<40 { _ = try await c.subscribe(i + 1, where: "{\"floor\": \(i)}") }
            #expect(f.hub.imageActivity.reads == 40)
            await f.hub.resync("Desk")
            // Each object is about 200 bytes with its overhead: the 2,000-byte budget stops the reads after about ten.
            let reads = f.hub.imageActivity.reads - 40
            #expect(reads >= 3 && reads <= 20, "\(reads)")
        }
    }
}

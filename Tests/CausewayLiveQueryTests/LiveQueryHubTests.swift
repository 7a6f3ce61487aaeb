import CausewayCore
import CausewayLiveQuery
import Testing

/// The hub: the protocol, matching, enter/leave, permissions per subscriber, sessions and limits.
@Suite(.timeLimit(.minutes(1))) struct LiveQueryHubTests {
    @Test func everyEventTypeWithOriginals() async throws {
        let f = LiveQueryFixture()
        try await f.run {
            var c = try f.client()
            try await c.connect()
            let subscribed = try await c.subscribe(1, where: #"{"occupied": false}"#)
            #expect(subscribed["op"] == .string("subscribed") && subscribed["requestId"] == .int(1) && subscribed["clientId"] == .int(Int64(c.connection.id)))

            let desk = try await f.gateway.create("Desk", body: ["name": .string("A"), "occupied": .bool(false)], caller: .anonymous)
            let id = try #require(desk.objectId)
            var m = try await c.expect("create", requestId: 1)
            #expect(m.object["objectId"] == .string(id) && m.object["className"] == .string("Desk") && m.object["name"] == .string("A"))
            #expect(m.object["createdAt"]?.stringValue != nil && m["installationId"] == .string("inst-1"))

            _ = try await f.gateway.update("Desk", objectId: id, body: ["name": .string("B")], caller: .anonymous)
            m = try await c.expect("update", requestId: 1)
            #expect(m.object["name"] == .string("B") && m.original?["name"] == .string("A"))

            _ = try await f.gateway.update("Desk", objectId: id, body: ["occupied": .bool(true)], caller: .anonymous)
            m = try await c.expect("leave", requestId: 1)
            #expect(m.object["occupied"] == .bool(true) && m.original?["occupied"] == .bool(false))

            // Not in the query before or after: nothing. The next event proves nothing came in between.
            _ = try await f.gateway.update("Desk", objectId: id, body: ["name": .string("C")], caller: .anonymous)
            _ = try await f.gateway.update("Desk", objectId: id, body: ["occupied": .bool(false)], caller: .anonymous)
            m = try await c.expect("enter", requestId: 1)
            #expect(m.object["name"] == .string("C") && m.original?["occupied"] == .bool(true))

            try await f.gateway.delete("Desk", objectId: id, caller: .anonymous)
            m = try await c.expect("delete", requestId: 1)
            #expect(m.object["objectId"] == .string(id))

            await c.send(#"{"op":"unsubscribe","requestId":1}"#)
            _ = try await c.expect("unsubscribed", requestId: 1)
            let all = try await c.subscribe(2)
            #expect(all["op"] == .string("subscribed"))
            _ = try await f.gateway.create("Desk", body: ["name": .string("D"), "occupied": .bool(false)], caller: .anonymous)
            _ = try await c.expect("create", requestId: 2)
            #expect(f.hub.counts.subscriptions == 1 && f.hub.counts.clients == 1)
        }
    }

    @Test func updateReplacesTheQuery() async throws {
        let f = LiveQueryFixture()
        try await f.run {
            var c = try f.client()
            try await c.connect()
            _ = try await c.subscribe(1, where: #"{"floor": 1}"#)
            await c.send(#"{"op":"update","requestId":1,"query":{"className":"Desk","where":{"floor":2}}}"#)
            _ = try await c.expect("subscribed", requestId: 1)
            _ = try await f.gateway.create("Desk", body: ["name": .string("one"), "floor": .int(1)], caller: .anonymous)
            _ = try await f.gateway.create("Desk", body: ["name": .string("two"), "floor": .int(2)], caller: .anonymous)
            let m = try await c.expect("create", requestId: 1)
            #expect(m.object["name"] == .string("two"))
        }
    }

    @Test func fieldsProjectionAndProtectedFields() async throws {
        let f = LiveQueryFixture()
        try await f.run {
            var c = try f.client()
            try await c.connect()
            _ = try await c.subscribe(1, keys: ["name"])
            var master = try f.client()
            try await master.connect(masterKey: "master-key-123")
            _ = try await master.subscribe(1)
            _ = try await f.gateway.create("Desk", body: ["name": .string("A"), "floor": .int(3), "secret": .string("s")], caller: .master)
            let m = try await c.expect("create", requestId: 1)
            #expect(m.object["name"] == .string("A") && m.object["floor"] == nil && m.object["secret"] == nil)
            #expect(m.object["objectId"] != nil && m.object["updatedAt"] != nil)
            let seen = try await master.expect("create", requestId: 1)
            #expect(seen.object["secret"] == .string("s") && seen.object["floor"] == .int(3))

            // Without keys the protected field is still hidden; querying it is refused as a find would be.
            _ = try await c.subscribe(2)
            let refused = try await c.subscribe(3, where: #"{"secret": "s"}"#)
            #expect(refused["op"] == .string("error") && refused["code"] == .int(119) && refused["requestId"] == .int(3))
            _ = try await f.gateway.create("Desk", body: ["name": .string("B"), "secret": .string("t")], caller: .master)
            let a = try await c.expect("create", requestId: 1)
            let b = try await c.expect("create", requestId: 2)
            #expect(a.object["secret"] == nil && b.object["secret"] == nil && b.object["name"] == .string("B"))
        }
    }

    @Test func anACLChangeMakesTheObjectLeaveForWhoLosesIt() async throws {
        let f = LiveQueryFixture()
        f.sessions.add("t-ann", user: "ann")
        f.sessions.add("t-bob", user: "bob")
        try await f.run {
            var ann = try f.client()
            try await ann.connect(token: "t-ann")
            _ = try await ann.subscribe(1)
            var bob = try f.client()
            try await bob.connect()
            _ = try await bob.subscribe(1, token: "t-bob")  // the subscription's own token counts

            let desk = try await f.gateway.create("Desk", body: ["name": .string("A"), "ACL": .object(["ann": .object(["read": .bool(true), "write": .bool(true)])])], caller: .master)
            let id = try #require(desk.objectId)
            _ = try await ann.expect("create", requestId: 1)

            _ = try await f.gateway.update("Desk", objectId: id, body: ["ACL": .object(["bob": .object(["read": .bool(true)])])], caller: .master)
            let left = try await ann.expect("leave", requestId: 1)
            #expect(left.object["objectId"] == .string(id))
            // The version Ann may no longer read is not shown to her: only the object's identity.
            #expect(left.object["name"] == nil && left.object["ACL"] == nil, "\(left.object)")
            #expect(left.original?["name"] == .string("A"))
            // Bob never saw it before: it enters for him (his first message: the create was hidden from him),
            // without the earlier version, which he could not read.
            let entered = try await bob.expect("enter", requestId: 1)
            #expect(entered.object["objectId"] == .string(id) && entered.object["name"] == .string("A"))
            #expect(entered.original == nil, "\(String(describing: entered.original))")

            // Ann no longer sees it: a change or its deletion tells her nothing; Bob hears of both.
            _ = try await f.gateway.update("Desk", objectId: id, body: ["name": .string("B")], caller: .master)
            try await f.gateway.delete("Desk", objectId: id, caller: .master)
            _ = try await bob.expect("update", requestId: 1)
            _ = try await bob.expect("delete", requestId: 1)
            _ = try await f.gateway.create("Desk", body: ["name": .string("public"), "ACL": .object(["*": .object(["read": .bool(true)])])], caller: .master)
            let next = try await ann.expect("create", requestId: 1)
            #expect(next.object["name"] == .string("public"))
        }
    }

    @Test func geoQueriesMatchLive() async throws {
        let f = LiveQueryFixture()
        try await f.run {
            var c = try f.client()
            try await c.connect()
            _ = try await c.subscribe(1, where: #"{"occupied": false, "location": {"$nearSphere": {"__type": "GeoPoint", "latitude": 47.367, "longitude": 8.54}, "$maxDistanceInKilometers": 2}}"#)
            _ = try await c.subscribe(2, where: #"{"location": {"$within": {"$box": [{"__type": "GeoPoint", "latitude": 47.5, "longitude": 7.5}, {"__type": "GeoPoint", "latitude": 47.6, "longitude": 7.6}]}}}"#)
            func desk(_ name: String, _ lat: Double, _ lon: Double) -> [String: JSONValue] {
                ["name": .string(name), "occupied": .bool(false),
                 "location": .object(["__type": .string("GeoPoint"), "latitude": .double(lat), "longitude": .double(lon)])]
            }
            _ = try await f.gateway.create("Desk", body: desk("Basel", 47.5596, 7.5886), caller: .anonymous)
            _ = try await f.gateway.create("Desk", body: desk("Harbour", 47.3668, 8.5412), caller: .anonymous)
            let basel = try await c.expect("create", requestId: 2)
            #expect(basel.object["name"] == .string("Basel"))
            let near = try await c.expect("create", requestId: 1)
            #expect(near.object["name"] == .string("Harbour"))
        }
    }

    @Test func protocolErrorsUseParseCodes() async throws {
        let f = LiveQueryFixture()
        try await f.run {
            var c = try f.client()
            await c.send("not json")
            #expect(try await c.expect("error")["code"] == .int(1))
            await c.send(#"{"op":"dance"}"#)
            #expect(try await c.expect("error")["code"] == .int(3))
            let early = try await c.subscribe(1)
            #expect(early["op"] == .string("error") && early["code"] == .int(2))
            await c.send(#"{"op":"connect","applicationId":"wrong"}"#)
            #expect(try await c.expect("error")["code"] == .int(4))
            await c.send(#"{"op":"connect","applicationId":"app","sessionToken":"nope"}"#)
            let bad = try await c.expect("error")
            #expect(bad["code"] == .int(209) && bad["reconnect"] == .bool(false))
            try await c.connect()
            let notEnabled = try await c.subscribe(1, "Booking")
            #expect(notEnabled["code"] == .int(119) && notEnabled["requestId"] == .int(1))
            let forbidden = try await c.subscribe(2, "Vault")
            #expect(forbidden["code"] == .int(119))
            let badQuery = try await c.subscribe(3, where: #"{"floor": {"$bogus": 1}}"#)
            #expect(badQuery["op"] == .string("error") && badQuery["requestId"] == .int(3))
            await c.send(#"{"op":"unsubscribe","requestId":9}"#)
            #expect(try await c.expect("error", requestId: 9)["code"] == .int(2))
            let badToken = try await c.subscribe(4, token: "nope")
            #expect(badToken["code"] == .int(209))
            #expect(f.hub.counts.subscriptions == 0)
        }
    }

    @Test func rolesOpenTheClassAndMasterSeesEverything() async throws {
        let f = LiveQueryFixture()
        f.sessions.add("t-admin", user: "root", roles: ["Admin"])
        try await f.run {
            var admin = try f.client()
            try await admin.connect(token: "t-admin")
            #expect(try await admin.subscribe(1, "Vault")["op"] == .string("subscribed"))
            _ = try await f.gateway.create("Vault", body: ["name": .string("gold")], caller: .anonymous)
            #expect(try await admin.expect("create", requestId: 1).object["name"] == .string("gold"))
        }
    }

    @Test func limitsOnSubscriptionsAndClients() async throws {
        var settings = LiveQuerySettings(classes: ["Desk"])
        settings.maxSubscriptionsPerClient = 2
        settings.maxClients = 2
        let f = LiveQueryFixture(settings: settings)
        try await f.run {
            var c = try f.client()
            try await c.connect()
            _ = try await c.subscribe(1)
            _ = try await c.subscribe(2)
            let third = try await c.subscribe(3)
            #expect(third["op"] == .string("error") && third["code"] == .int(155))
            // Replacing one is not a new one.
            #expect(try await c.subscribe(2, where: #"{"floor": 1}"#)["op"] == .string("subscribed"))
            let second = try f.client()
            #expect(f.hub.open() == nil)
            second.connection.disconnected()
            #expect(f.hub.open() != nil)
            #expect(f.hub.counts.clients == 2 && f.hub.counts.subscriptions == 2)
        }
    }

    @Test func aSlowClientIsClosedAndMemoryStaysBounded() async throws {
        var settings = LiveQuerySettings(classes: ["Desk"])
        settings.sendQueueSize = 3
        let f = LiveQueryFixture(settings: settings)
        try await f.run {
            var slow = try f.client()
            try await slow.connect()
            _ = try await slow.subscribe(1)  // the queue is empty again; now the client stops reading
            var fast = try f.client()
            try await fast.connect()
            _ = try await fast.subscribe(1)
            for i in 0..<10 {
                _ = try await f.gateway.create("Desk", body: ["name": .string("d\(i)")], caller: .anonymous)
                _ = try await fast.expect("create", requestId: 1)  // the fast one keeps up
            }
            let reason = await slow.connection.closeRequested()
            #expect(reason == .slowClient && reason?.code == 4002)
            #expect(f.hub.counts.subscriptions == 1)
            slow.connection.disconnected()  // what the transport does once it has closed the socket
            #expect(f.hub.counts.clients == 1)
            // What was queued before the overflow is there, nothing after it.
            var queued = 0
            while try await slow.next() != nil { queued += 1; if queued > 3 { break } }
            #expect(queued <= 3)
        }
    }

    @Test func theSendQueueIsBoundedByBytesToo() async throws {
        var settings = LiveQuerySettings(classes: ["Desk"])
        settings.sendQueueSize = 1_000
        settings.sendQueueBytes = 64 << 10
        let f = LiveQueryFixture(settings: settings)
        try await f.run {
            var slow = try f.client()
            try await slow.connect()
            _ = try await slow.subscribe(1)
            var fast = try f.client()
            try await fast.connect()
            _ = try await fast.subscribe(1)
            // One message larger than the whole budget reaches a client whose queue is empty.
            _ = try await f.gateway.create("Desk", body: ["name": .string(String(repeating: "x", count: 100_000))], caller: .anonymous)
            _ = try await fast.expect("create", requestId: 1)
            #expect(fast.connection.queuedByteCount == 0)
            for i in 0..<20 {
                _ = try await f.gateway.create("Desk", body: ["name": .string("d\(i)" + String(repeating: "y", count: 10_000))], caller: .anonymous)
                _ = try await fast.expect("create", requestId: 1)
                #expect(slow.connection.queuedByteCount <= 100_000 + 64 << 10)
            }
            // Far fewer than sendQueueSize messages, but more bytes than sendQueueBytes: closed as a slow client.
            let reason = await slow.connection.closeRequested()
            #expect(reason == .slowClient)
            #expect(fast.connection.closeReason == nil)
        }
    }

    @Test func aLogoutEndsTheSessionsSubscriptions() async throws {
        let f = LiveQueryFixture()
        f.sessions.add("t-ann", user: "ann")
        f.sessions.add("t-bob", user: "bob")
        try await f.run {
            var ann = try f.client()
            try await ann.connect(token: "t-ann")
            _ = try await ann.subscribe(1)
            var bob = try f.client()
            try await bob.connect()
            _ = try await bob.subscribe(7, token: "t-bob")
            _ = try await bob.subscribe(8)

            f.sessions.logOut("t-ann")
            let ended = try await ann.expect("error")
            #expect(ended["code"] == .int(209) && ended["reconnect"] == .bool(false))
            #expect(try await ann.next() == nil)
            #expect(ann.connection.closeReason == .sessionEnded)

            // A subscription's own session: that subscription ends, the connection stays.
            f.sessions.logOut("t-bob")
            #expect(try await bob.expect("error", requestId: 7)["code"] == .int(209))
            _ = try await f.gateway.create("Desk", body: ["name": .string("x")], caller: .anonymous)
            _ = try await bob.expect("create", requestId: 8)
            #expect(f.hub.counts.subscriptions == 1)
        }
    }

    @Test func changesFromOtherNodesAreDeliveredLikeLocalOnes() async throws {
        let f = LiveQueryFixture()
        try await f.run {
            var c = try f.client()
            try await c.connect()
            _ = try await c.subscribe(1, where: #"{"floor": 4}"#)
            // Written behind the gateway's back, then announced by "another node" without the object.
            let stored = try await f.connector.create(ParseObject(objectId: "remote1", fields: ["name": .string("far"), "floor": .int(4)]),
                                                      in: deskSchema, context: ConnectorContext(caller: .master, logger: Gateway.quietLogger))
            f.gateway.changes.publish(ObjectChange(kind: .create, className: "Desk", connector: "memory", objectId: try #require(stored.objectId), origin: .node("n2")))
            let m = try await c.expect("create", requestId: 1)
            #expect(m.object["name"] == .string("far"))
            f.gateway.changes.publish(ObjectChange(kind: .update, className: "Desk", connector: "memory", objectId: "remote1",
                                                   object: ParseObject(objectId: "remote1", fields: ["name": .string("moved"), "floor": .int(5)]),
                                                   original: ParseObject(objectId: "remote1", fields: ["name": .string("far"), "floor": .int(4)]), origin: .node("n2")))
            #expect(try await c.expect("leave", requestId: 1).object["floor"] == .int(5))
        }
    }
}

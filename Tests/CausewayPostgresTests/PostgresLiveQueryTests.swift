import CausewayCore
import CausewayLiveQuery
@testable import CausewayPostgres
import Foundation
import Logging
import Synchronization
import Testing

/// LiveQuery over a real PostgreSQL fed by its triggers (#17): a row deleted with plain SQL (the trigger sends
/// only the key) reaches the user-session subscribers whose subscription matched it and who could read it, and
/// nobody else. Timing comes from awaiting the listener's events and the clients' messages, never from sleeping.
@Suite(.timeLimit(.minutes(2))) struct PostgresLiveQueryTests {
    static let setupSQL = """
        CREATE TABLE seats (id text PRIMARY KEY, name text NOT NULL, floor integer NOT NULL, acl jsonb);
        INSERT INTO seats VALUES ('s-ann', 'Ann''s seat', 1, '{"ann": {"read": true, "write": true}}'),
                                 ('s-bob', 'Bob''s seat', 1, '{"bob": {"read": true, "write": true}}'),
                                 ('s-up', 'Upstairs', 2, NULL)
        """
    static let collections = """
          Seat:
            schema: SCHEMA
            table: seats
            acl: { column: acl }
            fields:
              name: { type: string }
              floor: { type: number }
            liveQuery: { triggers: true }
        """

    /// Sessions by token: `t-ann` is user ann, `t-bob` user bob.
    struct Sessions: LiveQuerySessions {
        func resolve(token: String) async throws -> LiveQueryIdentity {
            guard token.hasPrefix("t-") else { throw GatewayError(.invalidSessionToken, "Invalid session token") }
            let user = String(token.dropFirst(2))
            return LiveQueryIdentity(caller: Caller(user: .init(objectId: user, username: user)), tokenHash: "hash-" + token)
        }
        func events() -> AsyncStream<SessionEvents.Event> { AsyncStream { _ in } }
    }

    /// One client: sends JSON text, reads the hub's messages.
    struct Client {
        let connection: LiveQueryConnection
        var messages: LiveQueryConnection.Outbound.AsyncIterator

        init(_ hub: LiveQueryHub) throws {
            connection = try #require(hub.open())
            messages = connection.outbound.makeAsyncIterator()
        }

        mutating func next(sourceLocation: SourceLocation = #_sourceLocation) async throws -> [String: JSONValue] {
            let text = try #require(await messages.next(), sourceLocation: sourceLocation)
            return try #require(try JSONParser.parse(text).objectValue, sourceLocation: sourceLocation)
        }

        mutating func send(_ text: String) async throws -> [String: JSONValue] {
            await connection.receive(text)
            return try await next()
        }
    }

    @Test func aRowDeletedWithSQLReachesOnlyTheSubscribersWhoSawIt() async throws {
        try await withPostgresFixture(setupSQL: Self.setupSQL) { fx in
            let name = "lq_" + fx.schemaName
            let connector = try await fx.connector(Self.collections, name: name)
            try await connector.installChangeTriggers(logger: fx.logger)
            let gateway = Gateway(config: GatewayConfig(), connectors: [connector])
            let hub = LiveQueryHub(gateway: gateway, settings: LiveQuerySettings(classes: ["Seat"]), sessions: Sessions(),
                                   authenticate: { $0.applicationId == "app" ? .anonymous : nil }, logger: fx.logger)
            let listener = try PostgresChangeListener(connector: connector, gateway: gateway, logger: fx.logger)
            let events = listener.events()
            let listening = Task { try? await listener.run() }
            let hubRun = Task { try? await hub.run() }
            defer { listening.cancel(); hubRun.cancel() }
            _ = try await firstElement(events) { $0 == .listening }
            // Listening announces a gap; the hub's resync of it (dropping Seat's images) must not overlap the
            // subscriptions' reads below.
            for _ in 0..<10_000 where hub.imageActivity.resyncs < 1 { try await Task.sleep(for: .milliseconds(2)) }
            try #require(hub.imageActivity.resyncs >= 1)

            let subscribe = #"{"op":"subscribe","requestId":1,"query":{"className":"Seat","where":{"floor":1}}}"#
            var ann = try Client(hub), bob = try Client(hub)
            #expect(try await ann.send(#"{"op":"connect","applicationId":"app","sessionToken":"t-ann"}"#)["op"] == .string("connected"))
            #expect(try await ann.send(subscribe)["op"] == .string("subscribed"))
            #expect(try await bob.send(#"{"op":"connect","applicationId":"app","sessionToken":"t-bob"}"#)["op"] == .string("connected"))
            #expect(try await bob.send(subscribe)["op"] == .string("subscribed"))
            // What the two subscriptions match and may read: ann's seat and bob's (not upstairs, floor 2).
            #expect(hub.rememberedImages.count == 2)

            try await fx.execute("DELETE FROM \(fx.schemaName).seats WHERE id = 's-ann'")
            let annsDelete = try await ann.next()
            #expect(annsDelete["op"] == .string("delete") && annsDelete["requestId"] == .int(1))
            #expect(annsDelete["object"]?.objectValue?["objectId"] == .string("s-ann"))
            #expect(annsDelete["object"]?.objectValue?["name"] == .string("Ann's seat"))

            // Upstairs matched nobody's query; bob's seat only bob could read.
            try await fx.execute("DELETE FROM \(fx.schemaName).seats WHERE id = 's-up'")
            try await fx.execute("DELETE FROM \(fx.schemaName).seats WHERE id = 's-bob'")
            let bobsDelete = try await bob.next()  // his first event: ann's seat told him nothing
            #expect(bobsDelete["op"] == .string("delete") && bobsDelete["object"]?.objectValue?["objectId"] == .string("s-bob"))

            // A row inserted with SQL, then deleted with SQL: remembered from its create, so its delete is routed too.
            try await fx.execute("INSERT INTO \(fx.schemaName).seats VALUES ('s-new', 'New', 1, NULL)")
            let created = try await ann.next()  // her next event: upstairs and bob's seat told her nothing
            #expect(created["op"] == .string("create") && created["object"]?.objectValue?["objectId"] == .string("s-new"))
            #expect(try await bob.next()["op"] == .string("create"))
            try await fx.execute("DELETE FROM \(fx.schemaName).seats WHERE id = 's-new'")
            #expect(try await ann.next()["op"] == .string("delete"))
            #expect(try await bob.next()["op"] == .string("delete"))
            // The hub updates its images before it sends a change's events: forgotten by now.
            #expect(hub.rememberedImages.count == 0)
        }
    }
}

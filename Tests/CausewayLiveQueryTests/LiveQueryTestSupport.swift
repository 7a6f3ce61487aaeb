import CausewayCore
import CausewayLiveQuery
import Synchronization
import Testing

/// Desks: open to everyone, with an ACL column and a protected field.
let deskSchema: CollectionSchema = {
    var s = CollectionSchema(
        className: "Desk", connectorName: "memory",
        fields: [
            "name": FieldMapping(name: "name", type: .string, column: "name"),
            "floor": FieldMapping(name: "floor", type: .number, column: "floor"),
            "occupied": FieldMapping(name: "occupied", type: .boolean, column: "occupied"),
            "location": FieldMapping(name: "location", type: .geoPoint, column: "location"),
            "secret": FieldMapping(name: "secret", type: .string, column: "secret"),
            "ACL": FieldMapping(name: "ACL", type: .object, column: "acl"),
        ],
        objectId: ObjectIdMapping(column: "id"), createdAtColumn: "created", updatedAtColumn: "updated")
    s.access.protectedFields = ["*": ["secret"]]
    return s
}()

/// Only admins may find these.
let vaultSchema = CollectionSchema(
    className: "Vault", connectorName: "memory",
    fields: ["name": FieldMapping(name: "name", type: .string, column: "name")],
    objectId: ObjectIdMapping(column: "id"), createdAtColumn: "created", updatedAtColumn: "updated",
    permissions: ClassPermissions(rules: [.find: ["role:Admin"], .get: ["role:Admin"], .create: ["*"], .update: ["*"], .delete: ["*"]]))

/// Sessions in a table; `end` and `change` announce what `AuthService` would.
final class FakeSessions: LiveQuerySessions {
    let table = Mutex<[String: LiveQueryIdentity]>([:])
    let announcer = SessionEvents()

    func add(_ token: String, user: String, roles: Set<String> = []) {
        table.withLock {
            $0[token] = LiveQueryIdentity(caller: Caller(user: .init(objectId: user, username: user), roles: roles), tokenHash: "hash-" + token)
        }
    }

    func resolve(token: String) async throws -> LiveQueryIdentity {
        guard let identity = table.withLock({ $0[token] }) else { throw GatewayError(.invalidSessionToken, "Invalid session token") }
        return identity
    }

    func events() -> AsyncStream<SessionEvents.Event> { announcer.subscribe() }

    func logOut(_ token: String) {
        table.withLock { _ = $0.removeValue(forKey: token) }
        announcer.publish(.ended(tokenHash: "hash-" + token))
    }
}

/// A gateway over memory, a hub running on it, and helpers to talk to the hub as a client would.
struct LiveQueryFixture {
    let gateway: Gateway
    let connector: MemoryConnector
    let hub: LiveQueryHub
    let sessions = FakeSessions()

    init(settings: LiveQuerySettings = LiveQuerySettings(classes: ["Desk", "Vault"]), collections: [CollectionSchema] = [deskSchema, vaultSchema],
         clustered: Bool = false) {
        connector = MemoryConnector(name: "memory", collections: collections)
        gateway = Gateway(config: GatewayConfig(), connectors: [connector])
        hub = LiveQueryHub(gateway: gateway, settings: settings, sessions: sessions, authenticate: { c in
            guard c.applicationId == "app" else { return nil }
            return c.masterKey == "master-key-123" ? .master : .anonymous
        }, imagesForAllClasses: clustered)
    }

    /// Runs `body` with the hub running; stops it afterwards.
    func run(_ body: () async throws -> Void) async throws {
        let task = Task { try await hub.run() }
        defer { task.cancel() }
        try await body()
    }

    func client() throws -> TestClient { TestClient(try #require(hub.open())) }
}

/// One connection seen from the client side.
struct TestClient {
    let connection: LiveQueryConnection
    var messages: LiveQueryConnection.Outbound.AsyncIterator

    init(_ connection: LiveQueryConnection) {
        self.connection = connection
        self.messages = connection.outbound.makeAsyncIterator()
    }

    func send(_ json: String) async { await connection.receive(json) }

    /// The next message, decoded (nil: the server ended the connection).
    mutating func next() async throws -> [String: JSONValue]? {
        guard let text = await messages.next() else { return nil }
        return try #require(try JSONParser.parse(text).objectValue)
    }

    mutating func expect(_ op: String, requestId: Int? = nil, sourceLocation: SourceLocation = #_sourceLocation) async throws -> [String: JSONValue] {
        let m = try #require(try await next(), sourceLocation: sourceLocation)
        #expect(m["op"] == .string(op), "\(m)", sourceLocation: sourceLocation)
        if let requestId { #expect(m["requestId"] == .int(Int64(requestId)), "\(m)", sourceLocation: sourceLocation) }
        return m
    }

    mutating func connect(token: String? = nil, masterKey: String? = nil) async throws {
        var o: [String: JSONValue] = ["op": .string("connect"), "applicationId": .string("app"), "installationId": .string("inst-1")]
        if let token { o["sessionToken"] = .string(token) }
        if let masterKey { o["masterKey"] = .string(masterKey) }
        await send(JSONWriter.string(.object(o)))
        _ = try await expect("connected")
    }

    mutating func subscribe(_ requestId: Int, _ className: String = "Desk", where w: String = "{}", keys: [String]? = nil,
                            token: String? = nil) async throws -> [String: JSONValue] {
        var query: [String: JSONValue] = ["className": .string(className), "where": try JSONParser.parse(w)]
        if let keys { query["fields"] = .array(keys.map(JSONValue.string)) }
        var o: [String: JSONValue] = ["op": .string("subscribe"), "requestId": .int(Int64(requestId)), "query": .object(query)]
        if let token { o["sessionToken"] = .string(token) }
        await send(JSONWriter.string(.object(o)))
        return try #require(try await next())
    }
}

extension Dictionary where Key == String, Value == JSONValue {
    var object: [String: JSONValue] { self["object"]?.objectValue ?? [:] }
    var original: [String: JSONValue]? { self["original"]?.objectValue }
}

import CausewayCore
import CausewayHTTP
import CausewayHTTPTesting
import CausewayTesting
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Synchronization
import Testing

/// Connectors run as services: a source that is down at start keeps only its own classes from serving
/// (100, and `/health` 503 with the reason) until a retry succeeds; shutdown closes every connector and
/// ends its background work before the application returns.
@Suite struct LifecycleTests {
    static let config: GatewayConfig = {
        var c = GatewayConfig()
        c.app.applicationId = "life"
        c.server.startupWaitSeconds = 5
        return c
    }()
    static let headers: HTTPFields = [HTTPField.Name("X-Parse-Application-Id")!: "life"]

    static func schema(_ className: String, _ connector: String) -> CollectionSchema {
        CollectionSchema(className: className, connectorName: connector, fields: ["name": FieldMapping(name: "name", type: .string, column: "name")],
                         objectId: ObjectIdMapping(column: "id"))
    }

    @Test func aSourceDownAtStartKeepsOnlyItsOwnClassesFromServing() async throws {
        let healthy = MemoryConnector(name: "healthy", collections: [Self.schema("Up", "healthy")],
                                      rows: ["Up": [ParseObject(objectId: "a", fields: ["name": .string("x")])]])
        let flaky = ControlledConnector(name: "flaky", collections: [Self.schema("Down", "flaky")])
        let app = CausewayApplication.build(configuration: LoadedConfiguration(gateway: Self.config, connectors: [healthy, flaky]),
                                            logger: Logger(label: "test"), connectorRetry: .init(initial: .milliseconds(20), maximum: .milliseconds(40)))
        try await app.test(.router) { client in
            func get(_ uri: String) async throws -> (Int, JSONValue?) {
                let r = try await client.execute(uri: uri, method: .get, headers: Self.headers)
                return (Int(r.status.code), try? JSONParser.parse(String(buffer: r.body)))
            }
            // The healthy connector serves while the other one cannot start.
            let up = try await get("/parse/classes/Up")
            #expect(up.0 == 200 && up.1?["results"]?.arrayValue?.count == 1)
            let down = try await get("/parse/classes/Down")
            #expect(down.0 == 503 && down.1?["code"] == .int(100), "\(String(describing: down.1))")
            #expect(down.1?["error"]?.stringValue?.contains("connector 'flaky' is not up") == true)
            let health = try await get("/parse/health")
            #expect(health.0 == 503)
            #expect(health.1?["components"]?["connector healthy"] == .string("up"))
            #expect(health.1?["components"]?["connector flaky"]?.stringValue?.hasPrefix("unavailable: ") == true, "\(String(describing: health.1))")
            #expect(health.1?["components"]?["connector flaky"]?.stringValue?.contains("secret") == false, "a source's own error text stays in the log")

            // The source comes back: the next retry starts it, and everything serves.
            await flaky.allowStart()
            let h = try await get("/parse/health")
            #expect(h.0 == 200 && h.1 == .object(["status": .string("ok")]))
            #expect(try await get("/parse/classes/Down").0 == 200)
        }
        #expect(flaky.events.contains("shutdown"), "the connector was shut down: \(flaky.events)")
        #expect(flaky.events.last == "background ended", "its background work ended before the application returned: \(flaky.events)")
    }
}

/// A connector whose start fails until the test allows it, recording its lifecycle.
final class ControlledConnector: Connector {
    let name: String
    let kind = "controlled"
    let capabilities = MemoryConnector.fullCapabilities
    let collections: [CollectionSchema]
    private let state = Mutex<(allowed: Bool, events: [String], startedWaiters: [CheckedContinuation<Void, Never>], started: Bool)>((false, [], [], false))

    init(name: String, collections: [CollectionSchema]) {
        self.name = name
        self.collections = collections
    }

    var events: [String] { state.withLock { $0.events } }

    /// Lets the next start attempt succeed and returns once it has.
    func allowStart() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let done = state.withLock { s -> Bool in
                s.allowed = true
                if s.started { return true }
                s.startedWaiters.append(c)
                return false
            }
            if done { c.resume() }
        }
    }

    func start(logger: Logger) async throws {
        let waiters = try state.withLock { s throws(GatewayError) -> [CheckedContinuation<Void, Never>] in
            guard s.allowed else {
                s.events.append("start refused")
                throw GatewayError(.connectionFailed, "The flaky source is unreachable.", detail: "secret upstream text")
            }
            s.events.append("started")
            s.started = true
            defer { s.startedWaiters = [] }
            return s.startedWaiters
        }
        for w in waiters { w.resume() }
    }

    func runBackground(logger: Logger) async {
        state.withLock { $0.events.append("background") }
        try? await Task.sleep(for: .seconds(3600))  // until cancelled
        state.withLock { $0.events.append("background ended") }
    }

    func shutdown() async { state.withLock { $0.events.append("shutdown") } }

    func find(_ query: SourceQuery, in collection: CollectionSchema, context: ConnectorContext) async throws -> [ParseObject] { [] }
}

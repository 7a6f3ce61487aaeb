@testable import CausewayCore
import CausewayTesting
import Logging
import Synchronization
import Testing

/// `include` and sub-queries across three sources (each a `MemoryConnector` under its own connector name,
/// wrapped to count and record its reads): `Booking` in "local", `Employee` in "hr", `Ticket` and `Secret`
/// in "desk".
@Suite struct FederationTests {
    static let logger = Logger(label: "test")

    struct Fixture {
        let gateway: Gateway
        let local: SourceProbe, hr: SourceProbe, desk: SourceProbe
        let hrFields: Recorded
    }

    /// The `fields` of every find a connector received.
    final class Recorded: Sendable {
        let fields = Mutex<[Set<String>?]>([])
        var all: [Set<String>?] { fields.withLock { $0 } }
    }

    /// Wraps a connector to record the projection of its finds.
    final class RecordingConnector: Connector {
        let inner: any Connector
        let recorded: Recorded
        init(_ inner: any Connector, _ recorded: Recorded) { self.inner = inner; self.recorded = recorded }
        var name: String { inner.name }
        var kind: String { inner.kind }
        var capabilities: ConnectorCapabilities { inner.capabilities }
        var collections: [CollectionSchema] { inner.collections }
        func find(_ query: SourceQuery, in collection: CollectionSchema, context: ConnectorContext) async throws -> [ParseObject] {
            recorded.fields.withLock { $0.append(query.fields) }
            return try await inner.find(query, in: collection, context: context)
        }
        func update(objectId: String, operations: [String: UpdateOperation], updatedAt: ParseDate,
                    in collection: CollectionSchema, context: ConnectorContext) async throws -> ParseObject? {
            try await inner.update(objectId: objectId, operations: operations, updatedAt: updatedAt, in: collection, context: context)
        }
        func canPushDown(_ path: String, _ condition: FieldCondition, in collection: CollectionSchema) -> Bool {
            inner.canPushDown(path, condition, in: collection)
        }
    }

    static func fixture(bookings: Int = 100, extraBookings: [ParseObject] = [], configure: (inout GatewayConfig) -> Void = { _ in },
                        cached: Bool = false, hrCapabilities: ConnectorCapabilities = MemoryConnector.fullCapabilities) -> Fixture {
        let local = SourceProbe(), hr = SourceProbe(), desk = SourceProbe(), recorded = Recorded()
        let bookingConnector = MemoryConnector(name: "local", collections: [FederationFixture.bookingSchema(connector: "local")],
                                               rows: ["Booking": FederationFixture.bookings(count: bookings) + extraBookings])
        let employeeConnector = MemoryConnector(name: "hr", collections: [FederationFixture.employeeSchema(connector: "hr")],
                                                capabilities: hrCapabilities, rows: ["Employee": FederationFixture.employees()])
        let deskConnector = MemoryConnector(name: "desk", collections: [FederationFixture.ticketSchema(connector: "desk"), FederationFixture.secretSchema(connector: "desk")],
                                            rows: ["Ticket": FederationFixture.tickets(), "Secret": FederationFixture.secrets()])
        var config = GatewayConfig()
        configure(&config)
        var policy = CachePolicy()
        policy.ttlMs = 3_600_000
        let caches = cached ? CacheSet(policies: ["local": policy, "hr": policy, "desk": policy], maxBytes: 1 << 24, metricsFactory: nil) : .none
        let gateway = Gateway(config: config, connectors: [
            CountingConnector(wrapping: bookingConnector, probe: local),
            CountingConnector(wrapping: RecordingConnector(employeeConnector, recorded), probe: hr),
            CountingConnector(wrapping: deskConnector, probe: desk),
        ], caches: caches)
        return Fixture(gateway: gateway, local: local, hr: hr, desk: desk, hrFields: recorded)
    }

    static let boss = Caller(user: .init(objectId: "u-boss", username: "boss"))

    func find(_ f: Fixture, _ params: [String: JSONValue], caller: Caller = .anonymous, className: String = "Booking") async throws -> [ParseObject] {
        let query = try f.gateway.parseFind(className, params)
        var result = try await f.gateway.find(className, query, caller: caller, logger: Self.logger)
        if let body = result.body { result.objects = try FindAnswerDecoder.decodeFind(body).objects }
        return result.objects
    }

    func object(_ v: ParseValue?) -> [String: ParseValue]? {
        if case .object(let o)? = v { return o }
        return nil
    }

    @Test func oneBatchedReadPerConnectorPerLevel() async throws {
        let f = Self.fixture()
        let rows = try await find(f, ["include": .string("employee,employee.manager"), "limit": .int(100)], caller: .master)
        #expect(rows.count == 100)
        #expect(f.local.reads == 1, "one read of the bookings")
        #expect(f.hr.reads == 2, "one read per include level (employee, employee.manager), not one per booking: \(f.hr.reads)")
        #expect(f.desk.reads == 0)
        let ben = object(rows[1].fields["employee"])
        #expect(ben?["__type"] == .string("Object") && ben?["className"] == .string("Employee") && ben?["objectId"] == .string("e2"))
        #expect(ben?["name"] == .string("Ben"))
        let ada = object(ben?["manager"])
        #expect(ada?["__type"] == .string("Object") && ada?["name"] == .string("Ada"))
        // A pointer whose target is missing: the key is removed.
        #expect(rows[99].fields["employee"] == nil)
    }

    @Test func arraysSkipMissingElementsAndIncludeAllFollowsEveryPointer() async throws {
        let f = Self.fixture()
        for params: [String: JSONValue] in [["include": .string("tickets")], ["include": .string("*")], ["includeAll": .bool(true)]] {
            let rows = try await find(f, params.merging(["limit": .int(10)]) { $1 })
            guard case .array(let tickets)? = rows[9].fields["tickets"] else { Issue.record("no tickets for \(params)"); continue }
            #expect(tickets.count == 2, "t404 is removed from the array: \(tickets)")
            #expect(tickets.compactMap { object($0)?["title"] } == [.string("Printer"), .string("VPN")])
            if params["include"] != .string("tickets") {
                #expect(object(rows[0].fields["employee"])?["name"] == .string("Ada"), "* and includeAll include the employee too")
            }
        }
    }

    @Test func aclsAndProtectedFieldsApplyToIncludedObjects() async throws {
        let f = Self.fixture(bookings: 10)
        let anonymous = try await find(f, ["include": .string("employee")])
        // b005 points to Eve, whose ACL only lets u-boss read her: removed, as a direct read would hide her.
        #expect(anonymous[4].fields["employee"] == nil)
        #expect(object(anonymous[0].fields["employee"])?["salary"] == nil, "salary is a protected field")
        #expect(object(anonymous[0].fields["employee"])?["name"] == .string("Ada"))
        let boss = try await find(f, ["include": .string("employee")], caller: Self.boss)
        #expect(object(boss[4].fields["employee"])?["name"] == .string("Eve"))
        let master = try await find(f, ["include": .string("employee")], caller: .master)
        #expect(object(master[0].fields["employee"])?["salary"] == .int(100), "the master key sees protected fields")
    }

    @Test func aDeniedGetOnTheTargetFailsTheRequest() async throws {
        let withSecret = ParseObject(objectId: "b999", fields: ["secret": .pointer(className: "Secret", objectId: "s1")])
        let f = Self.fixture(bookings: 5, extraBookings: [withSecret])
        do {
            _ = try await find(f, ["include": .string("secret")])
            Issue.record("include of a class without get permission succeeded")
        } catch let error as GatewayError {
            #expect(error.code == .operationForbidden)
        }
        // No pointers to the class: nothing to check (Parse's rule), the request succeeds.
        let rows = try await find(f, ["include": .string("secret"), "where": .object(["room": .string("R1")])])
        #expect(rows.count == 1)
        let master = try await find(f, ["include": .string("secret"), "where": .object(["objectId": .string("b999")])], caller: .master)
        #expect(object(master[0].fields["secret"])?["code"] == .string("1234"))
    }

    @Test func cyclesEndWithTheRequestedPath() async throws {
        let f = Self.fixture(bookings: 5)
        let rows = try await find(f, ["include": .string("employee.manager.manager.manager"), "where": .object(["objectId": .string("b004")])], caller: Self.boss)
        let dan = object(rows[0].fields["employee"])
        let eve = object(dan?["manager"]), dan2 = object(eve?["manager"]), eve2 = object(dan2?["manager"])
        #expect(dan?["name"] == .string("Dan") && eve?["name"] == .string("Eve") && dan2?["name"] == .string("Dan") && eve2?["name"] == .string("Eve"))
        #expect(eve2?["manager"] == .pointer(className: "Employee", objectId: "e4"), "below the path the pointer stays a pointer")
        #expect(f.hr.reads == 4, "one read per level: \(f.hr.reads)")
    }

    @Test func dottedKeysSelectFieldsOfIncludedObjectsAndOnlyThoseAreRead() async throws {
        let f = Self.fixture(bookings: 5)
        let rows = try await find(f, ["keys": .string("room,employee.name")], caller: .master)
        let employee = object(rows[0].fields["employee"])
        #expect(employee?["name"] == .string("Ada"), "keys=employee.name implies include=employee")
        #expect(employee?["city"] == nil && employee?["salary"] == nil && employee?["manager"] == nil)
        #expect(rows[0].fields["city"] == nil && rows[0].fields["room"] == .string("R1"))
        #expect(f.hrFields.all == [["name"]], "the Employee source is asked for name only: \(f.hrFields.all)")
        // A caller with an ACL filter: the source filters on it, and still returns the name only.
        let anonymous = try await find(f, ["keys": .string("employee.name")])
        #expect(f.hrFields.all.last == Set(["name"]))
        #expect(anonymous[4].fields["employee"] == nil, "Eve stays hidden")
        let excluded = try await find(f, ["include": .string("employee"), "excludeKeys": .string("employee.city")], caller: .master)
        #expect(object(excluded[0].fields["employee"])?["city"] == nil && object(excluded[0].fields["employee"])?["name"] == .string("Ada"))
    }

    @Test func limitsOnDepthAndIncludedObjects() async throws {
        let f = Self.fixture(bookings: 20) { $0.limits.federation.maxIncludedObjects = 3; $0.limits.federation.maxIncludeDepth = 3 }
        #expect(gatewayError { _ = try f.gateway.parseFind("Booking", ["include": .string("employee.manager.manager.manager")]) }?.code == .invalidQuery)
        do {
            _ = try await find(f, ["include": .string("employee")])
            Issue.record("5 employees included over a cap of 3")
        } catch let error as GatewayError {
            #expect(error.code == .invalidQuery && error.message.contains("limits.maxIncludedObjects"))
        }
        #expect(try await find(f, ["include": .string("employee"), "limit": .int(3)]).count == 3)
    }

    @Test func withoutInPushdownIncludesReadByIdWithBoundedConcurrency() async throws {
        var caps = MemoryConnector.fullCapabilities
        caps.filterOperators.remove(.isIn)
        let f = Self.fixture(bookings: 10, hrCapabilities: caps)
        let rows = try await find(f, ["include": .string("employee")], caller: .master)
        #expect(object(rows[2].fields["employee"])?["name"] == .string("Cleo"))
        #expect(rows[9].fields["employee"] == nil)
        #expect(f.hr.reads == 6, "one get per distinct employee (e1…e5 and the missing e404): \(f.hr.reads)")
    }

    @Test func includedObjectsAreCachedUnderTheirOwnClassAndAWriteShowsAtOnce() async throws {
        let f = Self.fixture(bookings: 10, cached: true)
        let params: [String: JSONValue] = ["include": .string("employee")]
        _ = try await find(f, params, caller: .master)
        let again = try await find(f, params, caller: .master)
        #expect(f.local.reads == 1 && f.hr.reads == 1, "both answers came from the caches: \(f.local.reads) \(f.hr.reads)")
        #expect(object(again[0].fields["employee"])?["name"] == .string("Ada"))
        _ = try await f.gateway.update("Employee", objectId: "e1", body: ["name": .string("Ada L.")], caller: .master, logger: Self.logger)
        let after = try await find(f, params, caller: .master)
        #expect(object(after[0].fields["employee"])?["name"] == .string("Ada L."), "a write to Employee is seen through the cached Booking answer")
        #expect(f.local.reads == 1, "the Booking answer itself is still cached: it holds pointers only")
        #expect(f.hr.reads == 2)
    }

    @Test func getFollowsIncludesToo() async throws {
        let f = Self.fixture(bookings: 5)
        let (paths, keys) = try f.gateway.includePaths("Booking", include: .string("employee.manager"), keys: nil)
        let (body, _) = try await f.gateway.getEncoded("Booking", objectId: "b003", keys: keys, include: paths, caller: .anonymous, logger: Self.logger)
        let json = try JSONParser.parse(body)
        #expect(json["employee"]?["__type"] == .string("Object") && json["employee"]?["manager"]?["name"] == .string("Ben"))
        let star = try f.gateway.includePaths("Booking", include: .string("*"), keys: ["room"])
        #expect(star.paths.contains(["employee"]) && star.keys == ["room", "employee", "tickets", "secret"])
    }

    // MARK: Sub-queries

    @Test func inQueryAndNotInQueryAcrossConnectors() async throws {
        let f = Self.fixture(bookings: 20)
        let zurich: JSONValue = .object(["className": .string("Employee"), "where": .object(["city": .string("Zurich")])])
        let inQ = try await find(f, ["where": .object(["employee": .object(["$inQuery": zurich])]), "limit": .int(100)])
        #expect(Set(inQ.compactMap { r -> String? in if case .pointer(_, let id)? = r.fields["employee"] { id } else { nil } }) == ["e1", "e3"])
        #expect(inQ.count == 8)
        let notIn = try await find(f, ["where": .object(["employee": .object(["$notInQuery": zurich])]), "limit": .int(100)])
        #expect(notIn.count == 12)
        // The inner query runs with the caller's permissions: Eve is hidden from anonymous callers.
        let all: JSONValue = .object(["className": .string("Employee"), "where": .object([:])])
        let visible = try await find(f, ["where": .object(["employee": .object(["$inQuery": all])]), "limit": .int(100)])
        #expect(visible.count == 16, "bookings of e1…e4: \(visible.count)")
        let asBoss = try await find(f, ["where": .object(["employee": .object(["$inQuery": all])]), "limit": .int(100)], caller: Self.boss)
        #expect(asBoss.count == 19)
        // Inside $or, and with an include on top.
        let or = try await find(f, ["where": .object(["$or": .array([.object(["employee": .object(["$inQuery": zurich])]), .object(["room": .string("R2")])])]),
                                    "include": .string("employee"), "limit": .int(100)])
        #expect(or.count == 9 && object(or[0].fields["employee"])?["name"] == .string("Ada"))
    }

    @Test func selectAndDontSelect() async throws {
        let f = Self.fixture(bookings: 20)
        let ben: JSONValue = .object(["query": .object(["className": .string("Employee"), "where": .object(["name": .string("Ada")])]), "key": .string("city")])
        let sel = try await find(f, ["where": .object(["city": .object(["$select": ben])]), "limit": .int(100)])
        #expect(sel.count == 10 && sel.allSatisfy { $0.fields["city"] == .string("Zurich") })
        let dont = try await find(f, ["where": .object(["city": .object(["$dontSelect": ben])]), "limit": .int(100)])
        #expect(dont.count == 10 && dont.allSatisfy { $0.fields["city"] == .string("Bern") })
        let improper = await gatewayErrorAsync { _ = try await find(f, ["where": .object(["city": .object(["$select": .object(["key": .string("city")])])])]) }
        #expect(improper?.code == .invalidQuery)
    }

    @Test func subQueryCapAndPermissions() async throws {
        let f = Self.fixture(bookings: 20) { $0.limits.federation.maxSubqueryResults = 2 }
        let all: JSONValue = .object(["className": .string("Employee"), "where": .object([:])])
        do {
            _ = try await find(f, ["where": .object(["employee": .object(["$inQuery": all])])])
            Issue.record("a sub-query over the cap was not refused")
        } catch let error as GatewayError {
            #expect(error.code == .invalidQuery && error.message.contains("limits.maxSubqueryResults"))
        }
        let secret: JSONValue = .object(["className": .string("Secret"), "where": .object([:])])
        do {
            _ = try await find(f, ["where": .object(["secret": .object(["$inQuery": secret])])])
            Issue.record("a sub-query on a class the caller may not find ran")
        } catch let error as GatewayError {
            #expect(error.code == .operationForbidden)
        }
    }

    func gatewayErrorAsync(_ body: () async throws -> Void) async -> GatewayError? {
        do { try await body() } catch let e as GatewayError { return e } catch { return nil }
        return nil
    }
}

@Suite struct PointerCheckTests {
    @Test func pointersMustNameAServedClass() {
        var booking = FederationFixture.bookingSchema(connector: "local")
        booking.fields["owner"] = FieldMapping(name: "owner", type: .pointer, column: "owner", targetClass: "_User")
        booking.fields["desk"] = FieldMapping(name: "desk", type: .pointer, column: "desk", targetClass: "Desk")
        let findings = PointerCheck.findings([
            MemoryConnector(name: "local", collections: [booking]),
            MemoryConnector(name: "hr", collections: [FederationFixture.employeeSchema(connector: "hr")]),
        ])
        let bySubject = Dictionary(findings.map { ($0.subject, $0) }, uniquingKeysWith: { a, _ in a })
        #expect(bySubject["Booking.desk"]?.severity == .error && bySubject["Booking.desk"]?.message.contains("Desk") == true)
        #expect(bySubject["Booking.secret"]?.severity == .error, "Secret is not served by these connectors")
        #expect(bySubject["Booking.employee"]?.severity == .ok && bySubject["Booking.employee"]?.message.contains("connector hr") == true)
        #expect(bySubject["Booking.owner"]?.severity == .warning)
        #expect(bySubject["Employee.manager"]?.message.contains("same connector") == true)
    }
}

@Suite struct FederationLimitsConfigTests {
    func read(_ limits: String) throws -> GatewayConfig {
        let text = "app: { applicationId: a }\nlimits: { \(limits) }\n"
        return try GatewayConfig.read(try YAMLReader.load(file: "causeway.yaml", text: text, resolver: SecretResolver(environment: [:])), baseDirectory: "/tmp")
    }

    @Test func theFederationLimitsAreRead() throws {
        let c = try read("maxIncludeDepth: 3, maxIncludedObjects: 50, maxSubqueryResults: 7")
        #expect(c.limits.federation.maxIncludeDepth == 3 && c.limits.federation.maxIncludedObjects == 50 && c.limits.federation.maxSubqueryResults == 7)
        #expect(try read("maxWhereDepth: 4").limits.federation == FederationLimits())
        do {
            _ = try read("maxIncludeDepth: 0")
            Issue.record("a depth of 0 was accepted")
        } catch let error as ConfigError {
            #expect(error.description.contains("maxIncludeDepth"))
        }
    }
}

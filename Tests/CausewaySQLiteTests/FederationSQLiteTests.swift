import CausewayCore
import CausewayTesting
@testable import CausewaySQLite
import Logging
import Testing

/// Include and sub-queries with a real SQLite source on one side: `Booking` in memory (counted), `Employee`
/// in SQLite (counted; ACLs and protected fields evaluated in SQL), `Ticket` in a third, in-memory source.
@Suite struct FederationSQLiteTests {
    static let employeeYAML = """
    kind: sqlite
    connection:
      path: hr.sqlite
    collections:
      Employee:
        table: employees
        objectId: { column: id, type: string }
        acl: true
        fields:
          name: { type: string }
          city: { type: string }
          salary: { type: number }
          manager: { type: pointer, targetClass: Employee }
        protectedFields:
          "*": [salary]
    """

    struct Setup {
        let fixture: SQLiteFixture
        let gateway: Gateway
        let bookings: SourceProbe, employees: SourceProbe, tickets: SourceProbe
    }

    func setUp(bookings count: Int = 100) async throws -> Setup {
        let fixture = try await SQLiteFixture(yaml: Self.employeeYAML)
        let schema = fixture.connector.collections[0]
        let context = ConnectorContext(caller: .master, logger: fixture.logger)
        for employee in FederationFixture.employees() { _ = try await fixture.connector.create(employee, in: schema, context: context) }
        let local = MemoryConnector(name: "local", collections: [FederationFixture.bookingSchema(connector: "local")],
                                    rows: ["Booking": FederationFixture.bookings(count: count)])
        let desk = MemoryConnector(name: "desk", collections: [FederationFixture.ticketSchema(connector: "desk")], rows: ["Ticket": FederationFixture.tickets()])
        let (b, e, t) = (SourceProbe(), SourceProbe(), SourceProbe())
        let gateway = Gateway(config: GatewayConfig(), connectors: [
            CountingConnector(wrapping: local, probe: b), CountingConnector(wrapping: fixture.connector, probe: e), CountingConnector(wrapping: desk, probe: t),
        ])
        return Setup(fixture: fixture, gateway: gateway, bookings: b, employees: e, tickets: t)
    }

    /// Runs `body` and closes the SQLite fixture afterwards, also when it throws.
    func with(bookings: Int = 100, _ body: (Setup) async throws -> Void) async throws {
        let s = try await setUp(bookings: bookings)
        do { try await body(s) } catch {
            await s.fixture.close()
            throw error
        }
        await s.fixture.close()
    }

    func find(_ s: Setup, _ params: [String: JSONValue], caller: Caller = .anonymous) async throws -> [ParseObject] {
        try await s.gateway.find("Booking", try s.gateway.parseFind("Booking", params), caller: caller, logger: s.fixture.logger).objects
    }

    func object(_ v: ParseValue?) -> [String: ParseValue]? {
        if case .object(let o)? = v { return o }
        return nil
    }

    @Test func includeReadsSQLiteOncePerLevel() async throws {
        try await with { s in
        let rows = try await find(s, ["include": .string("employee,employee.manager,tickets"), "limit": .int(100)])
        #expect(rows.count == 100)
        #expect(s.bookings.reads == 1 && s.employees.reads == 2 && s.tickets.reads == 1,
                "reads: \(s.bookings.reads) \(s.employees.reads) \(s.tickets.reads)")
        let cleo = object(rows[2].fields["employee"])
        #expect(cleo?["name"] == .string("Cleo") && cleo?["className"] == .string("Employee") && cleo?["salary"] == nil)
        #expect(object(cleo?["manager"])?["name"] == .string("Ben"))
        #expect(rows[4].fields["employee"] == nil, "Eve's ACL hides her from anonymous callers, evaluated by SQLite")
        #expect(object(rows[3].fields["employee"])?["manager"] == nil, "Dan's manager is Eve: removed at the second level too")
        if case .array(let tickets)? = rows[9].fields["tickets"] { #expect(tickets.count == 2) } else { Issue.record("no tickets") }
        let boss = try await find(s, ["include": .string("employee"), "keys": .string("employee.name")], caller: Caller(user: .init(objectId: "u-boss", username: "boss")))
        #expect(object(rows[4].fields["employee"]) == nil && object(boss[4].fields["employee"])?["name"] == .string("Eve"))
        #expect(object(boss[0].fields["employee"])?["city"] == nil)
        }
    }

    @Test func subQueryOnSQLiteFiltersTheMemorySource() async throws {
        try await with(bookings: 20) { s in
        let zurich: JSONValue = .object(["className": .string("Employee"), "where": .object(["city": .string("Zurich")])])
        let rows = try await find(s, ["where": .object(["employee": .object(["$inQuery": zurich])]), "include": .string("employee")])
        #expect(rows.count == 8 && rows.allSatisfy { object($0.fields["employee"])?["city"] == .string("Zurich") })
        #expect(s.employees.reads == 2, "one sub-query read, one include read")
        let names: JSONValue = .object(["query": .object(["className": .string("Employee"), "where": .object(["name": .object(["$in": .array([.string("Dan"), .string("Eve")])])])]), "key": .string("city")])
        let bern = try await find(s, ["where": .object(["city": .object(["$select": names])])])
        #expect(bern.count == 10, "Dan's city (Eve is hidden, and also in Bern): \(bern.count)")
        }
    }
}

import CausewayCore
import CausewayTesting
@testable import CausewayPostgres
import Foundation
import Logging
import Testing

/// Include and sub-queries across sources with a real PostgreSQL on one side: `Booking` in memory,
/// `Employee` (self-pointer `manager`, ACLs, a protected salary) in PostgreSQL, `Ticket` in a third source.
/// The SQL the connector runs is recorded: one statement per include level, with only the selected columns.
@Suite struct PostgresFederationTests {
    @Test func includeAndSubQueriesAcrossMemoryAndPostgres() async throws {
        try await withPostgresFixture(setupSQL: """
            CREATE TABLE employees (id text PRIMARY KEY, name text NOT NULL, city text, salary integer, manager_id text, acl jsonb);
            INSERT INTO employees VALUES
              ('e1', 'Ada', 'Zurich', 100, NULL, NULL), ('e2', 'Ben', 'Basel', 90, 'e1', NULL), ('e3', 'Cleo', 'Zurich', 80, 'e2', NULL),
              ('e4', 'Dan', 'Bern', 70, 'e5', NULL), ('e5', 'Eve', 'Bern', 60, 'e4', '{"u-boss":{"read":true}}')
            """) { fx in
            let recorder = StatementRecorder()
            var logger = Logger(label: "federation") { _ in recorder }
            logger.logLevel = .debug
            let pg = try await fx.connector("""
                  Employee:
                    schema: SCHEMA
                    table: employees
                    objectId: { column: id, type: string }
                    acl: { column: acl }
                    fields:
                      name: { type: string }
                      city: { type: string }
                      salary: { type: number }
                      manager: { type: pointer, targetClass: Employee, column: manager_id }
                    protectedFields:
                      "*": [salary]
                """, name: "hr", logger: logger)
            let local = MemoryConnector(name: "local", collections: [FederationFixture.bookingSchema(connector: "local")],
                                        rows: ["Booking": FederationFixture.bookings(count: 100)])
            let desk = MemoryConnector(name: "desk", collections: [FederationFixture.ticketSchema(connector: "desk")], rows: ["Ticket": FederationFixture.tickets()])
            let (bookings, employees) = (SourceProbe(), SourceProbe())
            let gw = Gateway(config: GatewayConfig(), connectors: [CountingConnector(wrapping: local, probe: bookings),
                                                                   CountingConnector(wrapping: pg, probe: employees), desk])

            let query = try gw.parseFind("Booking", ["include": .string("employee,employee.manager"), "limit": .int(100)])
            let first = recorder.statements.count
            let rows = try await gw.find("Booking", query, caller: .anonymous, logger: logger).objects
            #expect(rows.count == 100 && bookings.reads == 1 && employees.reads == 2, "reads: \(bookings.reads) \(employees.reads)")
            let selects = recorder.statements[first...].filter { $0.contains("\"employees\"") && !$0.contains("pg_catalog") }
            #expect(selects.count == 2, "one statement per level: \(selects)")
            func object(_ v: ParseValue?) -> [String: ParseValue]? { if case .object(let o)? = v { o } else { nil } }
            let ben = object(rows[1].fields["employee"])
            #expect(ben?["name"] == .string("Ben") && ben?["className"] == .string("Employee") && ben?["salary"] == nil)
            #expect(object(ben?["manager"])?["name"] == .string("Ada"))
            #expect(rows[4].fields["employee"] == nil, "Eve: hidden by her ACL, evaluated in PostgreSQL")
            #expect(rows[99].fields["employee"] == nil, "e404 does not exist")

            // keys with a dotted path: PostgreSQL is asked for the name column only.
            let before = recorder.statements.count
            let named = try await gw.find("Booking", try gw.parseFind("Booking", ["keys": .string("employee.name"), "limit": .int(5)]),
                                          caller: .master, logger: logger).objects
            #expect(object(named[2].fields["employee"])?["name"] == .string("Cleo") && object(named[2].fields["employee"])?["city"] == nil)
            let lookup = recorder.statements[before...].first { $0.contains("\"employees\"") && !$0.contains("pg_catalog") } ?? ""
            #expect(lookup.contains("\"name\"") && !lookup.contains("\"city\"") && !lookup.contains("\"salary\""), "\(lookup)")

            // A sub-query on PostgreSQL filtering the memory source.
            let zurich: JSONValue = .object(["className": .string("Employee"), "where": .object(["city": .string("Zurich")])])
            let inZurich = try await gw.find("Booking", try gw.parseFind("Booking", ["where": .object(["employee": .object(["$inQuery": zurich])]),
                                                                                     "limit": .int(100)]), caller: .anonymous, logger: logger).objects
            #expect(inZurich.count == 40, "bookings of Ada and Cleo: \(inZurich.count)")
        }
    }
}

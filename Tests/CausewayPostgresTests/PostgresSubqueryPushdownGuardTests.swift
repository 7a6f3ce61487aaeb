import CausewayCore
import CausewayTesting
@testable import CausewayPostgres
import Foundation
import Logging
import Testing

/// The refusals of the one-statement plan (review of #13): two text columns of different collations, a protected
/// string inner key, a protected outer field; and the plan kept beside a relation-field condition. Each answer is
/// compared with the two-step path (or with the answers of the parts).
@Suite struct PostgresSubqueryPushdownGuardTests {
    static let setupSQL = PostgresSubqueryPushdownTests.setupSQL + """
        ;
        CREATE TABLE codes_c (id text PRIMARY KEY, code text COLLATE "C");
        CREATE TABLE codes_posix (id text PRIMARY KEY, code text COLLATE "POSIX");
        INSERT INTO codes_c VALUES ('c1', 'x'), ('c2', 'y'), ('c3', NULL);
        INSERT INTO codes_posix VALUES ('p1', 'x'), ('p2', 'z');
        CREATE TABLE booking_guests (booking_id text NOT NULL, employee_id text NOT NULL, PRIMARY KEY (booking_id, employee_id));
        INSERT INTO booking_guests VALUES ('b001', 'e1'), ('b002', 'e1'), ('b003', 'e2'), ('b004', 'e1'), ('b006', 'e3')
        """

    static let codesYAML = """
          CodeC:
            schema: SCHEMA
            table: codes_c
            objectId: { column: id, type: string }
            fields:
              code: { type: string }
          CodePosix:
            schema: SCHEMA
            table: codes_posix
            objectId: { column: id, type: string }
            fields:
              code: { type: string }
        """

    func logger(_ recorder: StatementRecorder) -> Logger {
        var logger = Logger(label: "pushdown-guards") { _ in recorder }
        logger.logLevel = .debug
        return logger
    }

    func ids(_ gw: Gateway, _ className: String, _ w: [String: JSONValue], caller: Caller = .master, logger: Logger) async throws -> [String] {
        let result = try await gw.find(className, try gw.parseFind(className, ["where": .object(w), "limit": .int(1000)]), caller: caller, logger: logger)
        return result.objects.compactMap(\.objectId).sorted()
    }

    @Test func textColumnsOfDifferentCollationsTakeTwoSteps() async throws {
        try await withPostgresFixture(setupSQL: Self.setupSQL) { fx in
            let recorder = StatementRecorder()
            let logger = logger(recorder)
            let pg = try await fx.connector(Self.codesYAML, name: "codes", logger: logger)
            let gw = Gateway(config: GatewayConfig(), connectors: [pg])
            let select: [String: JSONValue] = ["code": .object(["$select": .object([
                "query": .object(["className": .string("CodePosix"), "where": .object([:])]), "key": .string("code")])])]
            let dontSelect: [String: JSONValue] = ["code": .object(["$dontSelect": .object([
                "query": .object(["className": .string("CodePosix"), "where": .object([:])]), "key": .string("code")])])]
            // Before the fix: 42P22 "could not determine which collation to use", answered as a 500.
            #expect(try await ids(gw, "CodeC", select, logger: logger) == ["c1"])
            #expect(try await ids(gw, "CodeC", dontSelect, logger: logger) == ["c2", "c3"])
            #expect(!recorder.statements.contains { $0.contains("\"codes_c\"") && $0.contains("\"codes_posix\"") }, "never one statement")
            // The same collation on both sides (or the default on one) still joins.
            let c = try #require(pg.state.withLock { $0.tables?["CodeC"] }), p = try #require(pg.state.withLock { $0.tables?["CodePosix"] })
            #expect(c.info("code").collation == "C" && p.info("code").collation == "POSIX")
            #expect(!PostgresConnector.comparable(c.info("code"), p.info("code")))
            #expect(PostgresConnector.comparable(c.info("code"), c.info("code")))
            var byDefault = p.info("code")
            byDefault.collation = "default"
            #expect(PostgresConnector.comparable(c.info("code"), byDefault))
        }
    }

    /// A protected string inner key (same type as the outer field, so only the hidden-key guard refuses) and a
    /// protected outer field: neither is pushed for a caller it is hidden from, and the answers are the two-step ones.
    @Test func protectedInnerKeyAndOuterFieldTakeTwoSteps() async throws {
        try await withPostgresFixture(setupSQL: Self.setupSQL) { fx in
            let recorder = StatementRecorder()
            let logger = logger(recorder)
            let employee = PostgresSubqueryPushdownTests.employeeYAML.replacingOccurrences(of: "\"*\": [salary]", with: "\"*\": [salary, city]")
            let booking = PostgresSubqueryPushdownTests.bookingYAML + "\n    protectedFields:\n      \"*\": [city]"
            #expect(employee != PostgresSubqueryPushdownTests.employeeYAML)
            for (yaml, name) in [(employee + "\n" + PostgresSubqueryPushdownTests.bookingYAML, "inner"),
                                 (PostgresSubqueryPushdownTests.employeeYAML + "\n" + booking, "outer")] {
                let pg = try await fx.connector(yaml, name: "hr\(name)", logger: logger)
                let pushed = Gateway(config: GatewayConfig(), connectors: [pg])
                let twoStep = Gateway(config: GatewayConfig(), connectors: [CountingConnector(wrapping: pg, probe: SourceProbe())])
                for w: [String: JSONValue] in [["city": PostgresSubqueryPushdownTests.select("$select", ["name": .string("Ada")], key: "city")],
                                               ["city": PostgresSubqueryPushdownTests.select("$dontSelect", [:], key: "city")]] {
                    for caller in PostgresSubqueryPushdownTests.callers {
                        let params: [String: JSONValue] = ["where": .object(w), "limit": .int(100)]
                        let first = recorder.statements.count
                        let a = await findOutcome {
                            let r = try await pushed.find("Booking", try pushed.parseFind("Booking", params), caller: caller, logger: logger)
                            return (r.objects.compactMap(\.objectId), r.count)
                        }
                        let joined = recorder.statements[first...].contains { $0.contains("\"employees\"") && $0.contains("\"bookings\"") }
                        let b = await findOutcome {
                            let r = try await twoStep.find("Booking", try twoStep.parseFind("Booking", params), caller: caller, logger: logger)
                            return (r.objects.compactMap(\.objectId), r.count)
                        }
                        #expect(a == b, "\(name) \(caller.isMaster): \(a) vs \(b)")
                        #expect(joined == caller.isMaster, "\(name): pushed only for the master key")
                    }
                }
            }
        }
    }

    /// Employee and Booking in one connector, Booking with a `guests` relation to Employee; and a pointer to e1.
    static func withGuests(_ fx: PostgresFixture, logger: Logger) async throws -> (PostgresConnector, Gateway, JSONValue) {
        let booking = PostgresSubqueryPushdownTests.bookingYAML
            + "\n      guests: { type: relation, targetClass: Employee, joinTable: booking_guests, ownerColumn: booking_id, targetColumn: employee_id }"
        let pg = try await fx.connector(PostgresSubqueryPushdownTests.employeeYAML + "\n" + booking, name: "hr", logger: logger)
        let guest: JSONValue = .object(["__type": .string("Pointer"), "className": .string("Employee"), "objectId": .string("e1")])
        return (pg, Gateway(config: GatewayConfig(), connectors: [pg]), guest)
    }

    /// A relation-field condition beside a top-level `$inQuery` keeps the one-statement plan for the `$inQuery`.
    @Test func aRelationConditionBesideASubqueryKeepsThePushdown() async throws {
        try await withPostgresFixture(setupSQL: Self.setupSQL) { fx in
            let recorder = StatementRecorder()
            let logger = logger(recorder)
            let (_, gw, guest) = try await Self.withGuests(fx, logger: logger)
            let zurich = PostgresSubqueryPushdownTests.inQuery("$inQuery", ["city": .string("Zurich")])
            let withGuest = try await ids(gw, "Booking", ["guests": guest], logger: logger)
            let inZurich = try await ids(gw, "Booking", ["employee": zurich], logger: logger)
            for w: [String: JSONValue] in [["guests": guest, "employee": zurich],
                                           ["guests": guest, "employee": zurich, "$and": .array([.object(["room": .object(["$ne": .string("R9")])])])]] {
                let first = recorder.statements.count
                let both = try await ids(gw, "Booking", w, logger: logger)
                #expect(both == withGuest.filter(inZurich.contains) && !both.isEmpty, "\(both) \(withGuest) \(inZurich)")
                let joined = recorder.statements[first...].filter { $0.contains("\"employees\"") && $0.contains("\"bookings\"") }
                #expect(joined.count == 1, "the $inQuery in the outer statement: \(recorder.statements[first...])")
            }
        }
    }

    /// The join table's columns are read from the catalog once, not on every relation condition.
    @Test func theJoinTableIsIntrospectedOnce() async throws {
        try await withPostgresFixture(setupSQL: Self.setupSQL) { fx in
            let recorder = StatementRecorder()
            let logger = logger(recorder)
            let (pg, gw, guest) = try await Self.withGuests(fx, logger: logger)
            let before = pg.state.withLock { $0.joinTableIntrospections }
            for _ in 0..<3 { #expect(try await ids(gw, "Booking", ["guests": guest], logger: logger) == ["b001", "b002", "b004"]) }
            let introspections = pg.state.withLock { $0.joinTableIntrospections } - before
            #expect(introspections <= 1, "\(introspections) catalog reads of the join table for three reads")
            let known = pg.state.withLock { $0.joinTables }
            #expect(known.count == 1 && known.values.first?.columns.keys.sorted() == ["booking_id", "employee_id"], "\(known.keys)")
            // A restart reads the catalog again.
            try await pg.start(logger: logger)
            #expect(pg.state.withLock { $0.joinTables.isEmpty })
        }
    }
}

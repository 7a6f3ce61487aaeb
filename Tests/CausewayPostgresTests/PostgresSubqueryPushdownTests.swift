import CausewayCore
import CausewayTesting
@testable import CausewayPostgres
import Foundation
import Logging
import Synchronization
import Testing

/// Sub-queries pushed into one PostgreSQL statement (semi-joins, Gateway+SubqueryPushdown.swift): `Booking` and
/// `Employee` in one database (an ACL on Eve, a row rule hiding Basel from users without `role:HR`, a protected
/// salary, an employee without a city, bookings without an employee, with a missing one, without a city). Every answer
/// is compared with the two-step path of the same connector (wrapped, so the gateway cannot hand it sub-queries).
@Suite struct PostgresSubqueryPushdownTests {
    static let setupSQL = """
        CREATE TABLE employees (id text PRIMARY KEY, name text NOT NULL, city text, salary integer, manager_id text, acl jsonb);
        INSERT INTO employees VALUES
          ('e1', 'Ada', 'Zurich', 100, NULL, NULL), ('e2', 'Ben', 'Basel', 90, 'e1', NULL), ('e3', 'Cleo', 'Zurich', 80, 'e2', NULL),
          ('e4', 'Dan', 'Bern', 70, 'e5', NULL), ('e5', 'Eve', 'Bern', 60, 'e4', '{"u-boss":{"read":true}}'),
          ('e6', 'Fay', NULL, 50, 'e1', NULL);
        CREATE TABLE bookings (id text PRIMARY KEY, room text NOT NULL, city text, employee_id text);
        INSERT INTO bookings SELECT 'b' || lpad(i::text, 3, '0'), 'R' || i,
          CASE WHEN i % 7 = 0 THEN NULL WHEN i % 2 = 0 THEN 'Zurich' WHEN i % 3 = 0 THEN 'Basel' ELSE 'Bern' END,
          CASE WHEN i % 9 = 0 THEN NULL WHEN i % 11 = 0 THEN 'e404' ELSE 'e' || ((i - 1) % 6 + 1) END
        FROM generate_series(1, 60) AS i;
        CREATE INDEX ON bookings (city COLLATE "C")
        """

    static let employeeYAML = """
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
            rowLevel:
              read: { city: { $ne: "Basel" } }
              exempt: ["role:HR"]
        """
    static let bookingYAML = """
          Booking:
            schema: SCHEMA
            table: bookings
            objectId: { column: id, type: string }
            fields:
              room: { type: string }
              city: { type: string }
              employee: { type: pointer, targetClass: Employee, column: employee_id }
        """

    static let boss = Caller(user: .init(objectId: "u-boss", username: "boss"))
    static let hr = Caller(user: .init(objectId: "u-hr", username: "hr"), roles: ["HR"])
    static let callers: [Caller] = [.anonymous, boss, hr, .master]

    static func inQuery(_ op: String, _ w: [String: JSONValue]) -> JSONValue {
        .object([op: .object(["className": .string("Employee"), "where": .object(w)])])
    }
    static func select(_ op: String, _ w: [String: JSONValue], key: String) -> JSONValue {
        .object([op: .object(["query": .object(["className": .string("Employee"), "where": .object(w)]), "key": .string(key)])])
    }

    /// (where, whether it is pushed down)
    static let cases: [([String: JSONValue], Bool)] = [
        (["employee": inQuery("$inQuery", ["city": .string("Zurich")])], true),
        (["employee": inQuery("$notInQuery", ["city": .string("Zurich")])], true),
        (["employee": inQuery("$inQuery", [:])], true),
        (["employee": inQuery("$notInQuery", [:])], true),
        (["employee": inQuery("$inQuery", ["name": .object(["$regex": .string("^[A-C]")])])], true),
        (["city": select("$select", ["name": .string("Ada")], key: "city")], true),
        (["city": select("$dontSelect", ["name": .string("Ada")], key: "city")], true),
        (["city": select("$select", [:], key: "city")], true),                 // Fay's city is NULL
        (["city": select("$dontSelect", [:], key: "city")], true),
        (["city": select("$dontSelect", ["name": .string("Fay")], key: "city")], true),  // only a NULL: excludes nothing
        (["employee": select("$select", [:], key: "manager")], true),           // pointer to pointer
        (["employee": select("$dontSelect", [:], key: "manager")], true),
        (["employee": inQuery("$inQuery", ["city": .string("Zurich")]), "city": select("$dontSelect", ["name": .string("Dan")], key: "city"),
          "room": .object(["$ne": .string("R2")])], true),
        (["employee": inQuery("$inQuery", ["manager": inQuery("$inQuery", ["name": .string("Ada")])])], true),
        // Two steps: inside $or, a protected key.
        (["$or": .array([.object(["employee": inQuery("$inQuery", ["city": .string("Zurich")])]), .object(["room": .string("R2")])])], false),
        (["city": select("$select", [:], key: "salary")], false),
    ]

    func run(_ gw: Gateway, _ params: [String: JSONValue], caller: Caller, logger: Logger) async throws -> ([String], Int?) {
        let result = try await gw.find("Booking", try gw.parseFind("Booking", params), caller: caller, logger: logger)
        #expect(result.body == nil, "no cache is configured")
        return (result.objects.compactMap(\.objectId), result.count)
    }

    /// A find's object ids and count, or the error code it failed with (both paths must fail alike).
    func outcome(_ body: () async throws -> ([String], Int?)) async -> String { await findOutcome(body) }

    /// The SQL statements on the two tables since `from` (not the catalog's).
    func tableStatements(_ recorder: StatementRecorder, from: Int) -> [String] {
        recorder.statements[from...].filter { ($0.contains("\"bookings\"") || $0.contains("\"employees\"")) && !$0.contains("pg_catalog") }
    }

    @Test func pushedDownAnswersEqualTheTwoStepPathInOneStatement() async throws {
        try await withPostgresFixture(setupSQL: Self.setupSQL) { fx in
            let recorder = StatementRecorder()
            var logger = Logger(label: "pushdown") { _ in recorder }
            logger.logLevel = .debug
            // A low keyset threshold, so that `skip` pages by keyset (order by room, a NOT NULL column).
            let pg = try await fx.connector(Self.employeeYAML + "\n" + Self.bookingYAML, name: "hr", connectionExtra: "keysetSkipThreshold: 2",
                                            logger: logger)
            let pushed = Gateway(config: GatewayConfig(), connectors: [pg])
            let twoStep = Gateway(config: GatewayConfig(), connectors: [CountingConnector(wrapping: pg, probe: SourceProbe())])
            var compared = 0
            for (i, (w, isPushed)) in Self.cases.enumerated() {
                for caller in Self.callers {
                    for extra: [String: JSONValue] in [["limit": .int(100), "order": .string("-city,room")],
                                                       ["limit": .int(4), "skip": .int(3), "count": .int(1)], ["limit": .int(0), "count": .int(1)],
                                                       ["limit": .int(5), "skip": .int(3), "order": .string("room")]] {
                        let params = extra.merging(["where": .object(w)]) { a, _ in a }
                        let first = recorder.statements.count
                        let a = await outcome { try await run(pushed, params, caller: caller, logger: logger) }
                        let statements = tableStatements(recorder, from: first)
                        let b = await outcome { try await run(twoStep, params, caller: caller, logger: logger) }
                        #expect(a == b, "case \(i) as \(caller.user?.username ?? (caller.isMaster ? "master" : "anonymous")) \(extra): \(a) vs \(b)")
                        if isPushed {
                            let expected = extra["count"] != nil && extra["limit"] != .int(0) ? 2 : 1  // a page with a count: the page and the count
                            let joined = statements.filter { $0.contains("\"employees\"") && $0.contains("\"bookings\"") }
                            // The nested sub-query's inner find runs first, on its own (two steps).
                            var nested = 0
                            if case .object(let o)? = w["employee"], case .object(let q)? = o["$inQuery"], case .object(let inner)? = q["where"],
                               inner["manager"] != nil { nested = 1 }
                            #expect(joined.count == expected && statements.count == expected + nested, "case \(i): \(statements)")
                        } else {
                            #expect(statements.contains { $0.contains("\"employees\"") && !$0.contains("\"bookings\"") }, "case \(i): \(statements)")
                        }
                        compared += 1
                    }
                }
            }
            #expect(compared == Self.cases.count * 16)
            // Every statement form carried the semi-joins: plain, split (the NULL and non-NULL cities of "-city" with an index
            // on city) and keyset (skip past the threshold).
            let all = recorder.statements.filter { $0.contains("\"_cw_s0\"") }
            #expect(all.contains { $0.contains("_cw_part") }, "split")
            #expect(all.contains { $0.contains("\"_cw_b\"") }, "keyset: \(all.filter { $0.contains("\"room\" COLLATE") }.prefix(2))")
            #expect(all.contains { $0.hasPrefix("SELECT count(*)") })
            // Not trivially equal: the cases select different, non-empty sets.
            let zurich = try await run(pushed, ["where": .object(["employee": Self.inQuery("$inQuery", ["city": .string("Zurich")])]), "limit": .int(100)],
                                       caller: .anonymous, logger: logger)
            let visible = try await run(pushed, ["where": .object(["employee": Self.inQuery("$inQuery", [:])]), "limit": .int(100)], caller: .anonymous, logger: logger)
            let asBoss = try await run(pushed, ["where": .object(["employee": Self.inQuery("$inQuery", [:])]), "limit": .int(100)], caller: Self.boss, logger: logger)
            #expect(!zurich.0.isEmpty && zurich.0.count < visible.0.count && visible.0.count < asBoss.0.count, "\(zurich.0.count) \(visible.0.count) \(asBoss.0.count)")
        }
    }

    @Test func twoConnectorsOnOneDatabaseJoinAndOtherSourcesTakeTwoSteps() async throws {
        try await withPostgresFixture(setupSQL: Self.setupSQL) { fx in
            let recorder = StatementRecorder()
            var logger = Logger(label: "pushdown") { _ in recorder }
            logger.logLevel = .debug
            let bookings = try await fx.connector(Self.bookingYAML, name: "desk", logger: logger)
            let employees = try await fx.connector(Self.employeeYAML, name: "hr", logger: logger)
            let sameDatabase = Gateway(config: GatewayConfig(), connectors: [bookings, employees])
            // The same employees in memory: another source.
            var schema = employees.collections[0]
            schema.connectorName = "mem"
            let rows = try await employees.find(SourceQuery(), in: employees.collections[0], context: .system(logger))
            let memory = MemoryConnector(name: "mem", collections: [schema], rows: ["Employee": rows])
            let crossSource = Gateway(config: GatewayConfig(), connectors: [bookings, memory])
            for w in [["employee": Self.inQuery("$inQuery", ["city": .string("Zurich")])], ["city": Self.select("$dontSelect", ["name": .string("Ada")], key: "city")]] {
                let params: [String: JSONValue] = ["where": .object(w), "limit": .int(100)]
                let first = recorder.statements.count
                let a = try await run(sameDatabase, params, caller: .anonymous, logger: logger)
                let joined = tableStatements(recorder, from: first)
                let second = recorder.statements.count
                let b = try await run(crossSource, params, caller: .anonymous, logger: logger)
                let alone = tableStatements(recorder, from: second)
                #expect(a.0 == b.0 && !a.0.isEmpty)
                #expect(joined.count == 1 && joined[0].contains("\"employees\"") && joined[0].contains("\"bookings\""), "\(joined)")
                #expect(alone.count == 1 && !alone[0].contains("\"employees\""), "the outer find only, with a list: \(alone)")
            }
            // Another user on the same database is another set of rights: two steps.
            #expect(bookings.sharesDatabase(with: employees))
            var other = employees.settings
            other.user = "someone_else"
            let elsewhere = PostgresConnector(name: "x", settings: other, tables: [])
            #expect(!bookings.sharesDatabase(with: elsewhere))
        }
    }

    @Test func includeOnTopAndAConnectorWithoutInTakesTwoSteps() async throws {
        try await withPostgresFixture(setupSQL: Self.setupSQL) { fx in
            let recorder = StatementRecorder()
            var logger = Logger(label: "pushdown") { _ in recorder }
            logger.logLevel = .debug
            let pg = try await fx.connector(Self.employeeYAML + "\n" + Self.bookingYAML, name: "hr", logger: logger)
            let pushed = Gateway(config: GatewayConfig(), connectors: [pg])
            let twoStep = Gateway(config: GatewayConfig(), connectors: [CountingConnector(wrapping: pg, probe: SourceProbe())])
            let params: [String: JSONValue] = ["where": .object(["employee": Self.inQuery("$notInQuery", ["city": .string("Bern")])]),
                                               "include": .string("employee"), "limit": .int(100), "order": .string("-city,room")]
            func included(_ gw: Gateway) async throws -> [String] {
                try await gw.find("Booking", try gw.parseFind("Booking", params), caller: .anonymous, logger: logger).objects.map { o in
                    if case .object(let e)? = o.fields["employee"], case .string(let name)? = e["name"] { return o.objectId! + ":" + name }
                    return o.objectId! + ":-"
                }
            }
            let first = recorder.statements.count
            let a = try await included(pushed)
            let statements = tableStatements(recorder, from: first)
            #expect(a == (try await included(twoStep)) && a.contains { $0.hasSuffix(":Ada") })
            #expect(statements.count == 2 && statements[0].contains("NOT EXISTS") && !statements[1].contains("\"bookings\""),
                    "the bookings with their sub-query, then the employees they point to: \(statements)")
            // A connector declared without $in/$nin is not handed a sub-query either.
            var caps = PostgresConnector.fullCapabilities
            caps.filterOperators.subtract([.isIn, .notIn])
            let limited = try await fx.started(pg.withCapabilities(caps), logger: logger)
            let withoutIn = Gateway(config: GatewayConfig(), connectors: [limited])
            let second = recorder.statements.count
            let b = try await included(withoutIn)
            #expect(a == b)
            #expect(!tableStatements(recorder, from: second).contains { $0.contains("NOT EXISTS (SELECT 1 FROM") }, "two steps")
        }
    }

    /// Records the plans `X-Causeway-Explain` logs.
    struct PlanRecorder: LogHandler {
        final class Record: @unchecked Sendable {
            let lock = NSLock()
            var plans: [(sql: String, plan: String)] = []
        }
        let record = Record()
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .info
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String, file: String, function: String, line: UInt) {
            if case .string(let plan)? = metadata?["causeway.plan"], case .string(let sql)? = metadata?["causeway.sql"] {
                record.lock.withLock { record.plans.append((sql, plan)) }
            }
        }
    }

    @Test func explainShowsOneStatementWithASemiJoin() async throws {
        try await withPostgresFixture(setupSQL: Self.setupSQL) { fx in
            let pg = try await fx.connector(Self.employeeYAML + "\n" + Self.bookingYAML, name: "hr")
            let gw = Gateway(config: GatewayConfig(), connectors: [pg])
            let recorder = PlanRecorder()
            var logger = Logger(label: "explain") { _ in recorder }
            logger[metadataKey: ConnectorContext.explainMetadataKey] = "1"
            for (w, join) in [(["city": Self.select("$select", ["name": .string("Ada")], key: "city")], "Semi Join"),
                              (["employee": Self.inQuery("$notInQuery", ["city": .string("Zurich")])], "Anti Join"),
                              (["city": Self.select("$dontSelect", [:], key: "city")], "Anti Join")] {
                let before = recorder.record.lock.withLock { recorder.record.plans.count }
                _ = try await run(gw, ["where": .object(w), "limit": .int(100)], caller: .master, logger: logger)
                let plans = recorder.record.lock.withLock { Array(recorder.record.plans[before...]) }
                #expect(plans.count == 1, "one statement: \(plans.map(\.sql))")
                // Usually a semi- or anti-join; before autovacuum has analyzed the fresh tables PostgreSQL may also
                // pick a nested loop or a hashed sub-plan (seen once under load). What matters: one plan reads both tables.
                let plan = plans.first?.plan ?? ""
                #expect([join, "Nested Loop", "SubPlan"].contains(where: plan.contains) && plan.contains("employees")
                        && plan.contains("bookings"), "\(plans.first?.sql ?? "") \(plan)")
            }
            // $inQuery compares with the inner key, which is unique: PostgreSQL joins (a semi-join on a unique key
            // is an inner join); one plan over both tables, no second statement.
            let before = recorder.record.lock.withLock { recorder.record.plans.count }
            _ = try await run(gw, ["where": .object(["employee": Self.inQuery("$inQuery", ["city": .string("Zurich")])]), "limit": .int(100)],
                              caller: .master, logger: logger)
            let plans = recorder.record.lock.withLock { Array(recorder.record.plans[before...]) }
            #expect(plans.count == 1 && ["Join", "Nested Loop", "SubPlan"].contains(where: plans[0].plan.contains) && plans[0].plan.contains("employees")
                    && plans[0].plan.contains("bookings") && plans[0].sql.contains(" IN (SELECT "),
                    "\(plans.map(\.plan))")
        }
    }

    @Test func anOuterAndInnerTableThatAreOneTableStayApart() async throws {
        try await withPostgresFixture(setupSQL: Self.setupSQL) { fx in
            let pg = try await fx.connector(Self.employeeYAML + "\n" + Self.bookingYAML, name: "hr")
            let pushed = Gateway(config: GatewayConfig(), connectors: [pg])
            let twoStep = Gateway(config: GatewayConfig(), connectors: [CountingConnector(wrapping: pg, probe: SourceProbe())])
            let logger = Logger(label: "self")
            for op in ["$inQuery", "$notInQuery"] {
                let params: [String: JSONValue] = ["where": .object(["manager": Self.inQuery(op, ["city": .string("Zurich")])]), "limit": .int(100)]
                let a = try await pushed.find("Employee", try pushed.parseFind("Employee", params), caller: .master, logger: logger).objects.compactMap(\.objectId)
                let b = try await twoStep.find("Employee", try twoStep.parseFind("Employee", params), caller: .master, logger: logger).objects.compactMap(\.objectId)
                #expect(a == b && !a.isEmpty, "\(op): \(a) vs \(b)")
            }
        }
    }
}

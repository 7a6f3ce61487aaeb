@testable import CausewayCore
import CausewayTesting
import Logging
import Synchronization
import Testing

/// The planner's decision to hand sub-queries to the outer connector (Gateway+SubqueryPushdown.swift), with a test
/// double: one source serving `Booking`, `Employee` (an ACL on Eve, a row rule hiding Basel from users who are not
/// `role:HR`, a protected salary) and `Secret` (nobody may find it), which runs the semi-joins it is given itself. Every
/// answer is compared with the same gateway on the two-step path (the double's `canEmbed` refusing), so the inner
/// query must carry exactly the caller's permission filters.
@Suite struct SubqueryPushdownTests {
    static let logger = Logger(label: "test")

    /// One source that runs semi-joins: each becomes an `$in` / `$nin` list it works out from the inner filter it was
    /// handed (never from the gateway), then the outer find runs on the memory store.
    final class SemiJoinConnector: SubqueryPushdownConnector {
        let store: MemoryConnector
        let accept: Bool
        let received = Mutex<[SemiJoin]>([])
        /// The filters of the plain finds on each class (the two-step path's and nested sub-queries' finds).
        let finds = Mutex<[String: [QueryFilter?]]>([:])
        init(_ store: MemoryConnector, accept: Bool) { self.store = store; self.accept = accept }
        var name: String { store.name }
        var kind: String { "test" }
        var capabilities: ConnectorCapabilities { store.capabilities }
        var collections: [CollectionSchema] { store.collections }
        func find(_ query: SourceQuery, in collection: CollectionSchema, context: ConnectorContext) async throws -> [ParseObject] {
            finds.withLock { $0[collection.className, default: []].append(query.filter) }
            return try await store.find(query, in: collection, context: context)
        }
        func canEmbed(_ semiJoin: SemiJoin, outer: CollectionSchema) -> Bool { accept && semiJoin.innerConnector.name == name }

        func conditions(_ joins: [SemiJoin], _ context: ConnectorContext) async throws -> [QueryFilter] {
            received.withLock { $0 += joins }
            var out: [QueryFilter] = []
            for j in joins {
                let rows = try await store.find(SourceQuery(filter: j.filter), in: j.inner, context: .system(context.logger))
                let values: [ParseValue] = rows.compactMap { r in
                    if j.key == "objectId" { return r.objectId.map { .pointer(className: j.inner.className, objectId: $0) } }
                    return r.fields[j.key].flatMap { $0.isNull ? nil : $0 }
                }
                out.append(.field(j.field, j.negated ? .notIn(values) : .isIn(values)))
            }
            return out
        }
        func find(_ query: SourceQuery, semiJoins: [SemiJoin], in collection: CollectionSchema, context: ConnectorContext) async throws -> [ParseObject] {
            var q = query
            q.filter = QueryFilter.conjunction([query.filter].compactMap { $0 } + (try await conditions(semiJoins, context)))
            return try await store.find(q, in: collection, context: context)
        }
        func count(_ filter: QueryFilter?, semiJoins: [SemiJoin], in collection: CollectionSchema, context: ConnectorContext) async throws -> Int {
            let f = QueryFilter.conjunction([filter].compactMap { $0 } + (try await conditions(semiJoins, context)))
            return try await store.count(f, in: collection, context: context)
        }
    }

    /// `innerProtected` / `outerProtected`: the fields of Employee / Booking protected from every caller but the master key.
    static func gateway(accept: Bool, cached: Bool = false, innerProtected: Set<String> = ["salary"],
                        outerProtected: Set<String> = []) -> (Gateway, SemiJoinConnector) {
        var employee = FederationFixture.employeeSchema(connector: "db")
        employee.access.protectedFields = ["*": innerProtected]
        var booking = FederationFixture.bookingSchema(connector: "db")
        if !outerProtected.isEmpty { booking.access.protectedFields = ["*": outerProtected] }
        employee.access.readRule = .object(["city": .object(["$ne": .string("Basel")])])
        employee.access.exempt = ["role:HR"]
        var bookings = FederationFixture.bookings(count: 20)
        bookings[2].fields["employee"] = nil            // a booking without an employee
        bookings[3].fields["city"] = .null              // and one without a city
        let store = MemoryConnector(name: "db", collections: [booking, employee,
                                                              FederationFixture.secretSchema(connector: "db")],
                                    rows: ["Booking": bookings, "Employee": FederationFixture.employees(), "Secret": FederationFixture.secrets()])
        let connector = SemiJoinConnector(store, accept: accept)
        var policy = CachePolicy()
        policy.ttlMs = 3_600_000
        let caches = cached ? CacheSet(policies: ["db": policy], maxBytes: 1 << 24, metricsFactory: nil) : .none
        return (Gateway(config: GatewayConfig(), connectors: [connector], caches: caches), connector)
    }

    static let boss = Caller(user: .init(objectId: "u-boss", username: "boss"))
    static let hr = Caller(user: .init(objectId: "u-hr", username: "hr"), roles: ["HR"])

    /// The object ids (in order) and count of a find.
    func run(_ gw: Gateway, _ params: [String: JSONValue], caller: Caller) async throws -> ([String], Int?) {
        var result = try await gw.find("Booking", try gw.parseFind("Booking", params), caller: caller, logger: Self.logger)
        if let body = result.body { (result.objects, result.count) = try FindAnswerDecoder.decodeFind(body) }
        return (result.objects.compactMap(\.objectId), result.count)
    }

    /// A find's object ids and count, or the error code it failed with (both paths must fail alike).
    func outcome(_ body: () async throws -> ([String], Int?)) async -> String { await findOutcome(body) }

    static func inQuery(_ op: String, _ where_: [String: JSONValue]) -> JSONValue {
        .object([op: .object(["className": .string("Employee"), "where": .object(where_)])])
    }

    static func select(_ op: String, _ where_: [String: JSONValue], key: String) -> JSONValue {
        .object([op: .object(["query": .object(["className": .string("Employee"), "where": .object(where_)]), "key": .string(key)])])
    }

    /// (where, how many semi-joins the outer source should receive; -1: one for the master key, none for others)
    static let cases: [([String: JSONValue], Int)] = [
        (["employee": inQuery("$inQuery", ["city": .string("Zurich")])], 1),
        (["employee": inQuery("$notInQuery", ["city": .string("Zurich")])], 1),
        (["employee": inQuery("$inQuery", [:])], 1),                       // Eve by her ACL, Ben by the row rule
        (["employee": inQuery("$notInQuery", [:])], 1),
        (["city": select("$select", ["name": .string("Ada")], key: "city")], 1),
        (["city": select("$dontSelect", ["name": .string("Ada")], key: "city")], 1),
        (["city": select("$select", [:], key: "city")], 1),
        (["city": select("$dontSelect", [:], key: "city")], 1),
        // Two sub-queries and an ordinary condition.
        (["employee": inQuery("$inQuery", ["city": .object(["$in": .array([.string("Zurich"), .string("Bern")])])]),
          "city": select("$dontSelect", ["name": .string("Eve")], key: "city"), "room": .object(["$ne": .string("R1")])], 2),
        // Stays on the two-step path: inside $or, beside another operator on the field, a protected key or where.
        (["$or": .array([.object(["employee": inQuery("$inQuery", ["city": .string("Zurich")])]), .object(["room": .string("R2")])])], 0),
        (["employee": .object(["$inQuery": .object(["className": .string("Employee"), "where": .object(["city": .string("Bern")])]),
                               "$in": .array([.object(["__type": .string("Pointer"), "className": .string("Employee"), "objectId": .string("e1")])])])], 0),
        (["city": select("$select", [:], key: "salary")], 0),
        (["employee": inQuery("$inQuery", ["salary": .object(["$gt": .int(50)])])], -1),  // pushed for the master key only
        // A nested sub-query runs first (two steps), the outer one is pushed.
        (["employee": inQuery("$inQuery", ["manager": inQuery("$inQuery", ["name": .string("Ada")])])], 1),
    ]

    @Test(arguments: [Caller.anonymous, SubqueryPushdownTests.boss, SubqueryPushdownTests.hr, Caller.master])
    func pushedDownAnswersEqualTheTwoStepPath(caller: Caller) async throws {
        let (pushed, connector) = Self.gateway(accept: true)
        let (twoStep, refusing) = Self.gateway(accept: false)
        for (i, (where_, declared)) in Self.cases.enumerated() {
            let expected = declared >= 0 ? declared : (caller.isMaster ? 1 : 0)
            for extra: [String: JSONValue] in [["limit": .int(100), "order": .string("-room")], ["limit": .int(3), "skip": .int(2), "count": .int(1)],
                                               ["limit": .int(0), "count": .int(1)]] {
                let params = extra.merging(["where": .object(where_)]) { a, _ in a }
                let before = connector.received.withLock { $0.count }
                let a = await outcome { try await run(pushed, params, caller: caller) }
                let b = await outcome { try await run(twoStep, params, caller: caller) }
                #expect(a == b, "case \(i) \(extra): \(a) vs \(b)")
                let got = connector.received.withLock { $0.count } - before
                // A count alone and a page with a count each call the source twice at most (rows, count).
                #expect(expected == 0 ? got == 0 : got >= expected, "case \(i): \(got) semi-joins received")
            }
        }
        #expect(refusing.received.withLock { $0.isEmpty })
    }

    @Test func theInnerQueryCarriesTheCallersPermissions() async throws {
        let (gw, connector) = Self.gateway(accept: true)
        _ = try await run(gw, ["where": .object(["employee": Self.inQuery("$inQuery", ["city": .string("Zurich")])])], caller: .anonymous)
        let join = try #require(connector.received.withLock { $0.last })
        #expect(join.field == "employee" && join.key == "objectId" && !join.negated && join.inner.className == "Employee")
        let paths = join.filter?.fieldPaths ?? []
        #expect(paths == ["city", "ACL"], "the where, the row rule and the ACL: \(String(describing: join.filter))")
        // The master key: no permission filters.
        _ = try await run(gw, ["where": .object(["employee": Self.inQuery("$inQuery", ["city": .string("Zurich")])])], caller: .master)
        #expect(connector.received.withLock { $0.last?.filter } == .field("city", .equal(.string("Zurich"))))
    }

    @Test func aClassTheCallerMayNotFindIsRefusedAsOnTheTwoStepPath() async throws {
        let (gw, connector) = Self.gateway(accept: true)
        let secret: JSONValue = .object(["$inQuery": .object(["className": .string("Secret"), "where": .object([:])])])
        do {
            _ = try await run(gw, ["where": .object(["secret": secret])], caller: .anonymous)
            Issue.record("a sub-query on a class the caller may not find ran")
        } catch let error as GatewayError {
            #expect(error.code == .operationForbidden)
        }
        #expect(connector.received.withLock { $0.isEmpty })
        // The master key may: pushed.
        _ = try await run(gw, ["where": .object(["secret": secret])], caller: .master)
        #expect(connector.received.withLock { $0.count } == 1)
    }

    @Test func aCachedOuterClassKeepsTheTwoStepPath() async throws {
        let (gw, connector) = Self.gateway(accept: true, cached: true)
        let (twoStep, _) = Self.gateway(accept: false)
        let params: [String: JSONValue] = ["where": .object(["employee": Self.inQuery("$inQuery", ["city": .string("Zurich")])]), "limit": .int(100)]
        let a = try await run(gw, params, caller: .anonymous), b = try await run(twoStep, params, caller: .anonymous)
        #expect(a.0 == b.0 && !a.0.isEmpty)
        #expect(connector.received.withLock { $0.isEmpty }, "a cached answer is keyed by the inner values")
    }

    /// A protected string inner key (of the outer field's type, so that only the hidden-key guard refuses) and a
    /// protected outer field: not pushed for callers they are hidden from; the answers are the two-step path's.
    @Test(arguments: [Caller.anonymous, SubqueryPushdownTests.boss, SubqueryPushdownTests.hr, Caller.master])
    func protectedStringKeysAndOuterFieldsTakeTwoSteps(caller: Caller) async throws {
        for (inner, outer) in [(Set(["salary", "city"]), Set<String>()), (["salary"], ["city"])] {
            let (pushed, connector) = Self.gateway(accept: true, innerProtected: inner, outerProtected: outer)
            let (twoStep, _) = Self.gateway(accept: false, innerProtected: inner, outerProtected: outer)
            for w: [String: JSONValue] in [["city": Self.select("$select", ["name": .string("Ada")], key: "city")],
                                           ["city": Self.select("$dontSelect", [:], key: "city")]] {
                let params: [String: JSONValue] = ["where": .object(w), "limit": .int(100)]
                let before = connector.received.withLock { $0.count }
                let a = await outcome { try await run(pushed, params, caller: caller) }
                let b = await outcome { try await run(twoStep, params, caller: caller) }
                #expect(a == b, "\(inner) \(outer): \(a) vs \(b)")
                let got = connector.received.withLock { $0.count } - before
                #expect(got == (caller.isMaster ? 1 : 0), "\(inner) \(outer): \(got) semi-joins received")
            }
        }
    }

    /// A nested sub-query runs once: before a refusal (the outer source's or a protected field in the inner where),
    /// the two-step path does not run it again.
    @Test func aNestedSubqueryRunsOnceWhenThePushdownIsRefused() async throws {
        func nestedRuns(_ connector: SemiJoinConnector) -> Int {
            connector.finds.withLock { ($0["Employee"] ?? []).filter { String(describing: $0).contains("\"Ada\"") }.count }
        }
        // The outer source refuses every semi-join.
        let (refusing, r) = Self.gateway(accept: false)
        let nested: [String: JSONValue] = ["employee": Self.inQuery("$inQuery", ["manager": Self.inQuery("$inQuery", ["name": .string("Ada")])])]
        let answer = try await run(refusing, ["where": .object(nested), "limit": .int(100)], caller: .master)
        #expect(!answer.0.isEmpty)
        #expect(nestedRuns(r) == 1, "\(r.finds.withLock { $0 })")
        // Accepted by the source, refused after the nested sub-query ran (the inner where reads a protected field).
        let (gw, c) = Self.gateway(accept: true)
        let (twoStep, _) = Self.gateway(accept: false)
        let protected: [String: JSONValue] = ["employee": Self.inQuery("$inQuery", ["salary": .object(["$gt": .int(1)]),
                                                                                   "manager": Self.inQuery("$inQuery", ["name": .string("Ada")])])]
        let a = await outcome { try await run(gw, ["where": .object(protected), "limit": .int(100)], caller: .anonymous) }
        let b = await outcome { try await run(twoStep, ["where": .object(protected), "limit": .int(100)], caller: .anonymous) }
        #expect(a == b)
        #expect(c.received.withLock { $0.isEmpty })
        #expect(nestedRuns(c) == 1, "\(c.finds.withLock { $0 })")
    }
}

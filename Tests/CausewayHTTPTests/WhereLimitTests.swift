import CausewayCore
import CausewayHTTPTesting
import Testing

/// Huge or deeply nested `where` clauses are refused with a 102 naming the limit; the largest allowed
/// shapes still answer (no 500 from a source's own limits, such as SQLite's expression depth).
@Suite struct WhereLimitTests {
    static func or(_ n: Int) -> String {
        "{\"$or\":[" + (0..<n).map { "{\"floor\":\($0)}" }.joined(separator: ",") + "]}"
    }

    @Test func oversizedWhereClausesAreRefusedByName() async throws {
        try await ParseTestApp().run { c in
            let huge = try await c.find("Workstation", ["where": Self.or(10_000)])
            #expect(huge.status == 400 && huge.code == 102 && huge.errorMessage.contains("limits.maxWhereConditions"), "\(huge.text.prefix(200))")
            let hugeAnd = try await c.find("Workstation", ["where": "{\"$and\":[" + (0..<5000).map { "{\"floor\":{\"$ne\":\($0)}}" }.joined(separator: ",") + "]}"])
            #expect(hugeAnd.status == 400 && hugeAnd.code == 102, "\(hugeAnd.text.prefix(200))")
            var deep = "{\"floor\":1}"
            for _ in 0..<9 { deep = "{\"$or\":[\(deep),{\"floor\":2}]}" }
            let nested = try await c.find("Workstation", ["where": deep])
            #expect(nested.status == 400 && nested.code == 102 && nested.errorMessage.contains("limits.maxWhereDepth"), "\(nested.text.prefix(200))")
            let list = "{\"floor\":{\"$in\":[" + (0..<10_001).map(String.init).joined(separator: ",") + "]}}"
            let longList = try await c.find("Workstation", ["where": list])
            #expect(longList.status == 400 && longList.code == 102 && longList.errorMessage.contains("limits.maxWhereListValues"), "\(longList.text.prefix(200))")
        }
    }

    @Test func theLargestAllowedShapesStillAnswer() async throws {
        try await ParseTestApp().run { c in
            let wide = try await c.find("Workstation", ["where": Self.or(499), "order": "name"])
            #expect(wide.status == 200 && wide.ids() == ["Desk A", "Desk B", "Desk C", "Desk D"], "\(wide.text.prefix(200))")
            var deep = "{\"floor\":1}"
            for _ in 0..<8 { deep = "{\"$or\":[\(deep),{\"floor\":2}]}" }
            let nested = try await c.find("Workstation", ["where": deep, "order": "name"])
            #expect(nested.status == 200 && nested.ids() == ["Desk A", "Desk B", "Desk D"], "\(nested.text.prefix(200))")
            let list = "{\"floor\":{\"$in\":[" + (0..<10_000).map(String.init).joined(separator: ",") + "]}}"
            let longList = try await c.find("Workstation", ["where": list, "count": "1", "limit": "0"])
            #expect(longList.status == 200 && longList["count"] == .int(4), "\(longList.text.prefix(200))")
        }
    }
}

/// The embedded store evaluates `$regex` with the same bounded engine inside SQLite: a catastrophic pattern
/// answers 102 at once, and the gateway keeps answering.
@Suite struct SQLiteRegexBudgetTests {
    @Test func aCatastrophicRegexInSQLiteAnswers102() async throws {
        try await ParseTestApp().run { c in
            let evil = String(repeating: "a", count: 30) + "!"
            let created = try await c.request(.post, "/parse/classes/Workstation", #"{"name":"\#(evil)"}"#)
            #expect(created.status == 201)
            let r = try await c.find("Workstation", ["where": #"{"name":{"$regex":"(a+)+$"}}"#])
            #expect(r.status == 400 && r.code == 102 && r.errorMessage.contains("backtracking"), "\(r.text)")
            let ok = try await c.find("Workstation", ["where": #"{"name":{"$regex":"^Desk"}}"#])
            #expect(ok.status == 200 && ok.results.count == 4)
        }
    }

    /// Limits on request shapes beyond the where clause: skip (no overflow in any connector), the number of
    /// sub-queries one request may run, distinct include paths, and a where binding more values than SQLite
    /// takes in one statement: each a 102 naming what to change, never a 500.
    @Test func skipSubqueriesIncludePathsAndBoundValuesAreBounded() async throws {
        try await ParseTestApp().run { c in
            let deep = try await c.find("Workstation", ["order": "name", "skip": "9223372036854775807", "limit": "10"])
            #expect(deep.status == 400 && deep.code == 102 && deep.errorMessage.contains("limits.maxSkip"), "\(deep.text.prefix(200))")
            let allowed = try await c.find("Workstation", ["order": "name", "skip": "10000000", "limit": "10"])
            #expect(allowed.status == 200, "\(allowed.text.prefix(200))")

            func subqueries(_ n: Int) -> String {
                let branches: [String] = (0..<n).map { i in
                    "{\"name\":{\"$select\":{\"query\":{\"className\":\"Workstation\",\"where\":{\"floor\":\(i)}},\"key\":\"name\"}}}"
                }
                return "{\"$or\":[" + branches.joined(separator: ",") + "]}"
            }
            let many = try await c.find("Workstation", ["where": subqueries(11)])
            #expect(many.status == 400 && many.code == 102 && many.errorMessage.contains("limits.maxSubqueries"), "\(many.text.prefix(200))")
            let ten = try await c.find("Workstation", ["where": subqueries(10)])
            #expect(ten.status == 200, "\(ten.text.prefix(200))")

            let paths = (0...100).map { "field\($0)" }.joined(separator: ",")
            let wide = try await c.find("Workstation", ["include": paths])
            #expect(wide.status == 400 && wide.code == 102 && wide.errorMessage.contains("limits.maxIncludePaths"), "\(wide.text.prefix(200))")

            // Ten lists of 10,000 values each: allowed by the where limits, more bound values than SQLite's
            // default limit for one statement (32,766). Whether the bundled SQLite takes them or refuses them
            // (then 102, "too large"), the answer is never a 500.
            let values = (0..<10_000).map { "\"v\($0)\"" }.joined(separator: ",")
            let lists = "{\"$and\":[" + Array(repeating: "{\"name\":{\"$nin\":[" + values + "]}}", count: 10).joined(separator: ",") + "]}"
            let bound = try await c.find("Workstation", ["where": lists])
            #expect(bound.status == 200 || (bound.status == 400 && bound.code == 102 && bound.errorMessage.contains("too large")),
                    "\(bound.status) \(bound.text.prefix(200))")
        }
    }
}

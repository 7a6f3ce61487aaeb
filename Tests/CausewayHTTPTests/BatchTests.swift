import CausewayCore
import CausewayHTTPTesting
import Testing

@Suite struct BatchTests {
    @Test func runsSubRequestsInOrderAndReportsEachOutcome() async throws {
        try await ParseTestApp().run { c in
            let body = #"""
            {"requests":[
              {"method":"POST","path":"/parse/classes/Workstation","body":{"name":"Batch 1","floor":9}},
              {"method":"POST","path":"/classes/Workstation","body":{"floor":"nine"}},
              {"method":"GET","path":"/parse/classes/Workstation","body":{"where":{"floor":9}}},
              {"method":"GET","path":"/parse/classes/Workstation?where=%7B%22floor%22%3A9%7D&count=1"},
              {"method":"DELETE","path":"/parse/classes/Workstation/doesnotexist"}
            ]}
            """#
            let r = try await c.request(.post, "/parse/batch", body)
            #expect(r.status == 200)
            let items = try #require(r.json?.arrayValue)
            #expect(items.count == 5)
            #expect(items[0]["success"]?["objectId"]?.stringValue?.count == 10)
            #expect(items[1]["error"]?["code"] == .int(111))
            #expect(items[2]["success"]?["results"]?.arrayValue?.count == 1)
            #expect(items[3]["success"]?["count"] == .int(1))
            #expect(items[4]["error"] == .object(["code": .int(101), "error": .string("Object not found.")]))
        }
    }

    @Test func rejectsMalformedBatches() async throws {
        try await ParseTestApp().run { c in
            let notArray = try await c.request(.post, "/parse/batch", #"{"requests":{}}"#)
            #expect(notArray.status == 400 && notArray.code == 107 && notArray.errorMessage == "requests must be an array")
            let tooMany = try await c.request(.post, "/parse/batch", #"{"requests":[\#(Array(repeating: #"{"method":"GET","path":"/classes/Workstation"}"#, count: 6).joined(separator: ","))]}"#)
            #expect(tooMany.code == 107 && tooMany.errorMessage.contains("at most 5"))
            let badPath = try await c.request(.post, "/parse/batch", #"{"requests":[{"method":"POST","path":"/parse/classes/Workstation","body":{"name":"never"}},{"method":"GET","path":"/other/thing"}]}"#)
            #expect(badPath.code == 107 && badPath.errorMessage == "cannot route batch path /other/thing")
            let nested = try await c.request(.post, "/parse/batch", #"{"requests":[{"method":"POST","path":"/parse/batch","body":{}}]}"#)
            #expect(nested.code == 107)
            let badInTransaction = try await c.request(.post, "/parse/batch", #"{"requests":[{"method":"POST","path":"/classes/Workstation","body":{"name":"never"}},{"method":"GET","path":"/other/thing"}],"transaction":true}"#)
            #expect(badInTransaction.code == 107, "\(badInTransaction.text)")
            let count = try await c.find("Workstation", ["where": #"{"name":"never"}"#, "count": "1", "limit": "0"])
            #expect(count["count"] == .int(0), "a batch with a routing error runs nothing")
        }
    }

    /// The embedded store runs `"transaction": true` batches in one write transaction: all commit, or the first
    /// error is the answer and nothing is changed.
    @Test func transactionalBatchOnTheEmbeddedStore() async throws {
        try await ParseTestApp().run { c in
            let ok = try await c.request(.post, "/parse/batch", #"{"transaction":true,"requests":[{"method":"POST","path":"/classes/Workstation","body":{"name":"tx 1","floor":77}},{"method":"POST","path":"/classes/Workstation","body":{"name":"tx 2","floor":77}}]}"#)
            #expect(ok.status == 200 && ok.json?.arrayValue?.count == 2, "\(ok.text)")
            let failed = try await c.request(.post, "/parse/batch", #"{"transaction":true,"requests":[{"method":"POST","path":"/classes/Workstation","body":{"name":"tx 3","floor":77}},{"method":"POST","path":"/classes/Workstation","body":{"floor":"seven"}}]}"#)
            #expect(failed.code == 111, "the failing request's error is the answer: \(failed.text)")
            let count = try await c.find("Workstation", ["where": #"{"floor":77}"#, "count": "1", "limit": "0"])
            #expect(count["count"] == .int(2), "the first batch committed, the second changed nothing: \(count.text)")
        }
    }
}

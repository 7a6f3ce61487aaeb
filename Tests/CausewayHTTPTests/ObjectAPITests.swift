import CausewayCore
import CausewayHTTPTesting
import Testing

@Suite struct ObjectAPITests {
    @Test func healthAnswersAnyMethodWithoutKeys() async throws {
        try await ParseTestApp().run { c in
            for method: HTTPRequest.Method in [.get, .post] {
                for path in ["/parse/health", "/health"] {
                    let r = try await c.request(method, path, headers: [:])
                    #expect(r.status == 200 && r.text == #"{"status":"ok"}"#)
                }
            }
        }
    }

    @Test func createGetUpdateDeleteRoundTrip() async throws {
        try await ParseTestApp().run { c in
            let created = try await c.request(.post, "/parse/classes/Workstation", #"{"name":"Desk Z","floor":7,"occupied":false,"createdAt":"1999-01-01T00:00:00Z","lastCleaned":{"__type":"Date","iso":"2026-01-02T03:04:05.678Z"}}"#)
            #expect(created.status == 201)
            let id = try #require(created["objectId"]?.stringValue)
            #expect(id.count == 10)
            #expect(created.headers[.location] == "http://127.0.0.1:1337/parse/classes/Workstation/\(id)")
            let createdAt = try #require(created["createdAt"]?.stringValue)
            #expect(!createdAt.hasPrefix("1999"), "client-supplied createdAt is ignored")
            #expect(created.json?.objectValue?.keys.sorted() == ["createdAt", "objectId"])

            let fetched = try await c.get("/parse/classes/Workstation/\(id)")
            #expect(fetched.status == 200)
            #expect(fetched["name"] == .string("Desk Z") && fetched["floor"] == .int(7) && fetched["occupied"] == .bool(false))
            #expect(fetched["lastCleaned"] == .object(["__type": .string("Date"), "iso": .string("2026-01-02T03:04:05.678Z")]))
            #expect(fetched["createdAt"] == .string(createdAt) && fetched["updatedAt"] == .string(createdAt))
            #expect(fetched["office"] == nil, "absent fields are omitted")

            let updated = try await c.request(.put, "/parse/classes/Workstation/\(id)", #"{"floor":{"__op":"Increment","amount":3},"tags":{"__op":"AddUnique","objects":["a","b","a"]},"office":"Harbour"}"#)
            #expect(updated.status == 200)
            #expect(updated["floor"] == .int(10) && updated["tags"] == .array([.string("a"), .string("b")]))
            #expect(updated["office"] == nil, "plain fields are not echoed")
            #expect(updated["updatedAt"]?.stringValue != nil)

            let keys = try await c.get("/parse/classes/Workstation/\(id)?keys=floor")
            #expect(keys.json?.objectValue?.keys.sorted() == ["createdAt", "floor", "objectId", "updatedAt"])

            let deleted = try await c.request(.delete, "/parse/classes/Workstation/\(id)")
            #expect(deleted.status == 200 && deleted.text == "{}")
            let gone = try await c.get("/parse/classes/Workstation/\(id)")
            #expect(gone.status == 404 && gone.code == 101 && gone.errorMessage == "Object not found.")
            let again = try await c.request(.delete, "/parse/classes/Workstation/\(id)")
            #expect(again.status == 404 && again.code == 101)
            let putMissing = try await c.request(.put, "/parse/classes/Workstation/\(id)", #"{"floor":1}"#)
            #expect(putMissing.status == 404 && putMissing.code == 101)
        }
    }

    @Test func findWithEveryParameter() async throws {
        try await ParseTestApp().run { c in
            let vacantNearby = try await c.find("Workstation", [
                "where": #"{"occupied":false,"location":{"$nearSphere":{"__type":"GeoPoint","latitude":47.367,"longitude":8.54},"$maxDistanceInMiles":5}}"#,
            ])
            #expect(vacantNearby.status == 200)
            #expect(vacantNearby.ids() == ["Desk A", "Desk C"], "nearest first, Basel is too far, Desk B is occupied")

            let ordered = try await c.find("Workstation", ["order": "-floor,name", "keys": "name,floor", "limit": "2", "skip": "1", "count": "1"])
            #expect(ordered.ids() == ["Desk B", "Desk A"])
            #expect(ordered["count"] == .int(4))
            #expect(ordered.results.allSatisfy { $0.objectValue?.keys.contains("office") == false })

            let countOnly = try await c.find("Workstation", ["where": #"{"office":"Harbour"}"#, "count": "true", "limit": "0"])
            #expect(countOnly.results.isEmpty && countOnly["count"] == .int(2))

            let arrays = try await c.find("Workstation", ["where": #"{"tags":"monitor"}"#])
            #expect(arrays.ids() == ["Desk B"])
            let regex = try await c.find("Workstation", ["where": #"{"name":{"$regex":"^desk [ab]$","$options":"i"}}"#, "order": "name"])
            #expect(regex.ids() == ["Desk A", "Desk B"])
            let or = try await c.find("Workstation", ["where": #"{"$or":[{"floor":{"$gte":3}},{"office":"Basel"}]}"#, "order": "name"])
            #expect(or.ids() == ["Desk C", "Desk D"])
            let box = try await c.find("Workstation", ["where": #"{"location":{"$within":{"$box":[{"__type":"GeoPoint","latitude":47.3,"longitude":8.5},{"__type":"GeoPoint","latitude":47.4,"longitude":8.6}]}}}"#, "order": "name"])
            #expect(box.ids() == ["Desk A", "Desk B"])
            let exclude = try await c.find("Workstation", ["excludeKeys": "location,tags", "limit": "1", "order": "name"])
            #expect(exclude.results.first?["location"] == nil && exclude.results.first?["name"] == .string("Desk A"))
            let keysArray = try await c.find("Workstation", ["keys": #"["name"]"#, "order": #"["-name"]"#, "limit": "1"])
            #expect(keysArray.ids() == ["Desk D"] && keysArray.results.first?["floor"] == nil)
        }
    }

    @Test func javascriptSDKPostsQueriesAsTextPlainWithBodyCredentials() async throws {
        try await ParseTestApp().run { c in
            let body = #"{"where":{"office":"Harbour"},"order":"name","limit":1,"count":1,"_method":"GET","_ApplicationId":"test-app","_ClientVersion":"js5.3.0","_InstallationId":"abc"}"#
            let r = try await c.request(.post, "/parse/classes/Workstation", body, headers: ["Content-Type": "text/plain"])
            #expect(r.status == 200)
            #expect(r.ids() == ["Desk A"] && r["count"] == .int(2))
            let del = try await c.request(.post, "/parse/classes/Workstation/nope", #"{"_method":"DELETE","_ApplicationId":"test-app"}"#, headers: ["Content-Type": "text/plain"])
            #expect(del.status == 404 && del.code == 101)
            let put = try await c.request(.post, "/parse/classes/Workstation/nope", #"{"_method":"PUT","_ApplicationId":"test-app","floor":3}"#, headers: ["Content-Type": "text/plain"])
            #expect(put.status == 404 && put.code == 101)
        }
    }

    @Test func plusIsASpaceInQueryStrings() async throws {
        try await ParseTestApp().run { c in
            let r = try await c.get(#"/parse/classes/Workstation?where=%7B%22name%22%3A%22Desk+A%22%7D"#)
            #expect(r.status == 200 && r.ids() == ["Desk A"])
            let withBody = try await c.request(.get, "/parse/classes/Workstation?limit=1", "", headers: ParseClient.standardHeaders)
            #expect(withBody.status == 200, "Content-Type with an empty GET body is fine")
        }
    }

    @Test func corsAndPreflight() async throws {
        try await ParseTestApp().run { c in
            let pre = try await c.request(.options, "/parse/classes/Workstation", headers: [:])
            #expect(pre.status == 200)
            #expect(pre.headers[.accessControlAllowOrigin] == "*")
            #expect(pre.headers[.accessControlAllowHeaders]?.contains("X-Parse-Application-Id") == true)
            let get = try await c.find("Workstation", ["limit": "1"])
            #expect(get.headers[.accessControlAllowOrigin] == "*")
            #expect(get.headers[.contentType] == "application/json; charset=utf-8")
        }
    }

    @Test func serverInfoRequiresTheMasterKey() async throws {
        try await ParseTestApp().run { c in
            let denied = try await c.get("/parse/serverInfo")
            #expect(denied.status == 403 && denied.text == #"{"error":"unauthorized: master key is required"}"#)
            let info = try await c.get("/parse/serverInfo", headers: ParseClient.masterHeaders)
            #expect(info.status == 200 && info["parseServerVersion"] != nil)
        }
    }
}

import HTTPTypes

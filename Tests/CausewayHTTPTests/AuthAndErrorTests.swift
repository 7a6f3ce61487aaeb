import CausewayCore
import CausewayHTTPTesting
import HTTPTypes
import Testing

@Suite struct AuthenticationTests {
    @Test func applicationIdIsRequired() async throws {
        try await ParseTestApp().run { c in
            let missing = try await c.get("/parse/classes/Workstation", headers: [:])
            #expect(missing.status == 403 && missing.text == #"{"error":"unauthorized"}"#)
            let wrong = try await c.get("/parse/classes/Workstation", headers: ["X-Parse-Application-Id": "other"])
            #expect(wrong.status == 403 && wrong.text == #"{"error":"unauthorized"}"#)
            let bodyOnly = try await c.request(.post, "/parse/classes/Workstation", #"{"_method":"GET","_ApplicationId":"other"}"#, headers: [:])
            #expect(bodyOnly.status == 403)
        }
    }

    @Test func clientKeysAreEnforcedWhenConfigured() async throws {
        try await ParseTestApp(environment: ["REST_KEY": "rest-key-1"]).run { c in
            let noKey = try await c.get("/parse/classes/Workstation")
            #expect(noKey.status == 403 && noKey.text == #"{"error":"unauthorized"}"#)
            let wrongKey = try await c.get("/parse/classes/Workstation", headers: ParseClient.standardHeaders.merging(["X-Parse-REST-API-Key": "nope"]) { $1 })
            #expect(wrongKey.status == 403)
            let otherKind = try await c.get("/parse/classes/Workstation", headers: ParseClient.standardHeaders.merging(["X-Parse-Client-Key": "rest-key-1"]) { $1 })
            #expect(otherKind.status == 403, "a key only counts for its own kind")
            let ok = try await c.get("/parse/classes/Workstation", headers: ParseClient.standardHeaders.merging(["X-Parse-REST-API-Key": "rest-key-1"]) { $1 })
            #expect(ok.status == 200)
            let master = try await c.get("/parse/classes/Workstation", headers: ParseClient.masterHeaders)
            #expect(master.status == 200, "the master key bypasses client keys")
            let wrongMaster = try await c.get("/parse/classes/Workstation", headers: ParseClient.standardHeaders.merging(["X-Parse-Master-Key": "guess"]) { $1 })
            #expect(wrongMaster.status == 403)
        }
    }

    @Test func sessionTokensAreRejectedWithCode209() async throws {
        try await ParseTestApp().run { c in
            let r = try await c.get("/parse/classes/Workstation", headers: ParseClient.standardHeaders.merging(["X-Parse-Session-Token": "r:abc"]) { $1 })
            #expect(r.status == 400 && r.code == 209 && r.errorMessage == "Invalid session token")
            let body = try await c.request(.post, "/parse/classes/Workstation", #"{"_method":"GET","_ApplicationId":"test-app","_SessionToken":"r:abc"}"#, headers: [:])
            #expect(body.code == 209)
        }
    }

    @Test func classLevelPermissionsAndReadOnlyClasses() async throws {
        try await ParseTestApp().run { c in
            let find = try await c.find("Private", [:])
            #expect(find.status == 400 && find.code == 119)
            let create = try await c.request(.post, "/parse/classes/Private", #"{"secret":"x"}"#)
            #expect(create.code == 119)
            let masterCreate = try await c.request(.post, "/parse/classes/Private", #"{"secret":"x"}"#, headers: ParseClient.masterHeaders)
            #expect(masterCreate.status == 201, "the master key bypasses class-level permissions")
            let masterFind = try await c.find("Private", [:], headers: ParseClient.masterHeaders)
            #expect(masterFind.results.count == 1)
            let readOnly = try await c.request(.post, "/parse/classes/Locked", #"{"label":"x"}"#, headers: ParseClient.masterHeaders)
            #expect(readOnly.status == 400 && readOnly.code == 119 && readOnly.errorMessage.contains("read-only"))
            let readOnlyField = try await c.request(.post, "/parse/classes/Workstation", #"{"serial":"x"}"#)
            #expect(readOnlyField.code == 119 && readOnlyField.errorMessage.contains("Workstation.serial is read-only"))
        }
    }
}

@Suite struct BadInputTests {
    @Test func malformedJSONBodies() async throws {
        try await ParseTestApp().run { c in
            for body in ["{", #"{"name":}"#, "[1,2", "nul", #"{"a":"\x"}"#] {
                let r = try await c.request(.post, "/parse/classes/Workstation", body)
                #expect(r.status == 400 && r.code == 107, "\(body): \(r.text)")
                #expect(r.errorMessage.hasPrefix("Invalid JSON"))
            }
            let notObject = try await c.request(.post, "/parse/classes/Workstation", "[1,2]")
            #expect(notObject.code == 107 && notObject.errorMessage.contains("must be a JSON object"))
            let count = try await c.find("Workstation", ["count": "1", "limit": "0"])
            #expect(count["count"] == .int(4), "nothing was written by the bad requests")
        }
    }

    @Test func oversizedBodiesAreRefused() async throws {
        try await ParseTestApp().run { c in
            let big = #"{"name":""# + String(repeating: "x", count: 5000) + #""}"#
            let r = try await c.request(.post, "/parse/classes/Workstation", big)
            #expect(r.status == 413 && r.code == 116 && r.errorMessage.contains("4096 bytes"))
        }
    }

    @Test func queryErrors() async throws {
        try await ParseTestApp().run { c in
            let cases: [([String: String], Int64, String)] = [
                (["where": #"{"floor":{"$foo":1}}"#], 102, "Invalid query operator: $foo"),
                (["where": "{not json"], 107, "where is not valid JSON"),
                (["where": #"{"bad-key":1}"#], 105, "Invalid key name: bad-key"),
                (["where": #"{"floor":"high"}"#], 102, "expected Number but got String"),
                (["where": #"{"unknown":1}"#], 102, "has no field 'unknown'"),
                (["where": #"{"name":{"$regex":"x","$options":"z"}}"#], 102, "Invalid $options"),
                (["where": #"{"$or":"x"}"#], 102, "$or must be a non-empty array"),
                (["bogus": "1"], 102, "Invalid parameter for query: bogus"),
                (["limit": "-5"], 102, "Invalid limit"),
                (["order": "nope"], 102, "Cannot sort by 'nope'"),
            ]
            for (params, code, fragment) in cases {
                let r = try await c.find("Workstation", params)
                #expect(r.status == 400 && r.code == code, "\(params): \(r.text)")
                #expect(r.errorMessage.contains(fragment), "\(params): \(r.text)")
            }
            let getParam = try await c.get("/parse/classes/Workstation/abc?foo=1")
            #expect(getParam.status == 400 && getParam.code == 102 && getParam.errorMessage == "Improper encode of parameter")
            let badEscape = try await c.get("/parse/classes/Workstation?where=%ZZ")
            #expect(badEscape.code == 102)
        }
    }

    @Test func classAndFieldErrors() async throws {
        try await ParseTestApp().run { c in
            let invalidClass = try await c.find("Bad-Class", [:])
            #expect(invalidClass.status == 400 && invalidClass.code == 103 && invalidClass.errorMessage.hasPrefix("Invalid classname: Bad-Class"))
            let unknownClass = try await c.find("Nowhere", [:])
            #expect(unknownClass.code == 103 && unknownClass.errorMessage.contains("not served"))
            let cases: [(String, Int64, String)] = [
                (#"{"objectId":"x"}"#, 105, "objectId is an invalid field name."),
                (#"{"id":"x"}"#, 105, "id is an invalid field name."),
                (#"{"bad field":1}"#, 105, "Invalid field name: bad field."),
                (#"{"nosuch":1}"#, 105, "has no field 'nosuch'"),
                (#"{"floor":"two"}"#, 111, "schema mismatch for Workstation.floor; expected Number but got String"),
                (#"{"occupied":1}"#, 111, "expected Boolean but got Number"),
                (#"{"location":{"__type":"GeoPoint","latitude":123,"longitude":0}}"#, 111, "latitude out of bounds"),
                (#"{"lastCleaned":{"__type":"Date","iso":"soon"}}"#, 111, "Invalid Date"),
                (#"{"name":{"__op":"Increment","amount":1}}"#, 111, "Cannot increment Workstation.name"),
                (#"{"floor":{"__op":"Increment","amount":"1"}}"#, 111, "must be a number"),
                (#"{"floor":{"__op":"Add","objects":[1]}}"#, 111, "Cannot apply Add"),
                (#"{"tags":{"__op":"Frobnicate"}}"#, 107, "Unknown __op 'Frobnicate'"),
                (#"{"tags":{"__op":"AddRelation","objects":[]}}"#, 119, "not supported"),
                (#"{"tags":[{"a$b":1}]}"#, 121, "Nested keys should not contain"),
                (#"{"ACL":{"*":{"read":true}}}"#, 123, "does not store ACLs"),
            ]
            for (body, code, fragment) in cases {
                let r = try await c.request(.post, "/parse/classes/Workstation", body)
                #expect(r.status == 400 && r.code == code, "\(body): \(r.text)")
                #expect(r.errorMessage.contains(fragment), "\(body): \(r.text)")
            }
            let count = try await c.find("Workstation", ["count": "1", "limit": "0"])
            #expect(count["count"] == .int(4), "no rejected write stored anything")
        }
    }

    @Test func unknownEndpointsAndMethods() async throws {
        try await ParseTestApp().run { c in
            let unknown = try await c.get("/parse/nothing/here")
            #expect(unknown.status == 404 && unknown.code == 108)
            let outside = try await c.get("/elsewhere")
            #expect(outside.status == 404 && outside.code == 108)
            let method = try await c.request(.patch, "/parse/classes/Workstation")
            #expect(method.status == 405 && method.code == 108)
            let users = try await c.get("/parse/users/me")
            #expect(users.status == 400 && users.code == 108)
        }
    }
}

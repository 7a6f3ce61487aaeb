import CausewayCore
import CausewayHTTPTesting
import Foundation
import Testing

/// `type: relation` fields through the Parse REST dialect, as the SDKs use them: `AddRelation` /
/// `RemoveRelation` in creates and updates, `$relatedTo` finds, and the field's `{"__type":"Relation"}` form.
@Suite struct RelationAPITests {
    static let connectors = """
    kind: sqlite
    connection:
      path: org.sqlite
    collections:
      Team:
        table: teams
        fields:
          name: { type: string }
          members: { type: relation, targetClass: Employee, joinTable: team_members, ownerColumn: team_id, targetColumn: employee_id }
      Employee:
        table: employees
        fields:
          name: { type: string }
    """

    static let master = ParseClient.masterHeaders

    func pointer(_ id: String) -> String { #"{"__type":"Pointer","className":"Employee","objectId":"\#(id)"}"# }

    func create(_ c: ParseClient, _ className: String, _ body: String) async throws -> String {
        let r = try await c.request(.post, "/parse/classes/\(className)", body, headers: Self.master)
        #expect(r.status == 201, "\(className): \(r.text)")
        return r["objectId"]?.stringValue ?? ""
    }

    func members(_ c: ParseClient, _ team: String) async throws -> [String] {
        let w = #"{"$relatedTo":{"object":{"__type":"Pointer","className":"Team","objectId":"\#(team)"},"key":"members"}}"#
        let found = try await c.find("Employee", ["where": w, "order": "name"])
        #expect(found.status == 200, "\(found.text)")
        return found.results.compactMap { $0["name"]?.stringValue }
    }

    @Test func relationOperationsQueriesAndShape() async throws {
        try await ParseTestApp(connectors: Self.connectors).run { c in
            let ada = try await create(c, "Employee", #"{"name":"Ada"}"#)
            let ben = try await create(c, "Employee", #"{"name":"Ben"}"#)
            let team = try await create(c, "Team", #"{"name":"Ops","members":{"__op":"AddRelation","objects":[\#(pointer(ada))]}}"#)
            #expect(try await members(c, team) == ["Ada"])

            let add = try await c.request(.put, "/parse/classes/Team/\(team)", #"{"members":{"__op":"AddRelation","objects":[\#(pointer(ada)),\#(pointer(ben))]}}"#)
            #expect(add.status == 200, "\(add.text)")
            #expect(try await members(c, team) == ["Ada", "Ben"])
            let remove = try await c.request(.put, "/parse/classes/Team/\(team)", #"{"members":{"__op":"RemoveRelation","objects":[\#(pointer(ada))]}}"#)
            #expect(remove.status == 200, "\(remove.text)")
            #expect(try await members(c, team) == ["Ben"])

            let got = try await c.get("/parse/classes/Team/\(team)")
            #expect(got["members"]?["__type"]?.stringValue == "Relation" && got["members"]?["className"]?.stringValue == "Employee", "\(got.text)")
            #expect(got["members"]?["objectId"] == nil && got["members"]?["objects"] == nil, "the ids are never in the object")
            let listed = try await c.find("Team", [:])
            #expect(listed.results.first?["members"]?["__type"]?.stringValue == "Relation", "\(listed.text)")

            // The JS SDK sends a Batch when one save both adds and removes.
            let batch = try await c.request(.put, "/parse/classes/Team/\(team)", #"{"members":{"__op":"Batch","ops":[{"__op":"AddRelation","objects":[\#(pointer(ada))]},{"__op":"RemoveRelation","objects":[\#(pointer(ben))]}]}}"#)
            #expect(batch.status == 200, "\(batch.text)")
            #expect(try await members(c, team) == ["Ada"])
            // The SDKs' equalTo(relationKey, object): owners by their relation field.
            let byMember = try await c.find("Team", ["where": #"{"members":\#(pointer(ada))}"#])
            #expect(byMember.status == 200 && byMember.results.compactMap { $0["objectId"]?.stringValue } == [team], "\(byMember.text)")
            let notByMember = try await c.find("Team", ["where": #"{"members":{"$ne":\#(pointer(ada))}}"#])
            #expect(notByMember.status == 200 && notByMember.results.isEmpty, "\(notByMember.text)")
            let delete = try await c.request(.put, "/parse/classes/Team/\(team)", #"{"members":{"__op":"Delete"}}"#)
            #expect(delete.status == 400 && delete.code == 119, "\(delete.text)")

            let projected = try await c.find("Team", ["keys": "members"])
            #expect(projected.results.first?["members"]?["__type"]?.stringValue == "Relation" && projected.results.first?["name"] == nil, "\(projected.text)")
            let onlyName = try await c.get("/parse/classes/Team/\(team)?keys=name")
            #expect(onlyName["members"] == nil && onlyName["name"]?.stringValue == "Ops", "\(onlyName.text)")
            let onlyMembers = try await c.get("/parse/classes/Team/\(team)?keys=members")
            #expect(onlyMembers["members"]?["className"]?.stringValue == "Employee" && onlyMembers["name"] == nil, "\(onlyMembers.text)")

            let schema = try await c.request(.get, "/parse/schemas/Team", headers: Self.master)
            #expect(schema["fields"]?["members"] == .object(["type": .string("Relation"), "targetClass": .string("Employee")]), "\(schema.text)")

            let wrong = try await c.request(.put, "/parse/classes/Team/\(team)", #"{"members":{"__op":"AddRelation","objects":[{"__type":"Pointer","className":"Team","objectId":"\#(team)"}]}}"#)
            #expect(wrong.status == 400 && wrong.code == 111, "\(wrong.text)")
        }
    }

    /// `AddRelation` / `RemoveRelation` in a `"transaction": true` batch: committed with the rest, or rolled back
    /// with it when a later request fails.
    @Test func relationChangesInTransactionalBatches() async throws {
        try await ParseTestApp(connectors: Self.connectors).run { c in
            let ada = try await create(c, "Employee", #"{"name":"Ada"}"#)
            let ben = try await create(c, "Employee", #"{"name":"Ben"}"#)
            let team = try await create(c, "Team", #"{"name":"Ops"}"#)
            let committed = try await c.request(.post, "/parse/batch", #"""
                {"transaction":true,"requests":[
                  {"method":"PUT","path":"/parse/classes/Team/\#(team)","body":{"name":"Ops 2","members":{"__op":"AddRelation","objects":[\#(pointer(ada)),\#(pointer(ben))]}}},
                  {"method":"POST","path":"/parse/classes/Team","body":{"name":"Board","members":{"__op":"AddRelation","objects":[\#(pointer(ada))]}}}
                ]}
                """#, headers: Self.master)
            #expect(committed.status == 200, "\(committed.text)")
            #expect(try await members(c, team) == ["Ada", "Ben"])
            let board = committed.json?.arrayValue?.last?["success"]?["objectId"]?.stringValue ?? ""
            #expect(try await members(c, board) == ["Ada"])
            let rolledBack = try await c.request(.post, "/parse/batch", #"""
                {"transaction":true,"requests":[
                  {"method":"PUT","path":"/parse/classes/Team/\#(team)","body":{"name":"Ops 3","members":{"__op":"RemoveRelation","objects":[\#(pointer(ada))]}}},
                  {"method":"DELETE","path":"/parse/classes/Employee/nobody"}
                ]}
                """#, headers: Self.master)
            #expect(rolledBack.code == 101, "\(rolledBack.text)")
            #expect(try await members(c, team) == ["Ada", "Ben"], "the removal was rolled back")
            #expect(try await c.get("/parse/classes/Team/\(team)")["name"]?.stringValue == "Ops 2")
        }
    }

    /// The OpenAPI document shows relation fields as Parse Server's dialect has them (the marker in objects, the
    /// AddRelation / RemoveRelation / Batch write forms, `$relatedTo` in the target's where), and the documented forms
    /// are accepted; a relation protected from everyone is left out.
    @Test func relationFieldsInTheOpenAPIDocument() async throws {
        try await ParseTestApp(connectors: Self.connectors).run { c in
            let doc = try #require(try await c.get("/parse/openapi.json", headers: [:]).json)
            let schemas = try #require(doc["components"]?["schemas"]?.objectValue)
            #expect(schemas["Relation"]?["properties"]?["__type"] == .object(["const": .string("Relation")]))
            let marker = try #require(schemas["Team"]?["properties"]?["members"])
            #expect(marker["allOf"]?.arrayValue?.first == .object(["$ref": .string("#/components/schemas/Relation")]), "\(marker)")
            #expect(marker["allOf"]?.arrayValue?.last?["properties"]?["className"] == .object(["const": .string("Employee")]))
            let write = try #require(schemas["Team.Input"]?["properties"]?["members"]?["oneOf"]?.arrayValue)
            #expect(write.count == 2)
            #expect(write[0]["properties"]?["__op"] == .object(["enum": .array([.string("AddRelation"), .string("RemoveRelation")])]))
            #expect(write[0]["properties"]?["objects"]?["items"]?["properties"]?["className"] == .object(["const": .string("Employee")]))
            #expect(write[1]["properties"]?["__op"] == .object(["const": .string("Batch")]))
            let related = try #require(schemas["Employee.Where"]?["properties"]?["$relatedTo"])
            #expect(related["properties"]?["key"] == .object(["enum": .array([.string("members")])]))
            #expect(related["properties"]?["object"]?["properties"]?["className"] == .object(["enum": .array([.string("Team")])]))
            #expect(schemas["Team.Where"]?["properties"]?["$relatedTo"] == nil, "no relation targets Team")
            let byField = try #require(schemas["Team.Where"]?["properties"]?["members"]?["anyOf"]?.arrayValue)
            #expect(byField.last?["properties"]?.objectValue.map { Set($0.keys) } == ["$eq", "$ne", "$in", "$nin"], "\(byField)")
            for ref in Set(JSONWriter.string(doc).components(separatedBy: "\"#/components/schemas/").dropFirst().map { $0.prefix { $0 != "\"" } }) {
                #expect(schemas[String(ref)] != nil, "dangling \(ref)")
            }
            // The documented forms work.
            let ada = try await create(c, "Employee", #"{"name":"Ada"}"#)
            let team = try await create(c, "Team", #"{"name":"Ops","members":{"__op":"Batch","ops":[{"__op":"AddRelation","objects":[\#(pointer(ada))]}]}}"#)
            #expect(try await members(c, team) == ["Ada"])
            let byMember = try await c.find("Team", ["where": #"{"members":{"$in":[\#(pointer(ada))]}}"#])
            #expect(byMember.results.count == 1, "\(byMember.text)")
        }
        let hidden = Self.connectors.replacingOccurrences(of: "targetColumn: employee_id }\n", with: "targetColumn: employee_id }\n    protectedFields:\n      \"*\": [members]\n")
        #expect(hidden.contains("employee_id }\n    protectedFields:\n      \"*\": [members]\n  Employee:"), "\(hidden)")
        try await ParseTestApp(connectors: hidden).run { c in
            let doc = try #require(try await c.get("/parse/openapi.json", headers: [:]).json)
            let schemas = try #require(doc["components"]?["schemas"]?.objectValue)
            #expect(schemas["Team"]?["properties"]?["members"] == nil && schemas["Team.Input"]?["properties"]?["members"] == nil)
            #expect(schemas["Employee.Where"]?["properties"]?["$relatedTo"] == nil)
            #expect(schemas["Team.Where"]?["properties"]?["members"] == nil)
        }
    }
}

import CausewayCore
import CausewayHTTPTesting
import Foundation
import Testing

/// `GET /parse/openapi.json`: an OpenAPI 3.1 document generated from the mappings. (The full validation with
/// openapi-spec-validator and schemathesis runs against the real binary in scripts/integration/openapi.sh.)
@Suite struct OpenAPIDocumentTests {
    func document(_ client: ParseClient) async throws -> JSONValue {
        let r = try await client.get("/parse/openapi.json", headers: [:])
        #expect(r.status == 200, "\(r.text)")
        return try #require(r.json)
    }

    /// Every `$ref` in `value`.
    func refs(_ value: JSONValue) -> [String] {
        switch value {
        case .object(let o): return (o["$ref"]?.stringValue.map { [$0] } ?? []) + o.values.flatMap(refs)
        case .array(let a): return a.flatMap(refs)
        default: return []
        }
    }

    @Test func servedWithoutKeysAndEveryReferenceResolves() async throws {
        try await ParseTestApp().run { client in
            let doc = try await document(client)
            #expect(doc["openapi"] == .string("3.1.0"))
            #expect(doc["servers"]?.arrayValue?.first?["url"] == .string("/parse"))
            let schemas = try #require(doc["components"]?["schemas"]?.objectValue)
            let responses = try #require(doc["components"]?["responses"]?.objectValue)
            let all = refs(doc)
            #expect(all.count > 50)
            for ref in Set(all) {
                let parts = ref.split(separator: "/").map(String.init)
                #expect(parts.count == 4 && parts[0] == "#" && parts[1] == "components", "\(ref)")
                let table = parts[2] == "schemas" ? schemas : responses
                #expect(table[parts[3]] != nil, "dangling \(ref)")
            }
            // The same document with the application id (and for HEAD no body).
            let again = try await client.get("/parse/openapi.json")
            #expect(again.json == doc)
            let post = try await client.request(.post, "/parse/openapi.json", "{}")
            #expect(post.status == 405)
        }
    }

    @Test func pathsFollowPermissionsAndReadOnly() async throws {
        try await ParseTestApp().run { client in
            let doc = try await document(client)
            let paths = try #require(doc["paths"]?.objectValue)
            func methods(_ path: String) -> Set<String> {
                Set((paths[path]?.objectValue ?? [:]).keys.filter { $0 != "parameters" })
            }
            #expect(methods("/classes/Workstation") == ["get", "post"])
            #expect(methods("/classes/Workstation/{objectId}") == ["get", "put", "delete"])
            // readOnly: reads only.
            #expect(methods("/classes/Locked") == ["get"])
            #expect(methods("/classes/Locked/{objectId}") == ["get"])
            // Private: find by role:Admin, get by authenticated users, no writes for anyone but the master key.
            #expect(methods("/classes/Private") == ["get"])
            #expect(methods("/classes/Private/{objectId}") == ["get"])
            let privateFind = try #require(paths["/classes/Private"]?["get"]?["security"]?.arrayValue)
            #expect(privateFind.allSatisfy { $0["SessionToken"] != nil || $0["MasterKey"] != nil })
            let publicFind = try #require(paths["/classes/Workstation"]?["get"]?["security"]?.arrayValue)
            #expect(publicFind.contains(.object(["ApplicationId": .array([])])))
            for fixed in ["/batch", "/health", "/schemas", "/schemas/{className}"] { #expect(paths[fixed] != nil, "\(fixed)") }
            // No identity provider in this app: no user API.
            #expect(paths["/login"] == nil && paths["/users"] == nil)
            #expect(paths["/health"]?["get"]?["security"] == .array([.object([:])]))
        }
    }

    @Test func objectShapesAndWhereLanguage() async throws {
        try await ParseTestApp().run { client in
            let doc = try await document(client)
            let schemas = try #require(doc["components"]?["schemas"]?.objectValue)
            let ws = try #require(schemas["Workstation"]?["properties"]?.objectValue)
            #expect(Set(ws.keys) == ["objectId", "createdAt", "updatedAt", "name", "office", "floor", "occupied", "tags", "location", "lastCleaned", "serial"])
            #expect(ws["floor"]?["anyOf"]?.arrayValue?.first == .object(["type": .string("number")]))
            #expect(ws["location"]?["anyOf"]?.arrayValue?.first == .object(["$ref": .string("#/components/schemas/GeoPoint")]))
            #expect(ws["createdAt"] == .object(["type": .string("string"), "format": .string("date-time")]))
            // The write body leaves out read-only fields and refuses unknown ones.
            let input = try #require(schemas["Workstation.Input"])
            #expect(input["properties"]?["serial"] == nil && input["properties"]?["name"] != nil)
            #expect(input["additionalProperties"] == .bool(false))
            // where: a JSON query parameter whose schema names each field's condition type.
            let parameters = try #require(doc["paths"]?["/classes/Workstation"]?["get"]?["parameters"]?.arrayValue)
            #expect(Set(parameters.compactMap { $0["name"]?.stringValue }) == ["where", "order", "limit", "skip", "keys", "excludeKeys", "count", "include"])
            let whereParameter = try #require(parameters.first { $0["name"] == .string("where") })
            #expect(whereParameter["content"]?["application/json"]?["schema"] == .object(["$ref": .string("#/components/schemas/Workstation.Where")]))
            let whereFields = try #require(schemas["Workstation.Where"]?["properties"]?.objectValue)
            #expect(whereFields["floor"] == .object(["$ref": .string("#/components/schemas/Condition.Number")]))
            #expect(whereFields["$or"]?["items"] == .object(["$ref": .string("#/components/schemas/Workstation.Where")]))
            let numberOps = try #require(schemas["Condition.Number"]?["anyOf"]?.arrayValue?.last?["properties"]?.objectValue)
            #expect(Set(numberOps.keys) == ["$eq", "$ne", "$lt", "$lte", "$gt", "$gte", "$in", "$nin", "$exists"])
            let stringOps = try #require(schemas["Condition.String"]?["anyOf"]?.arrayValue?.last?["properties"]?.objectValue)
            #expect(stringOps["$regex"] != nil && stringOps["$nearSphere"] == nil)
            let geoOps = try #require(schemas["Condition.GeoPoint"]?["anyOf"]?.arrayValue?.last?["properties"]?.objectValue)
            #expect(geoOps["$nearSphere"] != nil && geoOps["$lt"] == nil)
            #expect(schemas["Error"]?["required"] == .array([.string("code"), .string("error")]))
        }
    }

    /// Every operator the document offers for a type is one the gateway takes on a field of that type.
    @Test func everyDocumentedOperatorIsAccepted() async throws {
        let point = #"{"__type":"GeoPoint","latitude":47.37,"longitude":8.54}"#
        let date = #"{"__type":"Date","iso":"2026-11-20T07:30:00.000Z"}"#
        let samples: [String: (field: String, operand: String)] = [
            "Number": ("floor", "1"), "String": ("name", #""Desk A""#), "Boolean": ("occupied", "true"),
            "Date": ("lastCleaned", date), "Array": ("tags", #""dock""#), "GeoPoint": ("location", point),
        ]
        try await ParseTestApp().run { client in
            let doc = try await document(client)
            let schemas = try #require(doc["components"]?["schemas"]?.objectValue)
            var tried = 0
            for (type, sample) in samples {
                let ops = try #require(schemas["Condition." + type]?["anyOf"]?.arrayValue?.last?["properties"]?.objectValue)
                for op in ops.keys.sorted() {
                    let condition: String
                    switch op {
                    case "$in", "$nin": condition = #"{"\#(op)":[\#(sample.operand)]}"#
                    case "$all", "$containedBy": condition = #"{"\#(op)":["dock"]}"#
                    case "$exists": condition = #"{"$exists":true}"#
                    case "$regex": condition = #"{"$regex":"^Desk"}"#
                    case "$options": condition = #"{"$regex":"^desk","$options":"i"}"#
                    case "$nearSphere": condition = #"{"$nearSphere":\#(point)}"#
                    case let d where d.hasPrefix("$maxDistance"): condition = #"{"$nearSphere":\#(point),"\#(d)":1}"#
                    case "$within": condition = #"{"$within":{"$box":[{"__type":"GeoPoint","latitude":47,"longitude":8},{"__type":"GeoPoint","latitude":48,"longitude":9}]}}"#
                    case "$geoWithin": condition = #"{"$geoWithin":{"$centerSphere":[\#(point),0.1]}}"#
                    default: condition = #"{"\#(op)":\#(sample.operand)}"#
                    }
                    let r = try await client.find("Workstation", ["where": #"{"\#(sample.field)":\#(condition)}"#])
                    #expect(r.status == 200, "\(type) \(op): \(r.text)")
                    tried += 1
                }
            }
            #expect(tried >= 40)
        }
    }

    @Test func userAPIAndClientKeysWhenConfigured() async throws {
        try await ParseTestApp(environment: ["REST_KEY": "rest-key-1234"], identity: ParseTestApp.localIdentity).run { client in
            let doc = try await document(client)
            let paths = try #require(doc["paths"]?.objectValue)
            for p in ["/users", "/login", "/logout", "/users/me"] { #expect(paths[p] != nil, "\(p)") }
            let schemes = try #require(doc["components"]?["securitySchemes"]?.objectValue)
            #expect(schemes["RestAPIKey"]?["name"] == .string("X-Parse-REST-API-Key"))
            // With a client key configured, the anonymous way needs it.
            let find = try #require(doc["paths"]?["/classes/Workstation"]?["get"]?["security"]?.arrayValue)
            #expect(find.contains(.object(["ApplicationId": .array([]), "RestAPIKey": .array([])])))
            #expect(!find.contains(.object(["ApplicationId": .array([])])))
            // Still served without keys: it holds no data.
            let text = JSONWriter.string(doc)
            #expect(!text.contains("rest-key-1234") && !text.contains(ParseTestApp.masterKey))
        }
    }

    /// The document is served without keys, so it shows only what callers without the master key can use:
    /// no class only the master key may touch, no field protected from everyone, no connector names.
    @Test func showsNothingOnlyTheMasterKeyMaySee() async throws {
        let connectors = """
        kind: sqlite
        connection:
          path: store.sqlite
        collections:
          Ticket:
            table: tickets
            fields:
              title: { type: string }
              salary: { type: number }
            protectedFields:
              "*": [salary]
          Vault:
            table: vault
            fields:
              secret: { type: string }
            permissions: { get: [], find: [], count: [], create: [], update: [], delete: [] }
        """
        try await ParseTestApp(connectors: connectors).run { client in
            let doc = try await document(client)
            let schemas = try #require(doc["components"]?["schemas"]?.objectValue)
            let ticket = try #require(schemas["Ticket"]?["properties"]?.objectValue)
            #expect(ticket["title"] != nil && ticket["salary"] == nil, "\(ticket.keys.sorted())")
            #expect(schemas["Vault"] == nil && schemas["Vault.Input"] == nil)
            let paths = try #require(doc["paths"]?.objectValue)
            #expect(!paths.keys.contains { $0.contains("Vault") }, "\(paths.keys.sorted())")
            let text = try await client.get("/parse/openapi.json", headers: [:]).text
            #expect(!text.contains("(connector ") && !text.contains("secret"))
        }
    }
}

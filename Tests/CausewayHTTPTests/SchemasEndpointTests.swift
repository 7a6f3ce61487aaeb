import CausewayCore
import CausewayHTTPTesting
import HTTPTypes
import Testing

/// `GET /schemas` and `/schemas/:className`: Parse's schema format generated from the mappings, master key only,
/// 103 for an unknown class, every write refused with 119.
@Suite struct SchemasEndpointTests {
    static let connectors = """
    kind: sqlite
    connection:
      path: store.sqlite
    collections:
      Booking:
        table: bookings
        createdAt: created_at
        updatedAt: updated_at
        acl: true
        fields:
          desk: { type: pointer, targetClass: Desk }
          day: { type: date }
          note: { type: string }
          owner: { type: string }
          where: { type: geopoint }
          extra: { type: object }
          tags: { type: array }
          paid: { type: boolean }
          price: { type: number }
          receipt: { type: file }
        owner: { field: owner }
        protectedFields:
          "*": [price, note]
          "role:Finance": [note]
        permissions:
          get: [authenticated]
          find: ["role:Staff", "user:ada"]
          count: ["*"]
          create: [authenticated]
          update: []
          delete: ["role:Admin"]
      Desk:
        table: desks
        readOnly: true
        fields:
          label: { type: string }
    """

    static let master = ParseClient.masterHeaders

    @Test func allSchemasInParseFormat() async throws {
        try await ParseTestApp(connectors: Self.connectors).run { client in
            let r = try await client.get("/parse/schemas", headers: Self.master)
            #expect(r.status == 200, "\(r.text)")
            #expect(r.results.compactMap { $0["className"]?.stringValue } == ["Booking", "Desk"])
            let booking = try #require(r.results.first)
            let fields = try #require(booking["fields"]?.objectValue)
            let types = fields.mapValues { $0["type"]?.stringValue ?? "?" }
            #expect(types == [
                "objectId": "String", "createdAt": "Date", "updatedAt": "Date", "ACL": "ACL",
                "desk": "Pointer", "day": "Date", "note": "String", "owner": "String", "where": "GeoPoint",
                "extra": "Object", "tags": "Array", "paid": "Boolean", "price": "Number", "receipt": "File",
            ])
            #expect(fields["desk"]?["targetClass"] == .string("Desk"))
            #expect(fields["note"]?["targetClass"] == nil)
            let clp = try #require(booking["classLevelPermissions"])
            #expect(clp["get"] == .object(["requiresAuthentication": .bool(true)]))
            #expect(clp["find"] == .object(["role:Staff": .bool(true), "ada": .bool(true)]))
            #expect(clp["count"] == .object(["*": .bool(true)]))
            #expect(clp["update"] == .object([:]))
            #expect(clp["delete"] == .object(["role:Admin": .bool(true)]))
            #expect(clp["addField"] == .object([:]))
            #expect(clp["protectedFields"] == .object([
                "*": .array([.string("note"), .string("price")]), "role:Finance": .array([.string("note")]),
            ]))
        }
    }

    @Test func oneSchemaAndAReadOnlyClass() async throws {
        try await ParseTestApp(connectors: Self.connectors).run { client in
            let r = try await client.get("/parse/schemas/Desk", headers: Self.master)
            #expect(r.status == 200, "\(r.text)")
            #expect(r["className"] == .string("Desk"))
            // No createdAt/updatedAt/ACL mapped: only objectId and the fields.
            #expect(r["fields"] == .object(["objectId": .object(["type": .string("String")]), "label": .object(["type": .string("String")])]))
            let clp = try #require(r["classLevelPermissions"])
            for op in ["get", "find", "count"] { #expect(clp[op] == .object(["*": .bool(true)])) }
            for op in ["create", "update", "delete"] { #expect(clp[op] == .object([:]), "read-only: \(op)") }
            #expect(clp["protectedFields"] == .object(["*": .array([])]))
        }
    }

    @Test func unknownClassIs103() async throws {
        try await ParseTestApp(connectors: Self.connectors).run { client in
            let r = try await client.get("/parse/schemas/Nope", headers: Self.master)
            #expect(r.status == 400)
            #expect(r.code == 103)
            #expect(r.errorMessage == "Class Nope does not exist.")
        }
    }

    @Test func masterKeyRequired() async throws {
        try await ParseTestApp(connectors: Self.connectors).run { client in
            for path in ["/parse/schemas", "/parse/schemas/Booking", "/parse/schemas/Nope"] {
                let r = try await client.get(path)
                #expect(r.status == 403, "\(path): \(r.text)")
                #expect(r.errorMessage == "unauthorized: master key is required", "\(path)")
            }
            let none = try await client.get("/parse/schemas", headers: [:])
            #expect(none.status == 403)
        }
    }

    @Test func writesAreRefused() async throws {
        try await ParseTestApp(connectors: Self.connectors).run { client in
            let body = #"{"className":"Desk","fields":{"x":{"type":"String"}}}"#
            for (method, path) in [(HTTPRequest.Method.post, "/parse/schemas"), (.post, "/parse/schemas/Desk"), (.put, "/parse/schemas/Desk"),
                                   (.delete, "/parse/schemas/Desk"), (.post, "/parse/schemas/Brand")] {
                let r = try await client.request(method, path, body, headers: Self.master)
                #expect(r.status == 400, "\(method) \(path): \(r.text)")
                #expect(r.code == 119, "\(method) \(path)")
                #expect(r.errorMessage.contains("Connectors/*.yaml"), "\(r.errorMessage)")
                // Without the master key the write is refused before anything is said about it.
                let anonymous = try await client.request(method, path, body)
                #expect(anonymous.status == 403, "\(method) \(path)")
            }
            // The schema is unchanged.
            let desk = try await client.get("/parse/schemas/Desk", headers: Self.master)
            #expect(desk["fields"]?["x"] == nil)
            let patch = try await client.request(.patch, "/parse/schemas/Desk", body, headers: Self.master)
            #expect(patch.status == 405)
            #expect(patch.code == 108)
        }
    }
}

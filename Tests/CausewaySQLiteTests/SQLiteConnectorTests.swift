import CausewayCore
import CausewayTesting
@testable import CausewaySQLite
import Foundation
import Logging
import SQLiteNIO
import Testing

@Suite struct SQLiteConnectorTests {
    @Test func storesAndReturnsEveryType() async throws {
        let fixture = try await SQLiteFixture()
        let gateway = fixture.gateway()
        let body: [String: JSONValue] = [
            "name": .string("Ünïcode ✓ \"quoted\""), "score": .double(12.75), "active": .bool(false),
            "when": .object(["__type": .string("Date"), "iso": .string("2026-03-04T05:06:07.089Z")]),
            "tags": .array([.string("a"), .int(2), .bool(true), .null]),
            "place": .object(["__type": .string("GeoPoint"), "latitude": .double(-33.86), "longitude": .double(151.2)]),
            "meta": .object(["nested": .object(["deep": .array([.int(1)])])]),
            "owner": .object(["__type": .string("Pointer"), "className": .string("Person"), "objectId": .string("p1")]),
            "blob": .object(["__type": .string("Bytes"), "base64": .string("AP8Q")]),
        ]
        let created = try await gateway.create("Item", body: body, caller: .anonymous)
        let id = try #require(created.objectId)
        #expect(id.count == 10 && id.allSatisfy { $0.isLetter || $0.isNumber })
        let fetched = try await gateway.get("Item", objectId: id, keys: nil, caller: .anonymous)
        #expect(ParseCodec.json(fetched)["name"] == body["name"])
        for key in body.keys {
            #expect(ParseCodec.json(fetched)[key] == (try ParseCodec.encode(ParseCodec.decode(body[key]!))), "\(key)")
        }
        #expect(fetched.createdAt == created.createdAt && fetched.updatedAt != nil)
        await fixture.close()
    }

    @Test func updateOperationsAreAtomicUnderConcurrency() async throws {
        let fixture = try await SQLiteFixture()
        let gateway = fixture.gateway()
        let id = try #require(try await gateway.create("Item", body: ["score": .int(0), "tags": .array([])], caller: .anonymous).objectId)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for client in 0..<20 {
                group.addTask {
                    for i in 0..<25 {
                        _ = try await gateway.update("Item", objectId: id, body: [
                            "score": .object(["__op": .string("Increment"), "amount": .int(1)]),
                            "tags": .object(["__op": .string("AddUnique"), "objects": .array([.string("c\(client)-\(i % 2)")])]),
                        ], caller: .anonymous)
                    }
                }
            }
            try await group.waitForAll()
        }
        let object = try await gateway.get("Item", objectId: id, keys: nil, caller: .anonymous)
        #expect(object.fields["score"] == .int(500), "20 clients x 25 increments")
        guard case .array(let tags)? = object.fields["tags"] else { Issue.record("tags missing"); return }
        #expect(tags.count == 40, "AddUnique kept exactly one of each value")
        await fixture.close()
    }

    @Test func updateEchoesOperationResultsAndDeleteRemoves() async throws {
        let fixture = try await SQLiteFixture()
        let gateway = fixture.gateway()
        let id = try #require(try await gateway.create("Item", body: ["score": .int(5), "tags": .array([.string("a"), .string("b"), .string("a")]), "name": .string("n")], caller: .anonymous).objectId)
        let result = try await gateway.update("Item", objectId: id, body: [
            "score": .object(["__op": .string("Increment"), "amount": .double(-1.5)]),
            "tags": .object(["__op": .string("Remove"), "objects": .array([.string("a")])]),
            "name": .object(["__op": .string("Delete")]),
            "active": .bool(true),
        ], caller: .anonymous)
        #expect(result.operationResults["score"] == .double(3.5))
        #expect(result.operationResults["tags"] == .array([.string("b")]))
        #expect(result.operationResults["name"] == .null)
        #expect(result.operationResults["active"] == nil, "plain fields are not echoed")
        let after = try await gateway.get("Item", objectId: id, keys: nil, caller: .anonymous)
        #expect(after.fields["name"] == nil && after.fields["active"] == .bool(true))
        #expect(after.updatedAt! >= after.createdAt!)
        try await gateway.delete("Item", objectId: id, caller: .anonymous)
        await #expect(throws: GatewayError.self) { _ = try await gateway.get("Item", objectId: id, keys: nil, caller: .anonymous) }
        let missing = await #expect(throws: GatewayError.self) { try await gateway.delete("Item", objectId: id, caller: .anonymous) }
        #expect(missing?.code == .objectNotFound)
        let wrongType = await #expect(throws: GatewayError.self) {
            _ = try await gateway.update("Item", objectId: "nope", body: ["score": .string("x")], caller: .anonymous)
        }
        #expect(wrongType?.code == .incorrectType)
        await fixture.close()
    }

    @Test func integerKeysGeneratedByTheSource() async throws {
        let fixture = try await SQLiteFixture(yaml: """
        kind: sqlite
        connection: { path: ints.sqlite }
        collections:
          Counter:
            table: counters
            objectId: { column: id, type: integer }
            fields:
              label: { type: string }
        """)
        let gateway = fixture.gateway()
        var ids: [String] = []
        for i in 0..<12 { ids.append(try #require(try await gateway.create("Counter", body: ["label": .string("c\(i)")], caller: .anonymous).objectId)) }
        #expect(ids == (1...12).map(String.init))
        let page = try await gateway.find("Counter", try gateway.parseFind("Counter", ["order": .string("-objectId"), "limit": .int(3)]), caller: .anonymous, logger: fixture.logger)
        #expect(page.objects.map(\.objectId) == ["12", "11", "10"], "integer keys order numerically")
        await #expect(throws: GatewayError.self) { _ = try await gateway.get("Counter", objectId: "abc", keys: nil, caller: .anonymous) }
        await fixture.close()
    }

    @Test func constraintViolationsBecomeParseErrors() async throws {
        let fixture = try await SQLiteFixture(yaml: """
        kind: sqlite
        connection: { path: existing.sqlite, createMissingTables: false }
        collections:
          Badge:
            table: badges
            objectId: { column: id, type: string }
            fields:
              serial: { type: string }
              holder: { type: string }
        """, prepare: { dir in
            let c = try await SQLiteConnection.open(storage: .file(path: dir + "/existing.sqlite"))
            _ = try await c.query("CREATE TABLE badges (id TEXT PRIMARY KEY, serial TEXT UNIQUE NOT NULL, holder TEXT CHECK (holder <> 'nobody'))")
            try await c.close()
        })
        let gateway = fixture.gateway()
        _ = try await gateway.create("Badge", body: ["serial": .string("S1")], caller: .anonymous)
        let dup = await #expect(throws: GatewayError.self) { _ = try await gateway.create("Badge", body: ["serial": .string("S1")], caller: .anonymous) }
        #expect(dup?.code == .duplicateValue)
        let missing = await #expect(throws: GatewayError.self) { _ = try await gateway.create("Badge", body: ["holder": .string("x")], caller: .anonymous) }
        #expect(missing?.code == .validationError)
        let check = await #expect(throws: GatewayError.self) { _ = try await gateway.create("Badge", body: ["serial": .string("S2"), "holder": .string("nobody")], caller: .anonymous) }
        #expect(check?.code == .validationError)
        // SQLite's own text ("CHECK constraint failed: …") goes to the log (debugDescription), never to the client.
        for error in [dup, missing, check].compactMap({ $0 }) {
            #expect(!error.message.lowercased().contains("constraint failed") && !error.description.contains("badges"), "\(error.message)")
            #expect(String(reflecting: error).contains(error.detail ?? "\u{0}"), "the detail is kept for the log")
        }
        await fixture.close()
    }

    @Test func verifyReportsMissingTablesAndColumns() async throws {
        let fixture = try await SQLiteFixture(yaml: """
        kind: sqlite
        connection: { path: existing.sqlite, createMissingTables: false }
        collections:
          Badge:
            table: badges
            fields:
              serial: { type: string }
              issued: { type: date }
          Ghost:
            table: ghosts
            fields:
              name: { type: string }
        """, prepare: { dir in
            let c = try await SQLiteConnection.open(storage: .file(path: dir + "/existing.sqlite"))
            _ = try await c.query("CREATE TABLE badges (objectId TEXT PRIMARY KEY, serial TEXT, issued TEXT)")
            try await c.close()
        })
        await fixture.connector.shutdown()
        let findings = await fixture.connector.verify(logger: fixture.logger)
        let text = findings.map(\.description).joined(separator: "\n")
        #expect(findings.contains { $0.severity == .error && $0.subject.contains("Ghost") && $0.message.contains("table does not exist") }, "\(text)")
        #expect(findings.contains { $0.severity == .warning && $0.message.contains("column issued is declared TEXT") }, "\(text)")
        #expect(!findings.contains { $0.severity == .error && $0.subject.contains("Badge") }, "\(text)")
        await fixture.close()
    }

    @Test func injectionAttemptsAreJustValues() async throws {
        let fixture = try await SQLiteFixture()
        let gateway = fixture.gateway()
        let evil = "x'); DROP TABLE items; --"
        _ = try await gateway.create("Item", body: ["name": .string(evil)], caller: .anonymous)
        let found = try await gateway.find("Item", try gateway.parseFind("Item", ["where": .string(#"{"name":"x'); DROP TABLE items; --"}"#)]), caller: .anonymous, logger: fixture.logger)
        #expect(found.objects.count == 1 && found.objects[0].fields["name"] == .string(evil))
        let regex = try await gateway.find("Item", try gateway.parseFind("Item", ["where": .string(#"{"name":{"$regex":"' OR 1=1 --"}}"#)]), caller: .anonymous, logger: fixture.logger)
        #expect(regex.objects.isEmpty)
        await fixture.close()
    }
}

/// A condition the planner should never push (a planner bug) is refused with an internal error (code 1),
/// never a crash of the whole process.
@Suite struct SQLiteUntranslatableTests {
    @Test func anUntranslatableConditionIsAnInternalErrorNotACrash() async throws {
        let fixture = try await SQLiteFixture()
        let schema = try #require(fixture.connector.collections.first { $0.className == "Item" })
        let polygon = FieldCondition.withinPolygon([GeoPoint(latitude: 0, longitude: 0), GeoPoint(latitude: 1, longitude: 0), GeoPoint(latitude: 0, longitude: 1)])
        let error = await #expect(throws: GatewayError.self) {
            _ = try await fixture.connector.find(SourceQuery(filter: .field("place", polygon)), in: schema, context: .system(fixture.logger))
        }
        #expect(error?.code == .internalServerError && error?.message == "Internal server error.", "\(String(describing: error))")
        #expect(error?.detail?.contains("withinPolygon") == true)
        await fixture.close()
    }
}

import CausewayCore
import CausewayTesting
@testable import CausewaySQLite
import Foundation
import Logging
import Testing

/// `type: relation` fields on a SQLite join table: `$relatedTo`, `AddRelation` / `RemoveRelation`, the owner's
/// permission gate, `limits.maxSubqueryResults`, and `causeway check` findings.
@Suite struct RelationSQLiteTests {
    static let yaml = """
    kind: sqlite
    connection:
      path: org.sqlite
    collections:
      Team:
        table: teams
        objectId: { column: id, type: string }
        acl: true
        fields:
          name: { type: string }
          members: { type: relation, targetClass: Employee, joinTable: team_members, ownerColumn: team_id, targetColumn: employee_id }
      Employee:
        table: employees
        objectId: { column: id, type: string }
        fields:
          name: { type: string }
    """

    func pointer(_ id: String) -> JSONValue {
        .object(["__type": .string("Pointer"), "className": .string("Employee"), "objectId": .string(id)])
    }

    func op(_ name: String, _ ids: [String]) -> JSONValue {
        .object(["__op": .string(name), "objects": .array(ids.map(pointer))])
    }

    func related(_ g: Gateway, _ team: String, caller: Caller = .master, logger: Logger) async throws -> [String] {
        let w = #"{"$relatedTo":{"object":{"__type":"Pointer","className":"Team","objectId":"\#(team)"},"key":"members"}}"#
        let result = try await g.find("Employee", try g.parseFind("Employee", ["where": .string(w), "order": .string("name")]), caller: caller, logger: logger)
        return try result.objects.isEmpty && result.body != nil
            ? FindAnswerDecoderProbe.names(result.body!) : result.objects.compactMap { $0.fields["name"]?.stringValue }
    }

    func with(config: GatewayConfig = GatewayConfig(), _ body: (SQLiteFixture, Gateway, [String: String]) async throws -> Void) async throws {
        let fx = try await SQLiteFixture(yaml: Self.yaml)
        do {
            let g = Gateway(config: config, connectors: [fx.connector])
            var ids: [String: String] = [:]
            for name in ["Ada", "Ben", "Cleo"] {
                ids[name] = try await g.create("Employee", body: ["name": .string(name)], caller: .master).objectId
            }
            try await body(fx, g, ids)
        } catch {
            await fx.close()
            throw error
        }
        await fx.close()
    }

    @Test func addOnCreateAndUpdateRelatedToAndRemove() async throws {
        try await with { fx, g, e in
            let team = try await g.create("Team", body: ["name": .string("Ops"), "members": op("AddRelation", [e["Ada"]!])], caller: .master)
            let t = team.objectId!
            #expect(try await related(g, t, logger: fx.logger) == ["Ada"])
            // Adding an existing link again is no error and no duplicate.
            _ = try await g.update("Team", objectId: t, body: ["members": op("AddRelation", [e["Ada"]!, e["Ben"]!])], caller: .master)
            _ = try await g.update("Team", objectId: t, body: ["members": op("AddRelation", [e["Ada"]!])], caller: .master)
            #expect(try await related(g, t, logger: fx.logger) == ["Ada", "Ben"])
            let rows = try await fx.connector.connections().read("SELECT COUNT(*) FROM team_members WHERE team_id = ?", [.text(t)])
            #expect(rows.first?.columns.first?.data.integer == 2)
            // Removing a link that does not exist is no error.
            _ = try await g.update("Team", objectId: t, body: ["members": op("RemoveRelation", [e["Cleo"]!, e["Ada"]!])], caller: .master)
            #expect(try await related(g, t, logger: fx.logger) == ["Ben"])
            // The relation is no column: other fields update as usual beside it, and objects show Parse's marker.
            _ = try await g.update("Team", objectId: t, body: ["name": .string("Ops 2"), "members": op("AddRelation", [e["Cleo"]!])], caller: .master)
            let read = try await g.get("Team", objectId: t, keys: nil, caller: .master)
            #expect(read.fields["name"] == .string("Ops 2"))
            #expect(read.fields["members"] == .object(["__type": .string("Relation"), "className": .string("Employee")]))
            // $relatedTo combines with other conditions.
            let w = #"{"name":{"$ne":"Ben"},"$relatedTo":{"object":{"__type":"Pointer","className":"Team","objectId":"\#(t)"},"key":"members"}}"#
            let found = try await g.find("Employee", try g.parseFind("Employee", ["where": .string(w)]), caller: .master, logger: fx.logger)
            #expect(found.objects.compactMap { $0.fields["name"]?.stringValue } == ["Cleo"])
        }
    }

    /// `equalTo(relationKey, object)` as the SDKs send it: the relation field compared with pointers (`$eq`, `$in`,
    /// `$ne`, `$nin`), resolved to the owners linked in the join table.
    @Test func ownersFoundByTheirRelationField() async throws {
        try await with { fx, g, e in
            func teams(_ w: String) async throws -> [String] {
                let result = try await g.find("Team", try g.parseFind("Team", ["where": .string(w), "order": .string("name")]), caller: .master, logger: fx.logger)
                return result.objects.compactMap { $0.fields["name"]?.stringValue }
            }
            func p(_ name: String) -> String { #"{"__type":"Pointer","className":"Employee","objectId":"\#(e[name]!)"}"# }
            _ = try await g.create("Team", body: ["name": .string("Ops"), "members": op("AddRelation", [e["Ada"]!, e["Ben"]!])], caller: .master)
            _ = try await g.create("Team", body: ["name": .string("Board"), "members": op("AddRelation", [e["Ben"]!])], caller: .master)
            _ = try await g.create("Team", body: ["name": .string("Empty")], caller: .master)
            #expect(try await teams(#"{"members":\#(p("Ada"))}"#) == ["Ops"])
            #expect(try await teams(#"{"members":{"$eq":\#(p("Ben"))}}"#) == ["Board", "Ops"])
            #expect(try await teams(#"{"members":{"$in":[\#(p("Ada")),\#(p("Cleo"))]}}"#) == ["Ops"])
            #expect(try await teams(#"{"members":{"$ne":\#(p("Ada"))}}"#) == ["Board", "Empty"])
            #expect(try await teams(#"{"members":{"$nin":[\#(p("Ben"))]}}"#) == ["Empty"])
            #expect(try await teams(#"{"members":{"$in":[\#(p("Cleo"))]}}"#) == [])
            #expect(try await teams(#"{"name":{"$ne":"Ops"},"members":\#(p("Ben"))}"#) == ["Board"], "with other conditions")
            #expect(try await teams(#"{"$or":[{"members":\#(p("Ada"))},{"name":"Empty"}]}"#) == ["Empty", "Ops"], "inside $or")
            for w in [#"{"members":{"__type":"Pointer","className":"Team","objectId":"x"}}"#, #"{"members":"x"}"#, #"{"members":{"$exists":true}}"#,
                      #"{"members":{"$in":"x"}}"#] {
                do {
                    _ = try await teams(w)
                    Issue.record("accepted \(w)")
                } catch let error as GatewayError {
                    #expect(error.code == .invalidQuery, "\(w): \(error)")
                }
            }
        }
    }

    @Test func invalidOperationsAndQueries() async throws {
        try await with { fx, g, e in
            let t = try await g.create("Team", body: ["name": .string("Ops")], caller: .master).objectId!
            let wrongClass: JSONValue = .object(["__op": .string("AddRelation"), "objects": .array([
                .object(["__type": .string("Pointer"), "className": .string("Team"), "objectId": .string(t)])])])
            do { _ = try await g.update("Team", objectId: t, body: ["members": wrongClass], caller: .master); Issue.record("a pointer to another class was accepted") } catch let error as GatewayError {
                #expect(error.code == .incorrectType, "\(error)")
            }
            do { _ = try await g.update("Team", objectId: t, body: ["members": .string("x")], caller: .master); Issue.record("a plain value was accepted") } catch let error as GatewayError {
                #expect(error.code == .incorrectType, "\(error)")
            }
            do { _ = try await g.update("Team", objectId: "missing", body: ["members": op("AddRelation", [e["Ada"]!])], caller: .master); Issue.record("a missing owner was accepted") } catch let error as GatewayError {
                #expect(error.code == .objectNotFound, "\(error)")
            }
            let rows = try await fx.connector.connections().read("SELECT COUNT(*) FROM team_members", [])
            #expect(rows.first?.columns.first?.data.integer == 0, "refused operations write nothing")
            for w in [#"{"$relatedTo":{"object":{"__type":"Pointer","className":"Team","objectId":"\#(t)"},"key":"name"}}"#,
                      #"{"$relatedTo":{"key":"members"}}"#] {
                do {
                    _ = try await g.find("Employee", try g.parseFind("Employee", ["where": .string(w)]), caller: .master, logger: fx.logger)
                    Issue.record("accepted \(w)")
                } catch let error as GatewayError {
                    #expect(error.code == .invalidQuery, "\(error)")
                }
            }
        }
    }

    @Test func ownerTheCallerCannotReadHasNoLinks() async throws {
        try await with { fx, g, e in
            let hidden = try await g.create("Team", body: ["name": .string("Board"), "ACL": .object([:]), "members": op("AddRelation", [e["Ada"]!])], caller: .master)
            let open = try await g.create("Team", body: ["name": .string("Ops"), "members": op("AddRelation", [e["Ben"]!])], caller: .master)
            #expect(try await related(g, hidden.objectId!, logger: fx.logger) == ["Ada"], "the master key reads every owner")
            #expect(try await related(g, hidden.objectId!, caller: .anonymous, logger: fx.logger) == [], "an owner hidden by its ACL answers as one without links")
            #expect(try await related(g, open.objectId!, caller: .anonymous, logger: fx.logger) == ["Ben"])
            #expect(try await related(g, "nothere", caller: .anonymous, logger: fx.logger) == [])
        }
    }

    @Test func protectedRelationCannotBeQueried() async throws {
        let yaml = Self.yaml.replacingOccurrences(of: "    acl: true\n", with: "    acl: true\n    protectedFields:\n      \"*\": [members]\n")
        #expect(yaml.contains("[members]"))
        let fx = try await SQLiteFixture(yaml: yaml)
        let g = Gateway(config: GatewayConfig(), connectors: [fx.connector])
        do {
            let ada = try await g.create("Employee", body: ["name": .string("Ada")], caller: .master).objectId!
            let t = try await g.create("Team", body: ["name": .string("Ops"), "members": op("AddRelation", [ada])], caller: .master).objectId!
            #expect(try await related(g, t, logger: fx.logger) == ["Ada"])
            do {
                _ = try await related(g, t, caller: .anonymous, logger: fx.logger)
                Issue.record("a protected relation was queried")
            } catch let error as GatewayError {
                #expect(error.code == .operationForbidden, "\(error)")
            }
            #expect(try await g.get("Team", objectId: t, keys: nil, caller: .anonymous).fields["members"] == nil, "hidden in objects too")
            let byMember = #"{"members":{"__type":"Pointer","className":"Employee","objectId":"\#(ada)"}}"#
            #expect(try await g.find("Team", try g.parseFind("Team", ["where": .string(byMember)]), caller: .master, logger: fx.logger).objects.count == 1)
            do {
                _ = try await g.find("Team", try g.parseFind("Team", ["where": .string(byMember)]), caller: .anonymous, logger: fx.logger)
                Issue.record("a protected relation was queried by its field")
            } catch let error as GatewayError {
                #expect(error.code == .operationForbidden, "\(error)")
            }
        } catch {
            await fx.close()
            throw error
        }
        await fx.close()
    }

    @Test func crossConnectorCheckNamesUnservedTargets() async throws {
        var team = CollectionSchema(className: "Team", connectorName: "org", fields: [:], objectId: ObjectIdMapping(column: "id"))
        let at = ConfigLocation(file: "org.yaml", line: 9, column: 7, keyPath: "collections.Team.fields.members")
        team.relations["members"] = RelationMapping(name: "members", targetClass: "Employee", joinTable: "tm", ownerColumn: "t", targetColumn: "e", origin: at)
        team.relations["guests"] = RelationMapping(name: "guests", targetClass: "Visitor", joinTable: "tg", ownerColumn: "t", targetColumn: "v", origin: at)
        let employee = CollectionSchema(className: "Employee", connectorName: "hr", fields: [:], objectId: ObjectIdMapping(column: "id"))
        let org = SQLiteConnector(name: "org", path: ":memory:", tables: [try SQLiteTable(schema: team, table: "teams", seed: [])],
                                  createMissingTables: false, readerCount: 1, busyTimeoutMs: 100)
        let findings = PointerCheck.findings([org, MemoryConnector(name: "hr", collections: [employee])])
        let bySubject = Dictionary(findings.map { ($0.subject, $0) }, uniquingKeysWith: { a, _ in a })
        #expect(bySubject["Team.guests"]?.severity == .error && bySubject["Team.guests"]?.message.contains("Visitor") == true)
        #expect(bySubject["Team.members"]?.severity == .ok && bySubject["Team.members"]?.message.contains("connector hr") == true)
        #expect(bySubject["Team.guests"]?.location == at)
        // A source without join tables cannot keep relations.
        let memory = PointerCheck.findings([MemoryConnector(name: "org", collections: [team]), MemoryConnector(name: "hr", collections: [employee])])
        #expect(memory.filter { $0.subject.hasPrefix("Team.") }.count == 2)
        #expect(memory.filter { $0.subject.hasPrefix("Team.") }.allSatisfy { $0.severity == .error && $0.message.contains("keeps no join tables") })
    }

    @Test func idsTheTargetKeyCannotHoldAreRefusedBeforeTheOwnerIsWritten() async throws {
        let yaml = Self.yaml.replacingOccurrences(of: "    table: employees\n    objectId: { column: id, type: string }",
                                                  with: "    table: employees\n    objectId: { column: id, type: integer, generatedBy: source }")
        #expect(yaml.contains("type: integer"))
        let fx = try await SQLiteFixture(yaml: yaml)
        let g = Gateway(config: GatewayConfig(), connectors: [fx.connector])
        do {
            let ada = try await g.create("Employee", body: ["name": .string("Ada")], caller: .master).objectId!
            do {
                _ = try await g.create("Team", body: ["name": .string("Ops"), "members": op("AddRelation", [ada, "x"])], caller: .master)
                Issue.record("a non-integer id was accepted")
            } catch let error as GatewayError {
                #expect(error.code == .incorrectType, "\(error)")
            }
            let teams = try await fx.connector.connections().read("SELECT COUNT(*) FROM teams", [])
            #expect(teams.first?.columns.first?.data.integer == 0, "nothing was written")
            let t = try await g.create("Team", body: ["name": .string("Ops"), "members": op("AddRelation", [ada])], caller: .master).objectId!
            #expect(try await related(g, t, logger: fx.logger) == ["Ada"], "integer target keys are linked and found")
        } catch {
            await fx.close()
            throw error
        }
        await fx.close()
    }

    @Test func capOnLinks() async throws {
        var config = GatewayConfig()
        config.limits.federation.maxSubqueryResults = 2
        try await with(config: config) { fx, g, e in
            let t = try await g.create("Team", body: ["name": .string("All"), "members": op("AddRelation", [e["Ada"]!, e["Ben"]!])], caller: .master).objectId!
            #expect(try await related(g, t, logger: fx.logger).count == 2)
            _ = try await g.update("Team", objectId: t, body: ["members": op("AddRelation", [e["Cleo"]!])], caller: .master)
            do {
                _ = try await related(g, t, logger: fx.logger)
                Issue.record("three links over a cap of two were accepted")
            } catch let error as GatewayError {
                #expect(error.code == .invalidQuery && error.message.contains("limits.maxSubqueryResults"), "\(error)")
            }
        }
    }

    /// Conditions on relation fields are sub-queries for `limits.maxSubqueries` (each reads the join table), the objects
    /// they name are at most `limits.maxSubqueryResults` in all, and so are the owners they read, over all conditions.
    @Test func relationConditionsCountAgainstTheSubqueryLimits() async throws {
        var config = GatewayConfig()
        config.limits.federation.maxSubqueryResults = 2
        try await with(config: config) { fx, g, e in
            func p(_ name: String) -> JSONValue { pointer(e[name]!) }
            _ = try await g.create("Team", body: ["name": .string("Ops"), "members": op("AddRelation", [e["Ada"]!, e["Ben"]!])], caller: .master)
            _ = try await g.create("Team", body: ["name": .string("Board"), "members": op("AddRelation", [e["Ben"]!])], caller: .master)
            func refused(_ w: JSONValue, _ limit: String) async throws {
                do {
                    _ = try await g.find("Team", try g.parseFind("Team", ["where": w]), caller: .master, logger: fx.logger)
                    Issue.record("accepted \(w)")
                } catch let error as GatewayError {
                    #expect(error.code == .invalidQuery && error.message.contains(limit), "\(error)")
                }
            }
            // Eleven conditions (each within every other limit) over a limit of ten sub-queries.
            try await refused(.object(["$or": .array((0..<11).map { _ in .object(["members": p("Ada")]) })]), "limits.maxSubqueries")
            // Three objects named over a limit of two, though each condition names fewer.
            try await refused(.object(["$or": .array([.object(["members": .object(["$in": .array([p("Ada"), p("Ben")])])]),
                                                      .object(["members": p("Cleo")])])]), "limits.maxSubqueryResults")
            // Three owners read over a limit of two (Ben's two teams and Ada's one), though each condition reads at most two.
            try await refused(.object(["$or": .array([.object(["members": p("Ben")]), .object(["members": p("Ada")])])]), "limits.maxSubqueryResults")
            // Within the limits.
            let found = try await g.find("Team", try g.parseFind("Team", ["where": .object(["$or": .array([.object(["members": p("Ada")]),
                                                                                                             .object(["members": p("Cleo")])])])]),
                                         caller: .master, logger: fx.logger)
            #expect(found.objects.compactMap { $0.fields["name"]?.stringValue } == ["Ops"])
        }
    }

    @Test func checkFindsMissingJoinTableAndWrongKeyTypes() async throws {
        let yaml = Self.yaml.replacingOccurrences(of: "path: org.sqlite", with: "path: org.sqlite\n  createMissingTables: false")
            .replacingOccurrences(of: "joinTable: team_members", with: "joinTable: team_links")
        let fx = try await SQLiteFixture(yaml: yaml + "\n" + """
          Squad:
            table: squads
            objectId: { column: id, type: string }
            fields:
              staff: { type: relation, targetClass: Employee, joinTable: squad_staff, ownerColumn: squad_id, targetColumn: employee_id }
              crew: { type: relation, targetClass: Employee, joinTable: squad_crew, ownerColumn: squad_id, targetColumn: person }
        """, file: "org.sqlite", statements:
            ["CREATE TABLE teams (id TEXT PRIMARY KEY, name TEXT, _acl TEXT)", "CREATE TABLE employees (id TEXT PRIMARY KEY, name TEXT)",
             "CREATE TABLE squads (id TEXT PRIMARY KEY)", "CREATE TABLE squad_staff (squad_id INTEGER, employee_id TEXT)",
             "CREATE TABLE squad_crew (squad_id TEXT, employee_id TEXT)"])
        let findings = await fx.connector.verify(logger: fx.logger).filter { $0.subject.contains("join table") }
        await fx.close()
        let text = findings.map(\.description).joined(separator: "\n")
        #expect(findings.contains { $0.severity == .error && $0.message.contains("Team.members:") && $0.message.contains("team_links does not exist") }, "\(text)")
        #expect(findings.contains { $0.severity == .error && $0.message.contains("Squad.staff:") && $0.message.contains("squad_id is declared INTEGER") }, "\(text)")
        #expect(findings.contains { $0.severity == .error && $0.message.contains("Squad.crew:") && $0.message.contains("person does not exist") }, "\(text)")
        #expect(findings.allSatisfy { $0.message.contains("test.yaml:") && $0.location?.line ?? 0 > 0 }, "findings name the file and line: \(text)")
    }

    /// A join table whose target column is INTEGER while the target class lives in another connector with string
    /// keys: `causeway check` (given every connector, `PointerCheck.verify`) names the file, line and key.
    @Test func checkComparesJoinColumnsWithAnotherConnectorsKeys() async throws {
        let yaml = """
        kind: sqlite
        connection:
          path: org.sqlite
          createMissingTables: false
        collections:
          Team:
            table: teams
            objectId: { column: id, type: string }
            fields:
              name: { type: string }
              members: { type: relation, targetClass: Employee, joinTable: team_members, ownerColumn: team_id, targetColumn: employee_id }
              rooms: { type: relation, targetClass: Room, joinTable: team_rooms, ownerColumn: team_id, targetColumn: room_id }
              spares: { type: relation, targetClass: Room, joinTable: team_spares, ownerColumn: team_id, targetColumn: room_id }
        """
        let fx = try await SQLiteFixture(yaml: yaml, file: "org.sqlite", statements:
            ["CREATE TABLE teams (id TEXT PRIMARY KEY, name TEXT)",
             "CREATE TABLE team_members (team_id TEXT NOT NULL, employee_id INTEGER NOT NULL)",
             "CREATE TABLE team_rooms (team_id TEXT NOT NULL, room_id INTEGER NOT NULL)",
             "CREATE TABLE team_spares (team_id TEXT NOT NULL, room_id TEXT NOT NULL)"])
        let employee = CollectionSchema(className: "Employee", connectorName: "hr", fields: [:], objectId: ObjectIdMapping(column: "id"))
        let room = CollectionSchema(className: "Room", connectorName: "hr", fields: [:], objectId: ObjectIdMapping(column: "id", type: .integer))
        let hr = MemoryConnector(name: "hr", collections: [employee, room])
        let alone = await fx.connector.verify(logger: fx.logger).filter { $0.subject.contains("join table") }
        let findings = await PointerCheck.verify(fx.connector, among: [fx.connector, hr], logger: fx.logger).filter { $0.subject.contains("join table") }
        await fx.close()
        let text = findings.map { "\($0.location.map(String.init(describing:)) ?? "-") \($0)" }.joined(separator: "\n")
        #expect(alone.allSatisfy { $0.severity == .ok }, "without the other connector the target's key type is unknown")
        let members = findings.first { $0.message.contains("Team.members:") }
        #expect(members?.severity == .error && members?.message.contains("employee_id is declared INTEGER, which does not fit the target's string key (Employee in connector hr)") == true, "\(text)")
        #expect(members?.location?.file.hasSuffix("test.yaml") == true && members?.location?.line == 11
                && members?.location?.keyPath == "collections.Team.fields.members", "file:line:key: \(text)")
        #expect(findings.contains { $0.severity == .ok && $0.message.contains("Team.rooms:") }, "an integer column holds Room's integer keys: \(text)")
        #expect(findings.contains { $0.severity == .ok && $0.message.contains("Team.spares:") }, "a text column holds another connector's keys of any type: \(text)")
    }
}

enum FindAnswerDecoderProbe {
    static func names(_ body: [UInt8]) throws -> [String] {
        guard case .object(let o) = try JSONParser.parse(body), case .array(let results)? = o["results"] else { return [] }
        return results.compactMap { if case .object(let r) = $0, case .string(let n)? = r["name"] { return n } else { return nil } }
    }
}

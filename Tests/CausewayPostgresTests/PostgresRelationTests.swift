import CausewayCore
@testable import CausewayPostgres
import Logging
import PostgresNIO
import Testing

/// `type: relation` fields on a PostgreSQL join table (integer team keys, text employee keys): `$relatedTo`,
/// idempotent `AddRelation`, `RemoveRelation` of a missing link, the owner's permission gate, the cap, an owner's
/// row and links as one transaction (a dangling link under a foreign key changes nothing), relation changes in
/// transactional batches (commit and rollback), and `causeway check` findings for a missing join table and a key
/// type that does not fit.
@Suite(.serialized) struct PostgresRelationTests {
    static let collections = """
          Team:
            schema: SCHEMA
            table: teams
            objectId: { column: id, type: integer, generatedBy: source }
            acl: { column: acl }
            fields:
              name: { type: string }
              members: { type: relation, targetClass: Employee, joinTable: team_members, ownerColumn: team_id, targetColumn: employee_id }
              alumni: { type: relation, targetClass: Employee, joinTable: team_alumni, ownerColumn: team_id, targetColumn: employee_id }
              guests: { type: relation, targetClass: Employee, joinTable: team_guests, ownerColumn: team_id, targetColumn: employee_id }
          Employee:
            schema: SCHEMA
            table: employees
            objectId: { column: id, type: string }
            fields:
              name: { type: string }
    """

    func pointer(_ id: String) -> JSONValue { .object(["__type": .string("Pointer"), "className": .string("Employee"), "objectId": .string(id)]) }
    func op(_ name: String, _ ids: [String]) -> JSONValue { .object(["__op": .string(name), "objects": .array(ids.map(pointer))]) }

    func related(_ g: Gateway, _ team: String, caller: Caller = .master, logger: Logger) async throws -> [String] {
        let w = #"{"$relatedTo":{"object":{"__type":"Pointer","className":"Team","objectId":"\#(team)"},"key":"members"}}"#
        let result = try await g.find("Employee", try g.parseFind("Employee", ["where": .string(w), "order": .string("name")]), caller: caller, logger: logger)
        return result.objects.compactMap { $0.fields["name"]?.stringValue }
    }

    @Test func relationsOnAJoinTable() async throws {
        try await withPostgresFixture(setupSQL: """
            CREATE TABLE teams (id serial PRIMARY KEY, name text, acl jsonb);
            CREATE TABLE employees (id text PRIMARY KEY, name text NOT NULL);
            CREATE TABLE team_members (team_id integer NOT NULL REFERENCES teams(id), employee_id text NOT NULL REFERENCES employees(id), PRIMARY KEY (team_id, employee_id));
            CREATE TABLE team_guests (team_id text, employee_id text);
            INSERT INTO employees VALUES ('e1', 'Ada'), ('e2', 'Ben'), ('e3', 'Cleo');
            INSERT INTO teams (name, acl) VALUES ('Ops', NULL), ('Board', '{}')
            """) { fx in
            let pg = try await fx.connector(Self.collections)
            var config = GatewayConfig()
            config.limits.federation.maxSubqueryResults = 2
            let g = Gateway(config: config, connectors: [pg])
            let log = fx.logger
            _ = try await g.update("Team", objectId: "1", body: ["members": op("AddRelation", ["e1"])], caller: .master)
            _ = try await g.update("Team", objectId: "1", body: ["members": op("AddRelation", ["e1", "e2"])], caller: .master)
            #expect(try await related(g, "1", logger: log) == ["Ada", "Ben"])
            #expect(try await fx.scalar("SELECT count(*)::text FROM \(fx.schemaName).team_members") == "2", "an existing link is not added twice")
            _ = try await g.update("Team", objectId: "1", body: ["members": op("RemoveRelation", ["e3", "e1"])], caller: .master)
            #expect(try await related(g, "1", logger: log) == ["Ben"])

            // Created owners get their links once their row exists (the database generates the key).
            let created = try await g.create("Team", body: ["name": .string("New"), "members": op("AddRelation", ["e3"])], caller: .master)
            #expect(try await related(g, created.objectId!, logger: log) == ["Cleo"])
            #expect(try await g.get("Team", objectId: "1", keys: nil, caller: .master).fields["members"]
                    == .object(["__type": .string("Relation"), "className": .string("Employee")]))

            let projected = try await g.get("Team", objectId: "1", keys: ["members"], caller: .master)
            #expect(projected.fields["members"] != nil && projected.fields["name"] == nil)

            // The owner's ACL: Board is hidden from anonymous callers, so it answers as a team without links.
            _ = try await g.update("Team", objectId: "2", body: ["members": op("AddRelation", ["e1"])], caller: .master)
            #expect(try await related(g, "2", logger: log) == ["Ada"])
            #expect(try await related(g, "2", caller: .anonymous, logger: log) == [])
            #expect(try await related(g, "1", caller: .anonymous, logger: log) == ["Ben"])

            // The cap (2): three links fail with 102 naming the limit.
            _ = try await g.update("Team", objectId: "2", body: ["members": op("AddRelation", ["e2", "e3"])], caller: .master)
            do {
                _ = try await related(g, "2", logger: log)
                Issue.record("three links over a cap of two were accepted")
            } catch let error as GatewayError {
                #expect(error.code == .invalidQuery && error.message.contains("limits.maxSubqueryResults"), "\(error)")
            }
            // A link to an employee that does not exist: the database's reference refuses it with a Parse error, not a
            // 500, and the owner's field changes of the same update are rolled back with the links added before it.
            do {
                _ = try await g.update("Team", objectId: "1", body: ["name": .string("Renamed"), "members": op("AddRelation", ["e3", "nobody"])], caller: .master)
                Issue.record("a dangling link was accepted")
            } catch let error as GatewayError {
                #expect(error.code != .internalServerError, "\(error)")
            }
            #expect(try await fx.scalar("SELECT name FROM \(fx.schemaName).teams WHERE id = 1") == "Ops", "the owner row is unchanged")
            #expect(try await related(g, "1", logger: log) == ["Ben"], "no link was added")
            // A created team whose links fail leaves no row.
            let teams = try await fx.scalar("SELECT count(*)::text FROM \(fx.schemaName).teams")
            do {
                _ = try await g.create("Team", body: ["name": .string("Ghosts"), "members": op("AddRelation", ["nobody"])], caller: .master)
                Issue.record("a created team with a dangling link was accepted")
            } catch let error as GatewayError {
                #expect(error.code != .internalServerError, "\(error)")
            }
            #expect(try await fx.scalar("SELECT count(*)::text FROM \(fx.schemaName).teams") == teams)

            // Inside a transactional batch relation changes commit with the rest, and $relatedTo sees them before the commit.
            let seen = try await g.withTransaction(classNames: ["Team", "Employee"]) { tg in
                _ = try await tg.update("Team", objectId: "1", body: ["name": .string("Ops 2"), "members": op("AddRelation", ["e3"])], caller: .master)
                return try await related(tg, "1", logger: log)
            }
            #expect(seen == ["Ben", "Cleo"])
            #expect(try await fx.scalar("SELECT name FROM \(fx.schemaName).teams WHERE id = 1") == "Ops 2")
            #expect(try await related(g, "1", logger: log) == ["Ben", "Cleo"])
            // … and roll back with it when a later request fails.
            do {
                _ = try await g.withTransaction(classNames: ["Team", "Employee"]) { tg in
                    _ = try await tg.update("Team", objectId: "1", body: ["name": .string("Ops 3"), "members": op("RemoveRelation", ["e2"])], caller: .master)
                    try await tg.delete("Employee", objectId: "nobody", caller: .master)
                }
                Issue.record("a batch with a failing request committed")
            } catch let error as GatewayError {
                #expect(error.code == .objectNotFound, "\(error)")
            }
            #expect(try await fx.scalar("SELECT name FROM \(fx.schemaName).teams WHERE id = 1") == "Ops 2", "rolled back")
            #expect(try await related(g, "1", logger: log) == ["Ben", "Cleo"], "the removed link is back")
            _ = try await g.update("Team", objectId: "1", body: ["name": .string("Ops"), "members": op("RemoveRelation", ["e3"])], caller: .master)

            // Owners by their relation field (integer owner keys come back as text and find their rows).
            func teamNames(_ w: String) async throws -> [String] {
                let r = try await g.find("Team", try g.parseFind("Team", ["where": .string(w), "order": .string("name")]), caller: .master, logger: log)
                return r.objects.compactMap { $0.fields["name"]?.stringValue }
            }
            #expect(try await teamNames(#"{"members":{"__type":"Pointer","className":"Employee","objectId":"e2"}}"#) == ["Board", "Ops"])
            #expect(try await teamNames(#"{"members":{"$nin":[{"__type":"Pointer","className":"Employee","objectId":"e3"}]}}"#) == ["Ops"])

            let findings = await pg.verify(logger: log).filter { $0.subject.contains("join table") }
            let text = findings.map(\.description).joined(separator: "\n")
            #expect(findings.contains { $0.severity == .ok && $0.message.contains("Team.members:") }, "\(text)")
            #expect(findings.contains { $0.severity == .error && $0.message.contains("Team.alumni:") && $0.message.contains("does not exist") }, "\(text)")
            #expect(findings.contains { $0.severity == .error && $0.message.contains("Team.guests:") && $0.message.contains("team_id is text") }, "\(text)")
            #expect(findings.allSatisfy { $0.message.contains(".yaml:") && $0.location?.line ?? 0 > 0 }, "findings name the file and line: \(text)")
        }
    }

    /// Keys held for another connector's classes: a pointer column and a join table's target column that are integer
    /// while the target (in connector `hr`) has string objectIds are errors of `causeway check` naming the file, line
    /// and key; text columns hold any key type.
    @Test func checkComparesKeyColumnsWithAnotherConnectorsKeys() async throws {
        try await withPostgresFixture(setupSQL: """
            CREATE TABLE desks (id text PRIMARY KEY, holder integer, spare text);
            CREATE TABLE desk_users (desk_id text NOT NULL, user_id integer NOT NULL);
            CREATE TABLE desk_rooms (desk_id text NOT NULL, room_id integer NOT NULL);
            CREATE TABLE desk_spares (desk_id text NOT NULL, room_id text NOT NULL)
            """) { fx in
            let pg = try await fx.connector("""
                  Desk:
                    schema: SCHEMA
                    table: desks
                    objectId: { column: id, type: string }
                    fields:
                      holder: { type: pointer, targetClass: Employee }
                      spare: { type: pointer, targetClass: Employee }
                      users: { type: relation, targetClass: Employee, joinTable: desk_users, ownerColumn: desk_id, targetColumn: user_id }
                      rooms: { type: relation, targetClass: Room, joinTable: desk_rooms, ownerColumn: desk_id, targetColumn: room_id }
                      spares: { type: relation, targetClass: Room, joinTable: desk_spares, ownerColumn: desk_id, targetColumn: room_id }
                """)
            let employee = CollectionSchema(className: "Employee", connectorName: "hr", fields: [:], objectId: ObjectIdMapping(column: "id"))
            let room = CollectionSchema(className: "Room", connectorName: "hr", fields: [:], objectId: ObjectIdMapping(column: "id", type: .integer))
            let hr = MemoryConnector(name: "hr", collections: [employee, room])
            let alone = await pg.verify(logger: fx.logger)
            #expect(!alone.contains { $0.severity == .error }, "without the other connector the targets' key types are unknown: \(alone)")
            let findings = await PointerCheck.verify(pg, among: [pg, hr], logger: fx.logger)
            let text = findings.map { "\($0.location.map(String.init(describing:)) ?? "-") \($0)" }.joined(separator: "\n")
            let holder = findings.first { $0.message.contains("Desk.holder:") }
            #expect(holder?.severity == .error && holder?.message.contains("column holder is integer, which cannot hold the string objectIds of Employee (connector hr)") == true, "\(text)")
            #expect(holder?.location?.file.hasSuffix("pg.yaml") == true && (holder?.location?.line ?? 0) > 0
                    && holder?.location?.keyPath == "collections.Desk.fields.holder", "file:line:key: \(text)")
            #expect(!findings.contains { $0.message.contains("Desk.spare:") }, "a text column holds string keys: \(text)")
            let users = findings.first { $0.message.contains("Desk.users:") }
            #expect(users?.severity == .error && users?.message.contains("user_id is integer, which cannot hold the target's string keys (Employee in connector hr)") == true, "\(text)")
            #expect(users?.location?.keyPath == "collections.Desk.fields.users" && (users?.location?.line ?? 0) > (holder?.location?.line ?? 0), "\(text)")
            #expect(findings.contains { $0.severity == .ok && $0.message.contains("Desk.rooms:") }, "integer keys in an integer column: \(text)")
            #expect(findings.contains { $0.severity == .ok && $0.message.contains("Desk.spares:") }, "another connector's integer keys in a text column: \(text)")
        }
    }
}

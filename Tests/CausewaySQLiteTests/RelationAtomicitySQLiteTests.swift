import CausewayCore
@testable import CausewaySQLite
import Foundation
import Logging
import Testing

/// An owner's row and its join-table links are one transaction of the embedded store: a failure in the links (a
/// reference to a missing target, a join table's CHECK) answers a Parse error and leaves the row as it was; inside a
/// transactional batch relation changes commit and roll back with the rest.
@Suite struct RelationAtomicitySQLiteTests {
    static let yaml = """
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
      Employee:
        table: employees
        objectId: { column: id, type: string }
        fields:
          name: { type: string }
    """

    func pointer(_ id: String) -> JSONValue { .object(["__type": .string("Pointer"), "className": .string("Employee"), "objectId": .string(id)]) }
    func op(_ name: String, _ ids: [String]) -> JSONValue { .object(["__op": .string(name), "objects": .array(ids.map(pointer))]) }

    /// Tables made beforehand: the join table references both sides and refuses the id `banned` (CHECK).
    func with(_ body: (SQLiteFixture, Gateway) async throws -> Void) async throws {
        let fx = try await SQLiteFixture(yaml: Self.yaml, file: "org.sqlite", statements:
            ["CREATE TABLE teams (id TEXT PRIMARY KEY, name TEXT)",
             "CREATE TABLE employees (id TEXT PRIMARY KEY, name TEXT)",
             """
             CREATE TABLE team_members (team_id TEXT NOT NULL REFERENCES teams(id), employee_id TEXT NOT NULL REFERENCES employees(id)
               CHECK (employee_id <> 'banned'), PRIMARY KEY (team_id, employee_id))
             """,
             "INSERT INTO teams VALUES ('t1', 'Ops')",
             "INSERT INTO employees VALUES ('e1', 'Ada'), ('e2', 'Ben'), ('e3', 'Cleo'), ('banned', 'Mallory')",
             "INSERT INTO team_members VALUES ('t1', 'e1')"])
        do {
            try await body(fx, Gateway(config: GatewayConfig(), connectors: [fx.connector]))
        } catch {
            await fx.close()
            throw error
        }
        await fx.close()
    }

    func scalar(_ fx: SQLiteFixture, _ sql: String) async throws -> String {
        let rows = try await fx.connector.connections().read(sql, [])
        guard let data = rows.first?.columns.first?.data else { return "" }
        return data.string ?? data.integer.map(String.init) ?? ""
    }

    func links(_ fx: SQLiteFixture) async throws -> String {
        try await scalar(fx, "SELECT group_concat(team_id || ':' || employee_id, ',') FROM (SELECT * FROM team_members ORDER BY 1, 2)")
    }

    func expectRefused(_ code: ParseErrorCode, _ what: String, _ body: () async throws -> Void) async {
        do {
            try await body()
            Issue.record("\(what) was accepted")
        } catch let error as GatewayError {
            #expect(error.code == code, "\(what): \(error)")
        } catch {
            Issue.record("\(what): \(error)")
        }
    }

    @Test func aFailingLinkLeavesTheOwnerAsItWas() async throws {
        try await with { fx, g in
            // e2 is linked first, then the missing target fails the reference: neither the name nor e2 stays.
            await expectRefused(.validationError, "a link to a missing employee") {
                _ = try await g.update("Team", objectId: "t1", body: ["name": .string("Renamed"), "members": op("AddRelation", ["e2", "nobody"])], caller: .master)
            }
            #expect(try await scalar(fx, "SELECT name FROM teams WHERE id = 't1'") == "Ops")
            #expect(try await links(fx) == "t1:e1")
            // The join table's own CHECK, after a removal in the same update: the removal is rolled back too.
            await expectRefused(.validationError, "a link the join table's CHECK refuses") {
                _ = try await g.update("Team", objectId: "t1", body: ["name": .string("Renamed"),
                    "members": .object(["__op": .string("Batch"), "ops": .array([op("RemoveRelation", ["e1"]), op("AddRelation", ["banned"])])])], caller: .master)
            }
            #expect(try await scalar(fx, "SELECT name FROM teams WHERE id = 't1'") == "Ops")
            #expect(try await links(fx) == "t1:e1")
            // A create whose links fail leaves no row.
            await expectRefused(.validationError, "a created team with a missing member") {
                _ = try await g.create("Team", body: ["name": .string("Ghosts"), "members": op("AddRelation", ["nobody"])], caller: .master)
            }
            #expect(try await scalar(fx, "SELECT count(*) FROM teams") == "1")
            // A missing owner: nothing is linked.
            await expectRefused(.objectNotFound, "a missing owner") {
                _ = try await g.update("Team", objectId: "t9", body: ["name": .string("x"), "members": op("AddRelation", ["e2"])], caller: .master)
            }
            #expect(try await links(fx) == "t1:e1")
            // The same writes with valid ids commit both parts.
            _ = try await g.update("Team", objectId: "t1", body: ["name": .string("Renamed"), "members": op("AddRelation", ["e2"])], caller: .master)
            #expect(try await scalar(fx, "SELECT name FROM teams WHERE id = 't1'") == "Renamed")
            #expect(try await links(fx) == "t1:e1,t1:e2")
            let created = try await g.create("Team", body: ["name": .string("New"), "members": op("AddRelation", ["e3"])], caller: .master)
            #expect(try await links(fx).contains("\(created.objectId!):e3"))
            // The writer is free again: an ordinary write after the failures goes through.
            _ = try await g.update("Team", objectId: "t1", body: ["name": .string("Ops")], caller: .master)
        }
    }

    @Test func relationChangesInATransactionalBatch() async throws {
        try await with { fx, g in
            // Commit: the owner's field, its links and another class's row together; $relatedTo inside sees the links.
            let inside = try await g.withTransaction(classNames: ["Team", "Employee"]) { tg in
                _ = try await tg.update("Team", objectId: "t1", body: ["name": .string("Ops 2"), "members": op("AddRelation", ["e2"])], caller: .master)
                _ = try await tg.create("Employee", body: ["name": .string("Dan")], caller: .master)
                let w = #"{"$relatedTo":{"object":{"__type":"Pointer","className":"Team","objectId":"t1"},"key":"members"}}"#
                let found = try await tg.find("Employee", try tg.parseFind("Employee", ["where": .string(w), "order": .string("name")]), caller: .master, logger: fx.logger)
                return found.objects.compactMap { $0.fields["name"]?.stringValue }
            }
            #expect(inside == ["Ada", "Ben"])
            #expect(try await scalar(fx, "SELECT name FROM teams WHERE id = 't1'") == "Ops 2")
            #expect(try await links(fx) == "t1:e1,t1:e2")
            #expect(try await scalar(fx, "SELECT count(*) FROM employees") == "5")

            // Rollback: a later failure undoes the earlier links and rows of the batch.
            await expectRefused(.objectNotFound, "a batch whose last write fails") {
                _ = try await g.withTransaction(classNames: ["Team", "Employee"]) { tg in
                    _ = try await tg.update("Team", objectId: "t1", body: ["name": .string("Ops 3"), "members": op("RemoveRelation", ["e1"])], caller: .master)
                    _ = try await tg.create("Team", body: ["name": .string("Temp"), "members": op("AddRelation", ["e3"])], caller: .master)
                    _ = try await tg.delete("Employee", objectId: "nobody", caller: .master)
                }
            }
            #expect(try await scalar(fx, "SELECT name FROM teams WHERE id = 't1'") == "Ops 2")
            #expect(try await links(fx) == "t1:e1,t1:e2")
            #expect(try await scalar(fx, "SELECT count(*) FROM teams") == "1")
            // A failing link inside the batch rolls it back too (its error is the answer).
            await expectRefused(.validationError, "a batch with a missing member") {
                _ = try await g.withTransaction(classNames: ["Team"]) { tg in
                    _ = try await tg.update("Team", objectId: "t1", body: ["name": .string("Ops 4")], caller: .master)
                    _ = try await tg.update("Team", objectId: "t1", body: ["members": op("AddRelation", ["nobody"])], caller: .master)
                }
            }
            #expect(try await scalar(fx, "SELECT name FROM teams WHERE id = 't1'") == "Ops 2")
        }
    }
}

import CausewayCore
import CausewayHTTPTesting
import CausewaySQLite
import Foundation
import Logging
import Testing

/// Row-level rules, owner fields, protected fields and per-object ACLs, with users from the local provider.
@Suite struct PermissionTests {
    static let identity = """
    identityProviders:
      - kind: local
        fields: [department]
        roles: { root: [Admin], hank: [HR] }
    """

    static let connectors = """
    kind: sqlite
    connection:
      path: store.sqlite
    collections:
      Ticket:
        table: tickets
        createdAt: created_at
        updatedAt: updated_at
        fields:
          title: { type: string }
          department: { type: string }
          owner: { type: string }
          salary: { type: number }
          notes: { type: string }
        owner: { field: owner }
        rowLevel:
          read: { department: "$user.department" }
          write: { department: "$user.department" }
          exempt: ["role:Admin"]
        protectedFields:
          "*": [salary, notes]
          "role:HR": [notes]
        seed:
          - { title: "IT one", department: IT, owner: root, salary: 1, notes: "n1" }
          - { title: "IT two", department: IT, owner: root, salary: 3, notes: "n3" }
          - { title: "HR one", department: HR, owner: root, salary: 2, notes: "n2" }
      Note:
        table: notes
        acl: true
        fields:
          text: { type: string }
    """

    func app() throws -> ParseTestApp { try ParseTestApp(identity: Self.identity, connectors: Self.connectors) }

    /// Signs up and logs in the three users; returns their tokens.
    func users(_ c: ParseClient) async throws -> (alice: String, hank: String, root: String) {
        for (name, department) in [("alice", "IT"), ("hank", "HR"), ("root", "IT")] {
            _ = try await c.request(.post, "/parse/users", #"{"username":"\#(name)","password":"long enough","department":"\#(department)"}"#)
        }
        return (try await c.token("alice", "long enough"), try await c.token("hank", "long enough"), try await c.token("root", "long enough"))
    }

    @Test func rowRulesLimitWhatEachUserReads() async throws {
        try await app().run { c in
            let (alice, hank, root) = try await users(c)
            let mine = try await c.find("Ticket", ["order": "title", "count": "1"], headers: ParseClient.session(alice))
            #expect(mine.ids("title") == ["IT one", "IT two"] && mine["count"] == .int(2))
            #expect(try await c.find("Ticket", [:], headers: ParseClient.session(hank)).ids("title") == ["HR one"])
            #expect(try await c.find("Ticket", [:]).ids("title").isEmpty)  // no user: the rule matches nothing
            #expect(try await c.find("Ticket", ["order": "title"], headers: ParseClient.session(root)).ids("title") == ["HR one", "IT one", "IT two"])
            let hrId = try await c.find("Ticket", [:], headers: ParseClient.session(hank)).results.first?["objectId"]?.stringValue ?? ""
            let hidden = try await c.get("/parse/classes/Ticket/\(hrId)", headers: ParseClient.session(alice))
            #expect(hidden.status == 404 && hidden.code == 101)
            // An explicit filter cannot widen the rule.
            #expect(try await c.find("Ticket", ["where": #"{"department":"HR"}"#], headers: ParseClient.session(alice)).results.isEmpty)
            #expect(try await c.find("Ticket", ["where": #"{"$or":[{"department":"HR"},{"title":"HR one"}]}"#], headers: ParseClient.session(alice)).results.isEmpty)
        }
    }

    @Test func rowRulesArePushedDownToTheSource() async throws {
        let app = try app()
        let gateway = Gateway(config: app.configuration.gateway, connectors: app.configuration.connectors)
        for connector in app.configuration.connectors { try await connector.start(logger: Logger(label: "test")) }
        let alice = Caller(user: .init(objectId: "a1", username: "alice"), roles: [], attributes: ["department": "IT"])
        let query = try gateway.parseFind("Ticket", ["limit": .int(1), "order": .string("title")])
        let result = try await gateway.find("Ticket", query, caller: alice, logger: Logger(label: "test"))
        let plan = try #require(result.plan)
        #expect(plan.isFullyPushed && plan.source.limit == 1)
        #expect(plan.source.filter == .field("department", .equal(.string("IT"))))
        #expect(result.objects.map { $0.fields["title"] } == [.string("IT one")])
        for connector in app.configuration.connectors { await connector.shutdown() }
    }

    @Test func protectedFieldsAreHiddenAndCannotBeQueried() async throws {
        try await app().run { c in
            let (alice, hank, _) = try await users(c)
            let a = try await c.find("Ticket", [:], headers: ParseClient.session(alice))
            #expect(a.results.allSatisfy { $0["salary"] == nil && $0["notes"] == nil && $0["title"] != nil })
            // hank's entries: * hides salary and notes, role:HR hides notes: only what all hide stays hidden.
            let h = try await c.find("Ticket", [:], headers: ParseClient.session(hank))
            #expect(h.results.first?["salary"] == .int(2) && h.results.first?["notes"] == nil)
            let probe = try await c.find("Ticket", ["where": #"{"salary":{"$gt":2}}"#], headers: ParseClient.session(alice))
            #expect(probe.code == 119 && probe.errorMessage.contains("protected"))
            #expect(try await c.find("Ticket", ["order": "-notes"], headers: ParseClient.session(hank)).code == 119)
            let m = try await c.find("Ticket", ["order": "title"], headers: ParseClient.masterHeaders)
            #expect(m.results.first?["notes"]?.stringValue == "n2")
            let id = a.results.first?["objectId"]?.stringValue ?? ""
            #expect(try await c.get("/parse/classes/Ticket/\(id)", headers: ParseClient.session(alice))["salary"] == nil)
        }
    }

    @Test func ownersAndWriteRules() async throws {
        try await app().run { c in
            let (alice, hank, root) = try await users(c)
            let created = try await c.request(.post, "/parse/classes/Ticket", #"{"title":"mine","department":"IT"}"#, headers: ParseClient.session(alice))
            #expect(created.status == 201)
            let id = created["objectId"]?.stringValue ?? ""
            #expect(try await c.get("/parse/classes/Ticket/\(id)", headers: ParseClient.session(alice))["owner"]?.stringValue == "alice")
            // Outside the write rule, someone else as owner, or nobody signed in: refused.
            #expect(try await c.request(.post, "/parse/classes/Ticket", #"{"title":"x","department":"HR"}"#, headers: ParseClient.session(alice)).code == 119)
            #expect(try await c.request(.post, "/parse/classes/Ticket", #"{"title":"x","department":"IT","owner":"root"}"#, headers: ParseClient.session(alice)).code == 119)
            #expect(try await c.request(.post, "/parse/classes/Ticket", #"{"title":"x","department":"IT"}"#).code == 119)
            // Changes: own rows only, never out of the rule, never reassigned.
            #expect(try await c.request(.put, "/parse/classes/Ticket/\(id)", #"{"title":"renamed"}"#, headers: ParseClient.session(alice)).status == 200)
            #expect(try await c.request(.put, "/parse/classes/Ticket/\(id)", #"{"department":"HR"}"#, headers: ParseClient.session(alice)).code == 119)
            #expect(try await c.request(.put, "/parse/classes/Ticket/\(id)", #"{"owner":"hank"}"#, headers: ParseClient.session(alice)).code == 119)
            let rootsIT = try await c.find("Ticket", ["where": #"{"title":"IT one"}"#], headers: ParseClient.session(alice)).results.first?["objectId"]?.stringValue ?? ""
            #expect(try await c.request(.put, "/parse/classes/Ticket/\(rootsIT)", #"{"title":"hijack"}"#, headers: ParseClient.session(alice)).code == 101)
            #expect(try await c.request(.delete, "/parse/classes/Ticket/\(rootsIT)", headers: ParseClient.session(alice)).code == 101)
            #expect(try await c.request(.delete, "/parse/classes/Ticket/\(id)", headers: ParseClient.session(hank)).code == 101)
            // Exempt (role:Admin) and the master key are not bound by the rules.
            #expect(try await c.request(.put, "/parse/classes/Ticket/\(id)", #"{"title":"by root"}"#, headers: ParseClient.session(root)).status == 200)
            #expect(try await c.request(.delete, "/parse/classes/Ticket/\(id)", headers: ParseClient.session(alice)).status == 200)
            #expect(try await c.request(.delete, "/parse/classes/Ticket/\(rootsIT)", headers: ParseClient.masterHeaders).status == 200)
        }
    }

    @Test func objectACLsDecideWhoReadsAndWrites() async throws {
        try await app().run { c in
            let (alice, hank, _) = try await users(c)
            let aliceId = try await c.get("/parse/users/me", headers: ParseClient.session(alice))["objectId"]?.stringValue ?? ""
            let privateNote = try await c.request(.post, "/parse/classes/Note", #"{"text":"alice only","ACL":{"\#(aliceId)":{"read":true,"write":true}}}"#,
                                                  headers: ParseClient.session(alice))
            #expect(privateNote.status == 201)
            let privateId = privateNote["objectId"]?.stringValue ?? ""
            _ = try await c.request(.post, "/parse/classes/Note", #"{"text":"public"}"#)
            _ = try await c.request(.post, "/parse/classes/Note", #"{"text":"hr","ACL":{"role:HR":{"read":true}}}"#, headers: ParseClient.masterHeaders)
            _ = try await c.request(.post, "/parse/classes/Note", #"{"text":"read-only","ACL":{"*":{"read":true}}}"#, headers: ParseClient.masterHeaders)

            let forAlice = try await c.find("Note", ["order": "text", "count": "1"], headers: ParseClient.session(alice))
            #expect(forAlice.ids("text") == ["alice only", "public", "read-only"] && forAlice["count"] == .int(3))
            #expect(forAlice.results.first?["ACL"]?[aliceId]?["write"] == .bool(true))
            #expect(try await c.find("Note", ["order": "text"], headers: ParseClient.session(hank)).ids("text") == ["hr", "public", "read-only"])
            #expect(try await c.find("Note", ["order": "text"]).ids("text") == ["public", "read-only"])
            #expect(try await c.get("/parse/classes/Note/\(privateId)", headers: ParseClient.session(hank)).code == 101)
            #expect(try await c.request(.put, "/parse/classes/Note/\(privateId)", #"{"text":"x"}"#, headers: ParseClient.session(hank)).code == 101)
            #expect(try await c.request(.put, "/parse/classes/Note/\(privateId)", #"{"text":"edited"}"#, headers: ParseClient.session(alice)).status == 200)
            let readOnly = try await c.find("Note", ["where": #"{"text":"read-only"}"#]).results.first?["objectId"]?.stringValue ?? ""
            #expect(try await c.request(.delete, "/parse/classes/Note/\(readOnly)", headers: ParseClient.session(alice)).code == 101)
            #expect(try await c.find("Note", [:], headers: ParseClient.masterHeaders).results.count == 4)
            // Malformed ACLs are refused with 123.
            for bad in [#""all""#, #"{"*":{"read":"yes"}}"#, #"{"*":{"delete":true}}"#, #"{"role:":{"read":true}}"#, #"{"a b":{"read":true}}"#] {
                #expect(try await c.request(.post, "/parse/classes/Note", #"{"text":"bad","ACL":\#(bad)}"#).code == 123, "ACL \(bad)")
            }
        }
    }

    @Test func rulesAreCheckedWhenTheConfigurationIsRead() throws {
        let wrongField = Self.connectors.replacingOccurrences(of: #"read: { department: "$user.department" }"#, with: #"read: { dept: "$user.department" }"#)
        #expect(throws: ConfigErrors.self) { try ParseTestApp(identity: Self.identity, connectors: wrongField) }
        do { _ = try ParseTestApp(identity: Self.identity, connectors: wrongField) } catch let e as ConfigErrors {
            #expect(e.errors.first?.description.contains("collections.Ticket.rowLevel.read") == true, "\(e.errors)")
        } catch {}
        let wrongOwner = Self.connectors.replacingOccurrences(of: "owner: { field: owner }", with: "owner: { field: salary }")
        do { _ = try ParseTestApp(identity: Self.identity, connectors: wrongOwner) } catch let e as ConfigErrors {
            #expect(e.errors.first?.description.contains("must be a string field") == true, "\(e.errors)")
        } catch { Issue.record("expected a configuration error") }
    }
}

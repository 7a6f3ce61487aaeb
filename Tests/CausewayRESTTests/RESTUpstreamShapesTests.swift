import CausewayCore
import CausewayHTTPTesting
@testable import CausewayREST
import Foundation
import Testing

/// The shapes real REST-over-database servers answer in (TestUpstream+Shapes), each declared in YAML.
@Suite struct RESTUpstreamShapesTests {
    static func yaml(_ port: Int, _ collections: String, connection: String = "") -> String {
        """
        kind: rest
        connection:
          baseURL: http://127.0.0.1:\(port)
          requestTimeoutSeconds: 15
          retries: 1
          retryBackoffMilliseconds: 5
        \(connection)
        collections:
        \(collections)
        """
    }

    static let datasette = """
          Ticket:
            list: /ds/tickets
            get: /ds/tickets/{objectId}
            create: { method: POST, path: /ds/tickets/insert, body: { row: "{record}" } }
            records: rows
            record: rows[0]
            total: filtered_table_rows_count
            objectId: { column: id, type: integer }
            pagination: { style: cursor, cursorPath: next, cursorParam: _next, sizeParam: _size, pageSize: 10 }
            listOrder: objectId
            filters:
              objectId: { equal: id__exact }
            fields:
              title: { type: string }
              status: { type: string }
          NoGet:
            list: /ds/tickets
            records: rows
            objectId: { column: id, type: integer }
            pagination: { style: cursor, cursorPath: next, cursorParam: _next, sizeParam: _size, pageSize: 10 }
            filters:
              objectId: { equal: id__exact }
            fields:
              title: { type: string }
          Opaque:
            list: /ds/tickets
            create: /ds/opaque
            records: rows
            objectId: { column: id, type: integer }
            pagination: { style: cursor, cursorPath: next, cursorParam: _next, pageSize: 10 }
            fields:
              title: { type: string }
          Silent:
            list: /ds/tickets
            create: /ds/silent
            records: rows
            objectId: { column: id, type: integer }
            pagination: { style: cursor, cursorPath: next, cursorParam: _next, pageSize: 10 }
            fields:
              title: { type: string }
        """

    @Test func oneRecordInAnArrayForGetsAndInserts() async throws {
        let upstream = TestUpstream()
        try await upstream.run { port in
            try await ParseTestApp(connectors: Self.yaml(port, Self.datasette), factories: [RESTConnectorFactory()]).run { c async throws in
                let seven = try await c.get("/parse/classes/Ticket/7")
                #expect(seven.status == 200 && seven["title"]?.stringValue == "ticket 7", "\(seven.text)")
                #expect(try await c.get("/parse/classes/Ticket/999").code == 101)  // {"rows": []}
                let created = try await c.request(.post, "/parse/classes/Ticket", #"{"title":"from causeway","status":"open"}"#)
                #expect(created.status == 201 && created["objectId"]?.stringValue == "26", "\(created.text)")
                #expect(upstream.state.withLock { $0.tickets[26]?.title } == "from causeway")

                // Without `get`: one list request filtered by the id, not a scan of the table.
                upstream.clearLog()
                let byFilter = try await c.get("/parse/classes/NoGet/13")
                #expect(byFilter["title"]?.stringValue == "ticket 13")
                #expect(upstream.log == ["GET /ds/tickets?_size=10&id__exact=13"])
                #expect(try await c.get("/parse/classes/NoGet/999").code == 101)

                // The page size goes with cursor paging too (sizeParam), and every page is read.
                upstream.clearLog()
                let all = try await c.find("Ticket", ["limit": "100", "count": "1"])
                #expect(all.results.count == 26 && all["count"] == .int(26))
                #expect(upstream.log.first == "GET /ds/tickets?_size=10")
                let later = upstream.log.filter { $0.contains("_next=") }
                #expect(later.count == 2 && later.allSatisfy { $0.contains("_size=10") }, "\(upstream.log)")
            }
        }
    }

    @Test func aWriteTheAPIAcceptedIsNeverReportedAsFailed() async throws {
        let upstream = TestUpstream()
        try await upstream.run { port in
            try await ParseTestApp(connectors: Self.yaml(port, Self.datasette), factories: [RESTConnectorFactory()]).run { c async throws in
                // {"ok": true} and a Location header: success, with the id from the header.
                let located = try await c.request(.post, "/parse/classes/Opaque", #"{"title":"located"}"#)
                #expect(located.status == 201 && located["objectId"]?.stringValue == "26", "\(located.text)")
                // No id anywhere: an error that says the record was created (and it was).
                let silent = try await c.request(.post, "/parse/classes/Silent", #"{"title":"silent"}"#)
                #expect(silent.status == 500 && silent.code == 1 && silent.errorMessage.contains("created the Silent"), "\(silent.text)")
                #expect(silent.errorMessage.contains("exists upstream"))
                #expect(upstream.state.withLock { s in s.tickets.values.contains { $0.title == "silent" } })
            }
        }
    }

    static let jsonapi = """
          Issue:
            list: /api/tickets
            get: /api/tickets/{objectId}
            create: { method: POST, path: /api/tickets, body: { data: { type: ticket, id: "{objectId}", "{record}": merge } } }
            update: { method: PATCH, path: "/api/tickets/{objectId}", body: { data: { type: ticket, id: "{objectId}", "{record}": merge } } }
            records: data
            record: data
            total: meta.total
            objectId: { column: id, type: integer }
            pagination: { style: nextURL, nextPath: links.next, sizeParam: "page[limit]", pageSize: 6, fallback: { offsetParam: "page[offset]", limitParam: "page[limit]" } }
            sort: { param: sort, fields: { title: title } }
            fields:
              title: { type: string, column: attributes.title }
              status: { type: string, column: attributes.status }
          Strict:
            list: /api/tickets
            records: data
            total: meta.total
            objectId: { column: id, type: integer }
            pagination: { style: nextURL, nextPath: links.next, sizeParam: "page[limit]", pageSize: 6 }
            fields:
              title: { type: string, column: attributes.title }
        """

    @Test func pagesThatEndBeforeTheTotalAreReadOnOrRefused() async throws {
        let upstream = TestUpstream()
        try await upstream.run { port in
            try await ParseTestApp(connectors: Self.yaml(port, Self.jsonapi), factories: [RESTConnectorFactory()]).run { c async throws in
                // The next link is missing on the second-to-last page (offset 18 of 25): read on by offset.
                upstream.clearLog()
                let all = try await c.find("Issue", ["limit": "1000", "where": #"{"title":{"$regex":"ticket"}}"#])
                #expect(all.results.count == 25, "\(all.text.prefix(300))")
                #expect(upstream.log.first == "GET /api/tickets?page%5Blimit%5D=6")
                #expect(upstream.log.last == "GET /api/tickets?page%5Blimit%5D=6&page%5Boffset%5D=24")
                let counted = try await c.find("Issue", ["limit": "0", "count": "1", "where": #"{"title":{"$regex":"ticket"}}"#])
                #expect(counted["count"] == .int(25))
                // Without a fallback: a clear error, never 24 rows presented as all of them.
                let strict = try await c.find("Strict", ["limit": "1000"])
                #expect(strict.status == 500 && strict.errorMessage.contains("reported 25 Strict records, but its pages ended after 24"), "\(strict.text)")
            }
        }
    }

    @Test func jsonAPIWriteBodies() async throws {
        let upstream = TestUpstream()
        try await upstream.run { port in
            try await ParseTestApp(connectors: Self.yaml(port, Self.jsonapi), factories: [RESTConnectorFactory()]).run { c async throws in
                let created = try await c.request(.post, "/parse/classes/Issue", #"{"title":"json api","status":"open"}"#)
                #expect(created.status == 201 && created["objectId"]?.stringValue == "26", "\(created.text)")
                let updated = try await c.request(.put, "/parse/classes/Issue/26", #"{"status":"closed"}"#)
                #expect(updated.status == 200, "\(updated.text)")
                #expect(upstream.state.withLock { $0.tickets[26]?.status } == "closed")
                #expect(try await c.get("/parse/classes/Issue/26")["status"]?.stringValue == "closed")
            }
        }
    }

    @Test func bodyTemplatesPlaceMergeAndFillTheId() {
        let record = JSONValue.object(["title": .string("t"), "type": .string("from record")])
        let merged = RESTBodyTemplate.body(record, template: .object(["{record}": .string("merge"), "type": .string("ticket"), "source": .string("causeway")]), objectId: nil)
        #expect(merged == .object(["title": .string("t"), "type": .string("ticket"), "source": .string("causeway")]))
        let jsonapi = JSONValue.object(["data": .object(["type": .string("ticket"), "id": .string("{objectId}"), "attributes": .string("{record}")])])
        #expect(RESTBodyTemplate.body(record, template: jsonapi, objectId: "7")
            == .object(["data": .object(["type": .string("ticket"), "id": .string("7"), "attributes": record])]))
        // On create there is no id yet: the key is left out.
        #expect(RESTBodyTemplate.body(record, template: jsonapi, objectId: nil)
            == .object(["data": .object(["type": .string("ticket"), "attributes": record])]))
        #expect(RESTBodyTemplate.body(record, template: .object(["ref": .string("ticket-{objectId}"), "r": .string("{record}")]), objectId: "9")["ref"] == .string("ticket-9"))
        #expect(!RESTBodyTemplate.placesRecord(.object(["a": .string("b")])))
        #expect(RESTPath.parse("rows[0]") == ["rows", "[0]"] && RESTPath.parse("[0]") == ["[0]"] && RESTPath.parse("a.b[2][1]") == ["a", "b", "[2]", "[1]"])
        #expect(RESTPath.parse("rows[x]") == nil && RESTPath.parse("a..b") == nil)
    }

    @Test func pagesPastTheEndThatAreHTMLOrEmpty() async throws {
        let upstream = TestUpstream()
        let declared = """
          Html:
            list: /htmlpaged
            objectId: { column: id, type: integer }
            pagination: { style: page, pageSize: 5, endOn: [404] }
            fields:
              title: { type: string }
          Empty:
            list: /emptypaged
            objectId: { column: id, type: integer }
            pagination: { style: page, pageSize: 5, endOn: [empty] }
            fields:
              title: { type: string }
          HtmlAny:
            list: /htmlpaged
            objectId: { column: id, type: integer }
            pagination: { style: page, pageSize: 5, endOn: [nonJSON] }
            fields:
              title: { type: string }
          Undeclared:
            list: /htmlpaged
            objectId: { column: id, type: integer }
            pagination: { style: page, pageSize: 5 }
            fields:
              title: { type: string }
        """
        try await upstream.run { port in
            try await ParseTestApp(connectors: Self.yaml(port, declared), factories: [RESTConnectorFactory()]).run { c async throws in
                for name in ["Html", "Empty", "HtmlAny"] {
                    let all = try await c.find(name, ["limit": "100", "count": "1"])
                    #expect(all.status == 200 && all.results.count == 25 && all["count"] == .int(25), "\(name): \(all.text.prefix(200))")
                }
                let undeclared = try await c.find("Undeclared", ["limit": "100"])
                #expect(undeclared.status == 500 && undeclared.errorMessage.contains("endOn"), "\(undeclared.text)")
                #expect(!undeclared.text.contains("secret-upstream-detail"))
            }
        }
    }

    @Test func descendingSortStyles() async throws {
        let upstream = TestUpstream()
        func sorted(_ name: String, _ sort: String) -> String {
            """
              \(name):
                list: /sorted
                objectId: { column: id, type: integer }
                sort: \(sort)
                fields:
                  title: { type: string }
            """
        }
        let collections = [
            sorted("Separate", "{ param: _sort, descendingParam: _sort_desc, fields: { title: title } }"),
            sorted("Direction", "{ param: sort, directionParam: order, fields: { title: title } }"),
            sorted("Suffix", #"{ param: sort, descendingSuffix: ":desc", fields: { title: title } }"#),
        ].joined(separator: "\n")
        try await upstream.run { port in
            try await ParseTestApp(connectors: Self.yaml(port, collections), factories: [RESTConnectorFactory()]).run { c async throws in
                let expected: [String: (String, String)] = [
                    "Separate": ("GET /sorted?_sort_desc=title", "GET /sorted?_sort=title"),
                    "Direction": ("GET /sorted?order=desc&sort=title", "GET /sorted?order=asc&sort=title"),
                    "Suffix": ("GET /sorted?sort=title%3Adesc", "GET /sorted?sort=title"),
                ]
                for (name, (desc, asc)) in expected {
                    upstream.clearLog()
                    let top = try await c.find(name, ["order": "-title", "limit": "2"])
                    #expect(top.ids("title") == ["ticket 9", "ticket 8"], "\(name)")
                    let bottom = try await c.find(name, ["order": "title", "limit": "2"])
                    #expect(bottom.ids("title") == ["ticket 1", "ticket 10"], "\(name)")
                    #expect(upstream.log == [desc, asc], "\(name)")
                }
            }
        }
    }

    @Test func countAgreesWithFindWhenTheAPIFilterIsLooser() async throws {
        let upstream = TestUpstream()
        let loose = """
          Loose:
            list: /loose
            records: items
            total: total
            objectId: { column: id, type: integer }
            pagination: { style: offset, pageSize: 10 }
            filters:
              status: { equal: status }
            fields:
              status: { type: string }
        """
        try await upstream.run { port in
            try await ParseTestApp(connectors: Self.yaml(port, loose), factories: [RESTConnectorFactory()]).run { c async throws in
                // The API's "status=clos" matches "closed"; Parse's equality matches nothing.
                let found = try await c.find("Loose", ["where": #"{"status":"clos"}"#, "count": "1"])
                #expect(found.results.isEmpty && found["count"] == .int(0), "\(found.text)")
                let counted = try await c.find("Loose", ["where": #"{"status":"clos"}"#, "count": "1", "limit": "0"])
                #expect(counted["count"] == .int(0))
                // Without conditions the total is exact, and one request of one record answers it.
                upstream.clearLog()
                #expect(try await c.find("Loose", ["count": "1", "limit": "0"])["count"] == .int(25))
                #expect(upstream.log == ["GET /loose?limit=1&offset=0"])
            }
        }
    }
}

import CausewayCore
import Foundation
import HTTPTypes
import Hummingbird

/// Shapes of real REST-over-database servers, over the same tickets: a Datasette-like API (one record
/// wrapped in `{"rows":[…]}`), a JSON:API service (resources with attributes, a `next` link missing on the
/// second-to-last page, write bodies in `data`), pages past the end that are HTML 404s or empty, sort
/// direction parameters, and a filter looser than Parse's.
extension TestUpstream {
    func flat(_ t: Ticket) -> JSONValue {
        .object(["id": .int(Int64(t.id)), "title": .string(t.title), "status": .string(t.status)])
    }

    func resource(_ t: Ticket) -> JSONValue {
        .object(["type": .string("ticket"), "id": .string(String(t.id)), "attributes": .object(["title": .string(t.title), "status": .string(t.status)])])
    }

    func insert(title: String, status: String) -> Ticket {
        state.withLock { s -> Ticket in
            let t = Ticket(id: s.nextId, title: title, status: status, created: 1_800_000_000)
            s.tickets[t.id] = t
            s.nextId += 1
            return t
        }
    }

    var all: [Ticket] { state.withLock { s in s.tickets.values.sorted { $0.id < $1.id } } }

    static func text(_ text: String, status: HTTPResponse.Status, type: String) -> Response {
        Response(status: status, headers: [.contentType: type], body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    func body(_ request: Request) async throws -> JSONValue {
        var request = request
        return try JSONParser.parse(Array(buffer: try await request.collectBody(upTo: 1 << 20)))
    }

    /// A query parameter whose name may arrive percent-encoded (`page%5Blimit%5D`), as servers decode it.
    static func parameter(_ request: Request, _ name: String) -> String? {
        for (key, value) in request.uri.queryParameters where (key.removingPercentEncoding ?? String(key)) == name { return String(value) }
        return nil
    }

    func addShapes(to router: Router<BasicRequestContext>) {
        // Datasette-like: ?id__exact=, ?_size=, ?_next= (cursor), one record as {"rows":[…]}.
        router.get("/ds/tickets") { request, _ -> Response in
            var rows = self.all
            if let id = request.uri.queryParameters["id__exact"].flatMap({ Int(String($0)) }) { rows = rows.filter { $0.id == id } }
            let total = rows.count
            let after = Int(request.uri.queryParameters["_next"] ?? "0") ?? 0
            let size = Int(request.uri.queryParameters["_size"] ?? "10") ?? 10
            let page = rows.filter { $0.id > after }.prefix(size)
            let next: JSONValue = page.count == size && page.last!.id < rows.last!.id ? .string(String(page.last!.id)) : .null
            return Self.json(.object(["rows": .array(page.map(self.flat)), "filtered_table_rows_count": .int(Int64(total)), "next": next]))
        }
        router.get("/ds/tickets/:id") { _, context -> Response in
            let t = context.parameters.get("id", as: Int.self).flatMap { id in self.state.withLock { $0.tickets[id] } }
            return Self.json(.object(["rows": .array(t.map { [self.flat($0)] } ?? [])]))
        }
        router.post("/ds/tickets/insert") { request, _ -> Response in
            let body = try await self.body(request)
            guard let title = body["row"]?["title"]?.stringValue else { return Self.json(.object(["ok": .bool(false)]), status: .badRequest) }
            let t = self.insert(title: title, status: body["row"]?["status"]?.stringValue ?? "open")
            return Self.json(.object(["ok": .bool(true), "rows": .array([self.flat(t)])]), status: .created)
        }
        // Inserts, then answers without the record: with a Location header, or with nothing usable.
        router.post("/ds/opaque") { request, _ -> Response in
            let t = self.insert(title: try await self.body(request)["title"]?.stringValue ?? "?", status: "open")
            return Self.json(.object(["ok": .bool(true)]), status: .created, headers: [.location: "/ds/tickets/\(t.id)"])
        }
        router.post("/ds/silent") { request, _ -> Response in
            _ = self.insert(title: try await self.body(request)["title"]?.stringValue ?? "?", status: "open")
            return Self.text("<p>created</p>", status: .created, type: "text/html")
        }

        // JSON:API: page[offset]/page[limit], meta.total, links.next missing on the second-to-last page.
        router.get("/api/tickets") { request, _ -> Response in
            var rows = self.all
            if let sort = request.uri.queryParameters["sort"] {
                rows.sort { a, b in sort == "-title" ? a.title > b.title : sort == "title" ? a.title < b.title : a.id < b.id }
            }
            let offset = Int(Self.parameter(request, "page[offset]") ?? "0") ?? 0
            let limit = Int(Self.parameter(request, "page[limit]") ?? "10") ?? 10
            let page = rows.dropFirst(offset).prefix(limit)
            var links: [String: JSONValue] = [:]
            let nextOffset = offset + limit
            // The real server's quirk: no next link when the page after the next is past the end.
            if nextOffset + limit < rows.count {
                links["next"] = .string("/api/tickets?page[offset]=\(nextOffset)&page[limit]=\(limit)")
            }
            return Self.json(.object(["data": .array(page.map(self.resource)), "meta": .object(["total": .int(Int64(rows.count))]), "links": .object(links)]))
        }
        router.get("/api/tickets/:id") { _, context -> Response in
            guard let t = context.parameters.get("id", as: Int.self).flatMap({ id in self.state.withLock { $0.tickets[id] } }) else {
                return Self.json(.object(["errors": .array([.object(["status": .string("404")])])]), status: .notFound)
            }
            return Self.json(.object(["data": self.resource(t)]))
        }
        router.post("/api/tickets") { request, _ -> Response in
            let body = try await self.body(request)
            guard body["data"]?["type"]?.stringValue == "ticket", body["data"]?["id"] == nil,
                  let title = body["data"]?["attributes"]?["title"]?.stringValue else {
                return Self.json(.object(["errors": .array([.string("expected {data: {type: ticket, attributes: {…}}}")])]), status: .unprocessableContent)
            }
            let t = self.insert(title: title, status: body["data"]?["attributes"]?["status"]?.stringValue ?? "open")
            return Self.json(.object(["data": self.resource(t)]), status: .created)
        }
        router.patch("/api/tickets/:id") { request, context -> Response in
            let body = try await self.body(request)
            guard let id = context.parameters.get("id", as: Int.self), body["data"]?["type"]?.stringValue == "ticket",
                  body["data"]?["id"]?.stringValue == String(id), case .object(let attributes)? = body["data"]?["attributes"] else {
                return Self.json(.object(["errors": .array([.string("expected {data: {type: ticket, id: \"<id>\", attributes: {…}}}")])]), status: .conflict)
            }
            let t = self.state.withLock { s -> Ticket? in
                guard var t = s.tickets[id] else { return nil }
                if let title = attributes["title"]?.stringValue { t.title = title }
                if let status = attributes["status"]?.stringValue { t.status = status }
                s.tickets[id] = t
                return t
            }
            guard let t else { return Self.json(.object([:]), status: .notFound) }
            return Self.json(.object(["data": self.resource(t)]))
        }

        // Page style whose pages past the end are an HTML 404, or an empty body.
        router.get("/htmlpaged") { request, _ -> Response in
            let page = Int(request.uri.queryParameters["page"] ?? "1") ?? 1, size = Int(request.uri.queryParameters["size"] ?? "10") ?? 10
            let rows = self.all.dropFirst((page - 1) * size).prefix(size)
            if rows.isEmpty { return Self.text("<html><body>404 no such page: secret-upstream-detail</body></html>", status: .notFound, type: "text/html") }
            return Self.json(.array(rows.map(self.flat)))
        }
        router.get("/emptypaged") { request, _ -> Response in
            let page = Int(request.uri.queryParameters["page"] ?? "1") ?? 1, size = Int(request.uri.queryParameters["size"] ?? "10") ?? 10
            let rows = self.all.dropFirst((page - 1) * size).prefix(size)
            if rows.isEmpty { return Response(status: .ok) }
            return Self.json(.array(rows.map(self.flat)))
        }

        // Sorting by title in any of the direction styles; everything in one answer.
        router.get("/sorted") { request, _ -> Response in
            let q = request.uri.queryParameters
            var rows = self.all
            var key: String?, descending = false
            if let k = q["_sort_desc"] { key = String(k); descending = true } else if let k = q["_sort"] { key = String(k) }
            if let s = q["sort"] {
                let parts = s.split(separator: ":")
                key = String(parts[0])
                descending = parts.count > 1 ? parts[1] == "desc" : q["order"] == "desc"
            }
            if key == "title" { rows.sort { descending ? $0.title > $1.title : $0.title < $1.title } }
            return Self.json(.array(rows.map(self.flat)))
        }

        // A status filter looser than Parse's equality (a prefix), with a total.
        router.get("/loose") { request, _ -> Response in
            let prefix = request.uri.queryParameters["status"].map(String.init) ?? ""
            let rows = self.all.filter { $0.status.hasPrefix(prefix) }
            let offset = Int(request.uri.queryParameters["offset"] ?? "0") ?? 0, limit = Int(request.uri.queryParameters["limit"] ?? "10") ?? 10
            return Self.json(.object(["items": .array(rows.dropFirst(offset).prefix(limit).map(self.flat)), "total": .int(Int64(rows.count))]))
        }
    }
}

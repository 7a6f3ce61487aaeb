import CausewayCore
import CausewayHTTPTesting
@testable import CausewayREST
import Foundation
import Hummingbird
import HummingbirdTesting
import Synchronization
import HTTPTypes
import NIOHTTP1
import Testing

/// An upstream API written for the tests, behaving like real ones: pagination styles, auth, slow answers,
/// 5xx bursts, malformed JSON, wrong content types, huge bodies. It logs every request it gets.
final class TestUpstream: Sendable {
    struct Ticket: Sendable { var id: Int; var title: String; var status: String; var created: Int64 }
    struct State {
        var tickets: [Int: Ticket] = [:]
        var nextId = 1
        var log: [String] = []
        var flakyFailures = 0
        var tokensIssued = 0
        var identities: [String] = []
        var inFlight = 0
        var maxInFlight = 0
        var postAttempts = 0
    }
    let state = Mutex(State())

    init(count: Int = 25) {
        state.withLock { s in
            for i in 1...count {
                s.tickets[i] = Ticket(id: i, title: "ticket \(i)", status: i % 3 == 0 ? "closed" : "open", created: 1_700_000_000 + Int64(i) * 60)
            }
            s.nextId = count + 1
        }
    }

    var log: [String] { state.withLock { $0.log } }
    func clearLog() { state.withLock { $0.log = [] } }

    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var h = headers
        h[.contentType] = "application/json"
        return Response(status: status, headers: h, body: .init(byteBuffer: ByteBuffer(bytes: JSONWriter.serialize(value))))
    }

    func record(_ t: Ticket) -> JSONValue {
        .object(["id": .int(Int64(t.id)), "title": .string(t.title), "state": .object(["name": .string(t.status)]), "created": .int(t.created)])
    }

    /// Tickets matching `?status=`, in id order.
    func matching(_ request: Request) -> [Ticket] {
        let status = request.uri.queryParameters["status"].map(String.init)
        return state.withLock { s in s.tickets.values.sorted { $0.id < $1.id }.filter { status == nil || $0.status == status } }
    }

    func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.middlewares.add(LogMiddleware(upstream: self))
        router.post("/oauth/token") { request, _ -> Response in
            let form = String(buffer: try await request.body.collect(upTo: 4096))
            guard form.contains("grant_type=client_credentials"), form.contains("client_id=causeway"), form.contains("client_secret=s3cret") else {
                return Self.json(.object(["error": .string("invalid_client")]), status: .unauthorized)
            }
            let n = self.state.withLock { s -> Int in s.tokensIssued += 1; return s.tokensIssued }
            let ttl = Int64(request.uri.queryParameters["ttl"] ?? "3600") ?? 3600
            return Self.json(.object(["access_token": .string("oauth-token-\(n)"), "token_type": .string("bearer"), "expires_in": .int(ttl)]))
        }
        router.get("/inflight") { _, _ -> Response in
            self.state.withLock { s in s.inFlight += 1; s.maxInFlight = max(s.maxInFlight, s.inFlight) }
            try await Task.sleep(for: .milliseconds(150))
            self.state.withLock { $0.inFlight -= 1 }
            return Self.json(.array([]))
        }
        router.post("/flakypost") { _, _ -> Response in
            self.state.withLock { $0.postAttempts += 1 }
            return Self.json(.object(["message": .string("busy")]), status: .serviceUnavailable)
        }
        router.get("/secured") { request, _ -> Response in
            let auth = request.headers[.authorization] ?? ""
            let ok = auth.hasPrefix("Bearer oauth-token-") || auth == "Basic " + Base64.encode(Array("svc:pw".utf8)) || request.headers[HTTPField.Name("X-Api-Key")!] == "k-123"
            guard ok else { return Self.json(.object(["message": .string("no")]), status: .unauthorized) }
            if let who = request.headers[HTTPField.Name("X-Remote-User")!] { self.state.withLock { $0.identities.append(who) } }
            return Self.json(.array(self.matching(request).prefix(3).map(self.record)))
        }
        router.post("/wrapped") { request, _ -> Response in
            let body = try JSONParser.parse(Array(buffer: try await request.body.collect(upTo: 1 << 20)))
            guard case .string(let title)? = body["ticket"]?["title"], body["source"]?.stringValue == "causeway" else {
                return Self.json(.object(["errors": .array([.string("expected {ticket: {...}, source: causeway}")])]), status: .badRequest)
            }
            return Self.json(self.record(Ticket(id: 99, title: title, status: "open", created: 0)), status: .created)
        }
        router.get("/tickets") { request, _ -> Response in
            guard request.headers[.authorization] == "Bearer upstream-token" else { return Self.json(.object(["message": .string("no")]), status: .unauthorized) }
            var all = self.matching(request)
            if let sort = request.uri.queryParameters["sort"] {
                all.sort { a, b in sort == "-title" ? a.title > b.title : sort == "title" ? a.title < b.title : a.id < b.id }
            }
            let offset = Int(request.uri.queryParameters["offset"] ?? "0") ?? 0
            let limit = Int(request.uri.queryParameters["limit"] ?? "10") ?? 10
            let page = all.dropFirst(offset).prefix(limit)
            return Self.json(.object(["data": .object(["items": .array(page.map(self.record)), "total": .int(Int64(all.count))])]))
        }
        router.get("/tickets/:id") { request, context -> Response in
            guard let id = context.parameters.get("id", as: Int.self), let t = self.state.withLock({ $0.tickets[id] }) else {
                return Self.json(.object(["message": .string("not found")]), status: .notFound)
            }
            return Self.json(.object(["data": .object(["items": self.record(t)])]))
        }
        router.post("/tickets") { request, _ -> Response in
            let body = try JSONParser.parse(Array(buffer: try await request.body.collect(upTo: 1 << 20)))
            guard case .string(let title)? = body["title"], !title.isEmpty else {
                return Self.json(.object(["errors": .array([.string("title is required")])]), status: .unprocessableContent)
            }
            let t = self.state.withLock { s -> Ticket in
                let t = Ticket(id: s.nextId, title: title, status: body["state"]?["name"]?.stringValue ?? "open", created: 1_800_000_000)
                s.tickets[t.id] = t
                s.nextId += 1
                return t
            }
            return Self.json(.object(["data": .object(["items": self.record(t)])]), status: .created)
        }
        router.patch("/tickets/:id") { request, context -> Response in
            let body = try JSONParser.parse(Array(buffer: try await request.body.collect(upTo: 1 << 20)))
            guard let id = context.parameters.get("id", as: Int.self) else { return Self.json(.object([:]), status: .notFound) }
            let t = self.state.withLock { s -> Ticket? in
                guard var t = s.tickets[id] else { return nil }
                if let title = body["title"]?.stringValue { t.title = title }
                if let status = body["state"]?["name"]?.stringValue { t.status = status }
                s.tickets[id] = t
                return t
            }
            guard let t else { return Self.json(.object(["message": .string("not found")]), status: .notFound) }
            return Self.json(.object(["data": .object(["items": self.record(t)])]))
        }
        router.delete("/tickets/:id") { _, context -> Response in
            guard let id = context.parameters.get("id", as: Int.self), self.state.withLock({ $0.tickets.removeValue(forKey: id) }) != nil else {
                return Self.json(.object(["message": .string("not found")]), status: .notFound)
            }
            return Response(status: .noContent)
        }
        // Other pagination styles over the same tickets (bare arrays or small envelopes).
        router.get("/paged") { request, _ -> Response in
            let page = Int(request.uri.queryParameters["page"] ?? "1") ?? 1, size = Int(request.uri.queryParameters["size"] ?? "10") ?? 10
            return Self.json(.array(self.matching(request).dropFirst((page - 1) * size).prefix(size).map(self.record)))
        }
        router.get("/cursor") { request, _ -> Response in
            let after = Int(request.uri.queryParameters["cursor"] ?? "0") ?? 0
            let page = self.matching(request).filter { $0.id > after }.prefix(7)
            let next: JSONValue = page.count == 7 ? .string(String(page.last!.id)) : .null
            return Self.json(.object(["results": .array(page.map(self.record)), "next_cursor": next]))
        }
        router.get("/next") { request, _ -> Response in
            let from = Int(request.uri.queryParameters["from"] ?? "0") ?? 0
            let all = self.matching(request)
            let page = all.dropFirst(from).prefix(6)
            let next: JSONValue = from + 6 < all.count ? .string("/next?from=\(from + 6)") : .null
            return Self.json(.object(["items": .array(page.map(self.record)), "links": .object(["next": next])]))
        }
        router.get("/linked") { request, _ -> Response in
            let from = Int(request.uri.queryParameters["from"] ?? "0") ?? 0
            let all = self.matching(request)
            var headers: HTTPFields = [:]
            if from + 8 < all.count { headers[HTTPField.Name("Link")!] = "</linked?from=\(from + 8)>; rel=\"next\", </linked?from=0>; rel=\"first\"" }
            return Self.json(.array(all.dropFirst(from).prefix(8).map(self.record)), headers: headers)
        }
        router.get("/flaky") { _, _ -> Response in
            let fail = self.state.withLock { s -> Bool in
                if s.flakyFailures > 0 { s.flakyFailures -= 1; return true }
                return false
            }
            return fail ? Self.json(.object(["message": .string("busy")]), status: .serviceUnavailable) : Self.json(.array([self.record(Ticket(id: 1, title: "ok", status: "open", created: 0))]))
        }
        router.get("/slow") { _, _ -> Response in
            // Longer than the connector's 5 s request timeout (which is that long because a busy CI machine once
            // took over a second for ordinary requests to this upstream).
            try await Task.sleep(for: .seconds(8))
            return Self.json(.array([]))
        }
        router.get("/broken") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: "{\"items\": [1, 2")))
        }
        router.get("/html") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "text/html"], body: .init(byteBuffer: ByteBuffer(string: "<html>maintenance</html>")))
        }
        router.get("/huge") { _, _ -> Response in
            Self.json(.array((0..<5000).map { _ in self.record(Ticket(id: 1, title: String(repeating: "x", count: 100), status: "open", created: 0)) }))
        }
        addShapes(to: router)
        return router
    }

    struct LogMiddleware: RouterMiddleware {
        let upstream: TestUpstream
        func handle(_ request: Request, context: BasicRequestContext, next: (Request, BasicRequestContext) async throws -> Response) async throws -> Response {
            upstream.state.withLock { $0.log.append("\(request.method.rawValue) \(request.uri.path)\(request.uri.query.map { "?" + $0 } ?? "")") }
            return try await next(request, context)
        }
    }

    /// Runs `body` with the upstream listening on a real loopback port.
    func run(_ body: @Sendable (Int) async throws -> Void) async throws {
        let app = Application(router: router(), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in try await body(client.port!) }
    }

    /// Runs `body` with the upstream listening on the given loopback port (the test framework's live mode
    /// always picks a new one): for tests that stop an upstream and start it again where a connector expects it.
    func run(port: Int, _ body: @Sendable () async throws -> Void) async throws {
        let (running, ready) = AsyncStream<Void>.makeStream()
        let app = Application(router: router(), configuration: .init(address: .hostname("127.0.0.1", port: port)),
                              onServerRunning: { _ in ready.yield(); ready.finish() })
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.runService(gracefulShutdownSignals: []) }
            for await _ in running { break }
            do {
                try await body()
            } catch {
                group.cancelAll()
                throw error
            }
            group.cancelAll()
        }
    }
}

@Suite struct RESTConnectorTests {
    static func connector(port: Int, extra: String = "", collection: String = "") -> String {
        """
        kind: rest
        connection:
          baseURL: http://127.0.0.1:\(port)
          auth: { type: bearer, token: upstream-token }
          requestTimeoutSeconds: 5
          retries: 2
          retryBackoffMilliseconds: 10
          maxResponseBytes: 64KiB
        \(extra)
        collections:
          Ticket:
            list: /tickets
            get: /tickets/{objectId}
            create: { method: POST, path: /tickets }
            update: { method: PATCH, path: "/tickets/{objectId}" }
            delete: /tickets/{objectId}
            records: data.items
            total: data.total
            objectId: { column: id, type: integer }
            createdAt: created
            dateFormats: { createdAt: epochSeconds }
            pagination: { style: offset, offsetParam: offset, limitParam: limit, pageSize: 5 }
            maxScan: 100
            exactFilters: true
            listOrder: objectId
            sort: { param: sort, descendingPrefix: "-", fields: { title: title } }
            filters:
              status: { equal: status }
            fields:
              title: { type: string }
              status: { type: string, column: state.name }
              state: { type: object }
        \(collection)
        """
    }

    /// A connector with one collection of `{id, title}` records: `connection` and `endpoints` are YAML
    /// lines (indented by the caller for their block).
    static func single(port: Int, connection: [String], className: String, endpoints: [String]) -> String {
        (["kind: rest", "connection:", "  baseURL: http://127.0.0.1:\(port)"] + connection.map { "  " + $0 }
            + ["collections:", "  \(className):"] + endpoints.map { "    " + $0 }
            + ["    objectId: { column: id, type: integer }", "    fields:", "      title: { type: string }"]).joined(separator: "\n")
    }

    static func styled(_ name: String, _ path: String, _ pagination: String, records: String = "") -> String {
        """
          \(name):
            list: \(path)
            \(records.isEmpty ? "" : "records: \(records)")
            objectId: { column: id, type: integer }
            listOrder: objectId
            pagination: \(pagination)
            fields:
              title: { type: string }
        """
    }

    func app(_ port: Int, extra: String = "", collection: String = "") throws -> ParseTestApp {
        try ParseTestApp(connectors: Self.connector(port: port, extra: extra, collection: collection), factories: [RESTConnectorFactory()])
    }

    @Test func mapsRecordsAndPushesFiltersAndPaging() async throws {
        let upstream = TestUpstream()
        try await upstream.run { port in
            try await app(port).run { c async throws in
                let first = try await c.find("Ticket", ["limit": "3"])
                #expect(first.ids("title") == ["ticket 1", "ticket 2", "ticket 3"])
                let t = try #require(first.results.first)
                #expect(t["objectId"]?.stringValue == "1" && t["status"]?.stringValue == "open")
                #expect(t["state"]?["name"]?.stringValue == "open")  // the same nested value kept as an object
                #expect(t["createdAt"]?.stringValue == "2023-11-14T22:14:20.000Z")
                #expect(t["created"] == nil && t["id"] == nil)  // only mapped fields
                upstream.clearLog()
                // status is filtered by the API; only the pages needed for skip 2 + limit 4 are fetched.
                let open = try await c.find("Ticket", ["where": #"{"status":"open"}"#, "skip": "2", "limit": "4"])
                #expect(open.ids("title") == ["ticket 4", "ticket 5", "ticket 7", "ticket 8"])
                #expect(upstream.log == ["GET /tickets?limit=5&offset=0&status=open", "GET /tickets?limit=5&offset=5&status=open"])
                // A condition the API cannot filter on runs in memory over the fetched records.
                let byTitle = try await c.find("Ticket", ["where": #"{"title":{"$regex":"^ticket 2"}}"#, "order": "title"])
                #expect(byTitle.ids("title") == ["ticket 2", "ticket 20", "ticket 21", "ticket 22", "ticket 23", "ticket 24", "ticket 25"])
            }
        }
    }

    @Test func readsAndWritesSingleRecords() async throws {
        let upstream = TestUpstream()
        try await upstream.run { port in
            try await app(port).run { c async throws in
                let one = try await c.get("/parse/classes/Ticket/7")
                #expect(one["title"]?.stringValue == "ticket 7")
                #expect(try await c.get("/parse/classes/Ticket/999").code == 101)
                let created = try await c.request(.post, "/parse/classes/Ticket", #"{"title":"new one","status":"open"}"#)
                #expect(created.status == 201 && created["objectId"]?.stringValue == "26")
                #expect(try await c.request(.put, "/parse/classes/Ticket/26", #"{"status":"closed"}"#).status == 200)
                #expect(try await c.get("/parse/classes/Ticket/26")["status"]?.stringValue == "closed")
                #expect(try await c.request(.delete, "/parse/classes/Ticket/26").status == 200)
                #expect(try await c.request(.delete, "/parse/classes/Ticket/26").code == 101)
                let invalid = try await c.request(.post, "/parse/classes/Ticket", #"{"status":"open"}"#)
                #expect(invalid.code == 142 && invalid.errorMessage.contains("HTTP 422"))
                #expect(try await c.request(.put, "/parse/classes/Ticket/7", #"{"title":{"__op":"Delete"}}"#).status == 200)
            }
        }
    }

    @Test func everyPaginationStyleReadsEveryPage() async throws {
        let upstream = TestUpstream()
        let collections = [
            Self.styled("Paged", "/paged", "{ style: page, pageParam: page, sizeParam: size, pageSize: 4 }"),
            Self.styled("Cursor", "/cursor", "{ style: cursor, cursorPath: next_cursor, cursorParam: cursor }", records: "results"),
            Self.styled("Next", "/next", "{ style: nextURL, nextPath: links.next }", records: "items"),
            Self.styled("Linked", "/linked", "{ style: linkHeader }"),
        ].joined(separator: "\n")
        try await upstream.run { port in
            try await app(port, collection: collections).run { c async throws in
                for name in ["Paged", "Cursor", "Next", "Linked"] {
                    let all = try await c.find(name, ["limit": "100", "count": "1"])
                    #expect(all.results.count == 25 && all["count"] == .int(25), "\(name): \(all.text.prefix(200))")
                    #expect(all.results.last?["title"]?.stringValue == "ticket 25", "\(name)")
                }
                upstream.clearLog()
                _ = try await c.find("Cursor", ["limit": "3"])
                #expect(upstream.log == ["GET /cursor"])
            }
        }
    }

    @Test func upstreamFailuresBecomeClearParseErrors() async throws {
        let upstream = TestUpstream()
        let collections = ["Flaky": "/flaky", "Slow": "/slow", "Broken": "/broken", "Html": "/html", "Huge": "/huge", "Gone": "/no-such-endpoint"]
            .map { Self.styled($0.key, $0.value, "{ style: none }") }.joined(separator: "\n")
        try await upstream.run { port in
            try await app(port, collection: collections).run { c async throws in
                upstream.state.withLock { $0.flakyFailures = 2 }
                #expect(try await c.find("Flaky", [:]).status == 200)  // two 503s, then retried to success
                upstream.state.withLock { $0.flakyFailures = 10 }
                let down = try await c.find("Flaky", [:])
                #expect(down.status == 503 && down.code == 100 && down.errorMessage.contains("HTTP 503"))
                let slow = try await c.find("Slow", [:])
                #expect(slow.status == 504 && slow.code == 124)
                let broken = try await c.find("Broken", [:])
                #expect(broken.status == 503 && broken.code == 100 && broken.errorMessage.contains("malformed JSON") && broken.errorMessage.contains("connector store"))
                let html = try await c.find("Html", [:])
                #expect(html.status == 503 && html.code == 100 && html.errorMessage.contains("text/html, not JSON"))
                #expect(!html.text.contains("maintenance"))  // the upstream's text goes to the log, never to the client
                #expect(try await c.find("Huge", [:]).errorMessage.contains("maxResponseBytes"))
                let gone = try await c.find("Gone", [:])
                #expect(gone.status == 500 && gone.errorMessage.contains("answered HTTP 404; check `list`"))
                // More records than maxScan for a query the API cannot narrow: refused, not cut short.
                let scan = try await c.find("Ticket", ["where": #"{"title":"nothing like this"}"#])
                #expect(scan.status == 200)  // 25 records < maxScan 100
            }
        }
    }

    @Test func wrongCredentialsAndMaxScan() async throws {
        let upstream = TestUpstream(count: 30)
        let wrongAuth = Self.connector(port: 0).replacingOccurrences(of: "upstream-token", with: "wrong")
        try await upstream.run { port in
            let app = try ParseTestApp(connectors: wrongAuth.replacingOccurrences(of: "127.0.0.1:0", with: "127.0.0.1:\(port)"), factories: [RESTConnectorFactory()])
            try await app.run { c async throws in
                let r = try await c.find("Ticket", [:])
                #expect(r.code == 119 && r.errorMessage.contains("HTTP 401"))
            }
            let small = Self.connector(port: port).replacingOccurrences(of: "maxScan: 100", with: "maxScan: 12")
            try await ParseTestApp(connectors: small, factories: [RESTConnectorFactory()]).run { c async throws in
                let r = try await c.find("Ticket", ["where": #"{"title":"none"}"#])
                #expect(r.code == 102 && r.errorMessage.contains("maxScan"))
            }
        }
    }

    @Test func checkCallsEachEndpointOnce() async throws {
        let upstream = TestUpstream()
        try await upstream.run { port in
            let app = try app(port, extra: "  tls: { insecureSkipVerify: true }")
            try await app.run { c async throws in
                upstream.clearLog()
                let findings = await app.configuration.connectors[0].verify(logger: .init(label: "t"))
                #expect(findings.contains { $0.severity == .ok && $0.subject.contains("Ticket") })
                #expect(findings.contains { $0.severity == .warning && $0.message.contains("insecureSkipVerify") })
                #expect(upstream.log == ["GET /tickets?limit=1&offset=0"])
                // Checking uses a client of its own: the running connector keeps working.
                #expect(try await c.find("Ticket", ["limit": "1"]).status == 200)
            }
        }
    }

    @Test func sortsAndCountsThroughTheAPI() async throws {
        let upstream = TestUpstream()
        try await upstream.run { port in
            try await app(port).run { c async throws in
                upstream.clearLog()
                let top = try await c.find("Ticket", ["order": "-title", "limit": "2"])
                #expect(top.ids("title") == ["ticket 9", "ticket 8"])
                #expect(upstream.log == ["GET /tickets?limit=5&offset=0&sort=-title"])
                upstream.clearLog()
                let count = try await c.find("Ticket", ["where": #"{"status":"closed"}"#, "count": "1", "limit": "0"])
                #expect(count["count"] == .int(8))
                #expect(upstream.log == ["GET /tickets?limit=1&offset=0&status=closed"])  // the total, not a scan
            }
        }
    }

    @Test func authStylesIdentityForwardingAndBodyTemplates() async throws {
        let upstream = TestUpstream()
        try await upstream.run { port in
            func secured(_ auth: String, extra: [String] = []) -> String {
                Self.single(port: port, connection: ["auth: \(auth)"] + extra, className: "Secured",
                            endpoints: ["list: /secured", #"create: { method: POST, path: /wrapped, body: { ticket: "{record}", source: causeway } }"#])
            }
            let oauth = #"{ type: oauth2, tokenURL: "http://127.0.0.1:\#(port)/oauth/token", clientId: causeway, clientSecret: s3cret, scope: tickets }"#
            let identity = ["forwardIdentity: { header: X-Remote-User, value: username }"]
            try await ParseTestApp(identity: ParseTestApp.localIdentity, connectors: secured(oauth, extra: identity), factories: [RESTConnectorFactory()]).run { c async throws in
                for _ in 0..<3 { #expect(try await c.find("Secured", [:]).results.count == 3) }
                #expect(upstream.state.withLock { $0.tokensIssued } == 1)  // fetched once, reused
                _ = try await c.request(.post, "/parse/users", #"{"username":"zoe","password":"long enough"}"#)
                let zoe = try await c.token("zoe", "long enough")
                #expect(try await c.find("Secured", [:], headers: ParseClient.session(zoe)).status == 200)
                #expect(upstream.state.withLock { $0.identities } == ["zoe"])
                let created = try await c.request(.post, "/parse/classes/Secured", #"{"title":"wrapped"}"#)
                #expect(created.status == 201 && created["objectId"]?.stringValue == "99")
            }
            for auth in [#"{ type: basic, user: svc, password: pw }"#, #"{ type: header, name: X-Api-Key, value: k-123 }"#] {
                try await ParseTestApp(connectors: secured(auth), factories: [RESTConnectorFactory()]).run { c async throws in
                    #expect(try await c.find("Secured", [:]).status == 200, "\(auth)")
                }
            }
            let badSecret = oauth.replacingOccurrences(of: "s3cret", with: "wrong")
            try await ParseTestApp(connectors: secured(badSecret), factories: [RESTConnectorFactory()]).run { c async throws in
                let r = try await c.find("Secured", [:])
                #expect(r.code == 119 && r.errorMessage.contains("token endpoint"))
            }
        }
    }

    @Test func tokensAreRefreshedBeforeTheyExpire() async throws {
        let upstream = TestUpstream()
        try await upstream.run { port in
            let yaml = Self.single(port: port, connection: [#"auth: { type: oauth2, tokenURL: "http://127.0.0.1:\#(port)/oauth/token?ttl=31", clientId: causeway, clientSecret: s3cret }"#],
                                   className: "Secured", endpoints: ["list: /secured"])
            try await ParseTestApp(connectors: yaml, factories: [RESTConnectorFactory()]).run { c async throws in
                #expect(try await c.find("Secured", [:]).status == 200)
                #expect(try await c.find("Secured", [:]).status == 200)
                #expect(upstream.state.withLock { $0.tokensIssued } == 1)
                // 31 s tokens are renewed in their last 30 s: after one second the next request gets a new one.
                try await Task.sleep(for: .milliseconds(1100))
                #expect(try await c.find("Secured", [:]).status == 200)
                #expect(upstream.state.withLock { $0.tokensIssued } == 2)
            }
        }
    }

    @Test func concurrencyIsLimitedAndOnlyIdempotentRequestsAreRetried() async throws {
        let upstream = TestUpstream()
        try await upstream.run { port in
            let yaml = Self.single(port: port, connection: ["maxConcurrency: 3", "retries: 3", "retryBackoffMilliseconds: 5"],
                                   className: "Busy", endpoints: ["list: /inflight", "create: /flakypost"])
            try await ParseTestApp(connectors: yaml, factories: [RESTConnectorFactory()]).run { c async throws in
                try await withThrowingTaskGroup(of: Int.self) { group in
                    for i in 0..<12 { group.addTask { try await c.find("Busy", ["where": #"{"title":"\#(i)"}"#]).status } }
                    for try await status in group { #expect(status == 200) }
                }
                #expect(upstream.state.withLock { $0.maxInFlight } == 3)
                let post = try await c.request(.post, "/parse/classes/Busy", #"{"title":"x"}"#)
                #expect(post.status == 503 && post.code == 100)
                #expect(upstream.state.withLock { $0.postAttempts } == 1)  // a POST is never repeated
            }
        }
    }

    @Test func linkHeaderParsing() {
        var h = HTTPHeaders()
        h.add(name: "Link", value: #"<https://api.example.com/items?page=2>; rel="next", <https://api.example.com/items?page=9>; rel="last""#)
        #expect(RESTPager.nextLink(h) == "https://api.example.com/items?page=2")
        var none = HTTPHeaders()
        none.add(name: "Link", value: #"<https://api.example.com/items?page=1>; rel="prev""#)
        #expect(RESTPager.nextLink(none) == nil)
    }
}

@Suite struct RESTExampleFileTests {
    @Test func theExampleConnectorFilesLoad() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let secret = NSTemporaryDirectory() + "causeway-secret-\(UUID().uuidString)"
        try "pw".write(toFile: secret, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: secret) }
        for file in ["tickets-rest.yaml", "inventory-rest.yaml", "tickets-jsonapi-rest.yaml"] {
            var text = try String(contentsOfFile: root.path + "/Connectors/examples/" + file, encoding: .utf8)
            text = text.replacingOccurrences(of: "/etc/causeway/corp-ca.pem", with: "/etc/ssl/certs/ca-certificates.crt")
                .replacingOccurrences(of: "/run/secrets/inventory-password", with: secret)
            let path = NSTemporaryDirectory() + "causeway-example-\(UUID().uuidString).yaml"
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(atPath: path) }
            let (connector, cache) = try ConfigLoader.loadConnectorAndCache(path: path, factories: [RESTConnectorFactory()],
                                                                            environment: ["TICKETS_CLIENT_SECRET": "x"])
            #expect(connector.kind == "rest" && !connector.collections.isEmpty, "\(file)")
            if file == "tickets-rest.yaml" { #expect(cache?.ttlMs == 30_000 && connector.answersDependOnCaller) }
        }
    }
}

@Suite struct RESTConfigurationTests {
    static let valid = RESTConnectorTests.connector(port: 8080)

    func error(_ yaml: String) -> String {
        do {
            _ = try ParseTestApp(connectors: yaml, factories: [RESTConnectorFactory()])
            return "accepted"
        } catch let e as ConfigErrors {
            return e.errors.map(\.description).joined(separator: "\n")
        } catch {
            return "\(error)"
        }
    }

    @Test func mistakesNameTheFileLineAndKey() {
        #expect(error(Self.valid).contains("accepted"))
        let cases: [(String, String, String)] = [
            ("baseURL: http://127.0.0.1:8080", "baseURL: ftp://example.com", "connection.baseURL"),
            ("pagination: { style: offset", "pagination: { style: sideways", "expected offset, page, cursor, nextURL, linkHeader or none"),
            ("get: /tickets/{objectId}", "get: /tickets/one", "the path must contain {objectId}"),
            ("status: { equal: status }", "status: { matches: status }", "collections.Ticket.filters.status.matches"),
            ("auth: { type: bearer, token: upstream-token }", "auth: { type: kerberos }", "expected none, header, basic, bearer or oauth2"),
            ("records: data.items", "records: data.items\n    recordz: x", "unknown key 'recordz'"),
            ("list: /tickets", "list: tickets", "paths start with /"),
            ("baseURL: http://127.0.0.1:8080", "baseURL: http://127.0.0.1:8080\n  circuitBreaker: { healthPath: status }", "connection.circuitBreaker.healthPath"),
        ]
        for (from, to, expected) in cases {
            let message = error(Self.valid.replacingOccurrences(of: from, with: to))
            #expect(message.contains(expected) && message.contains("store.yaml:"), "\(to) → \(message)")
        }
    }

    /// `causeway check` reports every problem in a file, each with its line and key, not just the first.
    @Test func everyProblemInAFileIsReported() {
        var yaml = Self.valid
        for (from, to) in [("baseURL: http://127.0.0.1:8080", "baseURL: ftp://example.com"), ("retries: 2", "retries: many"),
                           ("get: /tickets/{objectId}", "get: /tickets/one"), ("status: { equal: status }", "status: { matches: status }"),
                           ("records: data.items", "records: data.items\n    recordz: x"),
                           ("pagination: { style: offset", "pagination: { style: sideways"),
                           ("sort: { param: sort, descendingPrefix: \"-\"", "sort: { param: sort, descendingPrefix: \"-\", descendingSuffix: \":d\"")] {
            #expect(yaml.contains(from), "\(from)")
            yaml = yaml.replacingOccurrences(of: from, with: to)
        }
        let message = error(yaml)
        let expected = ["connection.baseURL", "connection.retries", "the path must contain {objectId}", "filters.status.matches", "unknown key 'recordz'",
                        "expected offset, page, cursor, nextURL, linkHeader or none", "not both descendingPrefix and descendingSuffix"]
        for e in expected { #expect(message.contains(e), "\(e) missing from:\n\(message)") }
        #expect(message.split(separator: "\n").count == expected.count, "\(message)")
        #expect(message.split(separator: "\n").allSatisfy { $0.contains("store.yaml:") })
    }
}

import CausewayCore
@testable import CausewayREST
import CausewayTesting
import Foundation
import Hummingbird
import HummingbirdTesting
import HTTPTypes
import Logging
import NIOCore
import Synchronization
import Testing

/// A generic JSON store on a live loopback port, stamping `created`/`updated`: `/items` lists (offset/limit pages in id order, with
/// `name` and `active` filters), reads, creates, merges (`PUT`, null removes a key) and deletes records.
final class ItemUpstream: Sendable {
    let records = Mutex<(next: Int64, byId: [Int64: [String: JSONValue]])>((1, [:]))

    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: JSONWriter.serialize(value))))
    }

    func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/items") { request, _ -> Response in
            let q = request.uri.queryParameters
            let name = q["name"].map(String.init), active = q["active"].map(String.init)
            let all = self.records.withLock { $0.byId.sorted { $0.key < $1.key } }.filter { _, r in
                (name == nil || r["name"] == .string(name!)) && (active == nil || r["active"] == .bool(active == "true"))
            }
            let offset = Int(q["offset"] ?? "0") ?? 0, limit = Int(q["limit"] ?? "100") ?? 100
            let page = all.dropFirst(offset).prefix(limit).map { id, r in JSONValue.object(r.merging(["id": .int(id)]) { $1 }) }
            return Self.json(.object(["items": .array(Array(page)), "total": .int(Int64(all.count))]))
        }
        router.get("/items/:id") { _, context -> Response in
            guard let id = context.parameters.get("id", as: Int64.self), let r = self.records.withLock({ $0.byId[id] }) else {
                return Self.json(.object(["message": .string("not found")]), status: .notFound)
            }
            return Self.json(.object(r.merging(["id": .int(id)]) { $1 }))
        }
        router.post("/items") { request, _ -> Response in
            guard case .object(var r) = try JSONParser.parse(Array(buffer: try await request.body.collect(upTo: 1 << 20))) else {
                return Self.json(.object(["message": .string("expected an object")]), status: .badRequest)
            }
            r["id"] = nil
            r["created"] = .string(ParseDate.now().iso8601)
            r["updated"] = r["created"]
            let id = self.records.withLock { s -> Int64 in
                defer { s.next += 1 }
                s.byId[s.next] = r
                return s.next
            }
            return Self.json(.object(r.merging(["id": .int(id)]) { $1 }), status: .created)
        }
        router.put("/items/:id") { request, context -> Response in
            guard case .object(let changes) = try JSONParser.parse(Array(buffer: try await request.body.collect(upTo: 1 << 20))),
                  let id = context.parameters.get("id", as: Int64.self) else { return Self.json(.object([:]), status: .badRequest) }
            let updated = self.records.withLock { s -> [String: JSONValue]? in
                guard var r = s.byId[id] else { return nil }
                for (k, v) in changes where k != "id" { r[k] = v == .null ? nil : v }
                r["updated"] = .string(ParseDate.now().iso8601)
                s.byId[id] = r
                return r
            }
            guard let updated else { return Self.json(.object(["message": .string("not found")]), status: .notFound) }
            return Self.json(.object(updated.merging(["id": .int(id)]) { $1 }))
        }
        router.delete("/items/:id") { _, context -> Response in
            guard let id = context.parameters.get("id", as: Int64.self), self.records.withLock({ $0.byId.removeValue(forKey: id) }) != nil else {
                return Self.json(.object(["message": .string("not found")]), status: .notFound)
            }
            return Response(status: .noContent)
        }
        return router
    }

    func run(_ body: @Sendable (Int) async throws -> Void) async throws {
        let app = Application(router: router(), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in try await body(client.port!) }
    }
}

/// The conformance suite through a REST API: the connector with two filters pushed to the API, with one,
/// and with none (everything in memory) agree with each other and with the in-memory reference; writes
/// and the update operators it declares (`set`, `Delete`) match the reference; the others are refused.
@Suite struct RESTConformanceTests {
    static func connectorFile(port: Int, filters: [String]) -> String {
        """
        kind: rest
        connection:
          baseURL: http://127.0.0.1:\(port)
          requestTimeoutSeconds: 10
        collections:
          Item:
            list: /items
            get: /items/{objectId}
            create: { method: POST, path: /items }
            update: { method: PUT, path: "/items/{objectId}" }
            delete: /items/{objectId}
            records: items
            total: total
            objectId: { column: id, type: integer }
            createdAt: created
            updatedAt: updated
            listOrder: objectId
            pagination: { style: offset, offsetParam: offset, limitParam: limit, pageSize: 100 }
            maxScan: 100000
            filters:
        \(filters.isEmpty ? "      {}" : filters.map { "      \($0): { equal: \($0) }" }.joined(separator: "\n"))
            fields:
        \(ConnectorConformance.itemFieldsYAML)
        """
    }

    static func connector(port: Int, filters: [String], name: String) throws -> RESTConnector {
        let dir = NSTemporaryDirectory() + "causeway-rest-conf-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try connectorFile(port: port, filters: filters).write(toFile: dir + "/\(name).yaml", atomically: true, encoding: .utf8)
        return try ConfigLoader.loadConnector(path: dir + "/\(name).yaml", factories: [RESTConnectorFactory()], environment: [:]) as! RESTConnector
    }

    @Test func fullPartialAndNoPushdownAgreeWithTheReference() async throws {
        let logger = Logger(label: "test")
        let upstream = ItemUpstream()
        try await upstream.run { port in
            let full = try Self.connector(port: port, filters: ["name", "active"], name: "full")
            let partial = try Self.connector(port: port, filters: ["name"], name: "partial")
            let scan = try Self.connector(port: port, filters: [], name: "scan")
            for c in [full, partial, scan] { try await c.start(logger: logger) }
            do {
                try await Self.check(full: full, partial: partial, scan: scan, logger: logger)
            } catch {
                Issue.record(error)
            }
            for c in [full, partial, scan] { await c.shutdown() }
        }
    }

    static func check(full: RESTConnector, partial: RESTConnector, scan: RESTConnector, logger: Logger) async throws {
            let gateway = { (c: RESTConnector) in Gateway(config: GatewayConfig(), connectors: [c]) }
            for body in sampleBodies(count: 150) { _ = try await gateway(full).create("Item", body: body, caller: .master) }
            let memory = try await ConnectorConformance.referenceGateway(copying: gateway(full), logger: logger)
            let report = try await ConnectorConformance.compare(
                reference: gateway(scan), candidates: [("full", gateway(full)), ("partial", gateway(partial)), ("memory", memory)],
                total: 150, logger: logger)
            #expect(report.mismatches.isEmpty, "\(report.mismatches.map(\.description).joined(separator: "\n"))")
            #expect(report.selective >= ConnectorConformance.queries.count - 3)
            for c in [full, partial] {
                let problems = await ConnectorConformance.checkDeclaredCapabilities(c, reference: memory, logger: logger)
                #expect(problems.isEmpty, "\(c.name): \(problems)")
            }
            let writes = await ConnectorConformance.checkWrites(candidate: gateway(full), reference: memory, declared: full.capabilities, logger: logger)
            #expect(writes.isEmpty, "\(writes)")
    }
}

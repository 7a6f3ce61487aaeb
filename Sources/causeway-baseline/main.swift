// A bare Hummingbird server for benchmarks: routes with no Causeway request handling, no configuration and no
// Parse handling. It measures the stack's own ceilings on this machine.
//   causeway-baseline PORT [FILE ...]
// `/object` encodes an object like Causeway's responses with the same JSON writer; `/file/N` answers the
// bytes of the N-th FILE (read once at start), as a cache would answer stored bytes. With BASELINE_PG_PORT
// (and PGPASSWORD) set, `/pg/pool/ID`, `/pg/conn/ID` and `/pg/future/ID` run the benchmark's by-id select
// as a named prepared statement through PostgresNIO (pooled client, connections used directly, or those with
// the EventLoopFuture API) and encode the row
// with the same writer: the ceiling of Hummingbird + PostgresNIO with no Causeway code in between.
import AsyncHTTPClient
import CausewayCore
import Foundation
import Hummingbird
import Logging
import NIOCore
import PostgresNIO
import ServiceLifecycle
import Synchronization

let arguments = CommandLine.arguments
let port = arguments.count > 1 ? Int(arguments[1]) ?? 8081 : 8081
let files: [ByteBuffer] = arguments.dropFirst(2).map { ByteBuffer(bytes: [UInt8](FileManager.default.contents(atPath: $0) ?? Data())) }
let object = ParseObject(
    objectId: "42", createdAt: ParseDate(millisecondsSince1970: 1_795_453_690_679), updatedAt: ParseDate(millisecondsSince1970: 1_795_453_690_679),
    fields: ["name": .string("item 42"), "category": .string("c-42"), "score": .int(4242), "active": .bool(true)])
let router = Router()
func json(_ o: ParseObject) -> Response {
    var w = JSONWriter()
    ParseCodec.write(o, to: &w)
    return Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(bytes: w.bytes)))
}
router.get("/object") { _, _ -> Response in json(object) }
router.get("/file/:n") { _, context -> Response in
    guard let n = context.parameters.get("n", as: Int.self), files.indices.contains(n) else { return Response(status: .notFound) }
    return Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: files[n]))
}

struct ItemByID: PostgresPreparedStatement {
    static let sql = "SELECT id, created_at, updated_at, active, category, name, score FROM bench_items WHERE id = $1"
    typealias Row = (Int64, Date, Date, Bool, String, String, Int32)
    let id: Int64
    func makeBindings() throws -> PostgresBindings { var b = PostgresBindings(); b.append(id); return b }
    func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
}
func item(_ r: ItemByID.Row) -> ParseObject {
    ParseObject(objectId: String(r.0), createdAt: ParseDate(millisecondsSince1970: Int64(r.1.timeIntervalSince1970 * 1000)), updatedAt: ParseDate(millisecondsSince1970: Int64(r.2.timeIntervalSince1970 * 1000)),
                fields: ["active": .bool(r.3), "category": .string(r.4), "name": .string(r.5), "score": .int(Int64(r.6))])
}

var services: [any Service] = []
if let pgPort = ProcessInfo.processInfo.environment["BASELINE_PG_PORT"].flatMap(Int.init) {
    let password = ProcessInfo.processInfo.environment["PGPASSWORD"]
    let size = ProcessInfo.processInfo.environment["BASELINE_PG_POOL"].flatMap(Int.init) ?? 32
    var configuration = PostgresClient.Configuration(host: "127.0.0.1", port: pgPort, username: "causeway", password: password,
                                                     database: "causeway_test", tls: .disable)
    configuration.options.maximumConnections = size
    configuration.options.minimumConnections = size
    let client = PostgresClient(configuration: configuration)
    services.append(client)
    router.get("/pg/pool/:id") { _, context -> Response in
        let id = context.parameters.get("id", as: Int64.self) ?? 1
        for try await row in try await client.execute(ItemByID(id: id)) { return json(item(row)) }
        return Response(status: .notFound)
    }
    var connections: [PostgresConnection] = []
    for i in 0..<size {
        connections.append(try await PostgresConnection.connect(
            configuration: .init(host: "127.0.0.1", port: pgPort, username: "causeway", password: password, database: "causeway_test", tls: .disable),
            id: i, logger: Logger(label: "pg")))
    }
    let all = connections
    let next = Atomic<Int>(0)
    router.get("/pg/conn/:id") { _, context -> Response in
        let id = context.parameters.get("id", as: Int64.self) ?? 1
        let c = all[next.add(1, ordering: .relaxed).newValue % all.count]
        for try await row in try await c.execute(ItemByID(id: id), logger: c.logger) { return json(item(row)) }
        return Response(status: .notFound)
    }
    var preparedQueries: [PreparedQuery] = []
    for c in all { preparedQueries.append(try await c.prepare(query: ItemByID.sql).get()) }
    let prepared = preparedQueries
    router.get("/pg/future/:id") { _, context -> Response in
        let id = context.parameters.get("id", as: Int64.self) ?? 1
        let p = prepared[next.add(1, ordering: .relaxed).newValue % prepared.count]
        for row in try await p.execute([PostgresData(int64: id)]).get() { return json(item(try row.decode(ItemByID.Row.self))) }
        return Response(status: .notFound)
    }
}
// With BASELINE_UPSTREAM (a base URL), `/proxy/PATH` answers what a GET of BASELINE_UPSTREAM/PATH answers, through
// AsyncHTTPClient configured as the REST connector configures it: the ceiling of Hummingbird + AsyncHTTPClient
// for an uncached REST get, with no Causeway code in between.
if let upstream = ProcessInfo.processInfo.environment["BASELINE_UPSTREAM"] {
    var configuration = HTTPClient.Configuration()
    configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 64
    configuration.connectionPool.retryConnectionEstablishment = false
    configuration.redirectConfiguration = .disallow
    configuration.tracing.tracer = nil
    let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    router.get("/proxy/**") { request, context -> Response in
        var upstreamRequest = HTTPClientRequest(url: upstream + "/" + context.parameters.getCatchAll().joined(separator: "/"))
        upstreamRequest.headers.add(name: "Accept", value: "application/json")
        let answer = try await client.execute(upstreamRequest, timeout: .seconds(15))
        let body = try await answer.body.collect(upTo: 16 << 20)
        return Response(status: .init(code: Int(answer.status.code)), headers: [.contentType: "application/json"], body: .init(byteBuffer: body))
    }
}
let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port), serverName: "baseline"), services: services)
try await app.runService()

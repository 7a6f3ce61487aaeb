// A bare Hummingbird server for benchmarks: one route that encodes an object like Causeway's responses,
// with no database, no configuration and no Parse handling. It measures the framework's own ceiling on
// this machine. Usage: causeway-baseline PORT
import CausewayCore
import Hummingbird
import NIOCore

let port = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 8081 : 8081
let object = ParseObject(
    objectId: "42", createdAt: ParseDate(millisecondsSince1970: 1_795_453_690_679), updatedAt: ParseDate(millisecondsSince1970: 1_795_453_690_679),
    fields: ["name": .string("item 42"), "category": .string("c-42"), "score": .int(4242), "active": .bool(true)])
let router = Router()
router.get("/object") { _, _ -> Response in
    var w = JSONWriter()
    ParseCodec.write(object, to: &w)
    return Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(bytes: w.bytes)))
}
let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port), serverName: "baseline"))
try await app.runService()

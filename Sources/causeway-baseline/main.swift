// A bare Hummingbird server for benchmarks: routes with no database, no configuration and no Parse
// handling. It measures the framework's own ceiling on this machine.
//   causeway-baseline PORT [FILE ...]
// `/object` encodes an object like Causeway's responses with the same JSON writer; `/file/N` answers the
// bytes of the N-th FILE (read once at start), as a cache would answer stored bytes.
import CausewayCore
import Foundation
import Hummingbird
import NIOCore

let arguments = CommandLine.arguments
let port = arguments.count > 1 ? Int(arguments[1]) ?? 8081 : 8081
let files: [ByteBuffer] = arguments.dropFirst(2).map { ByteBuffer(bytes: [UInt8](FileManager.default.contents(atPath: $0) ?? Data())) }
let object = ParseObject(
    objectId: "42", createdAt: ParseDate(millisecondsSince1970: 1_795_453_690_679), updatedAt: ParseDate(millisecondsSince1970: 1_795_453_690_679),
    fields: ["name": .string("item 42"), "category": .string("c-42"), "score": .int(4242), "active": .bool(true)])
let router = Router()
router.get("/object") { _, _ -> Response in
    var w = JSONWriter()
    ParseCodec.write(object, to: &w)
    return Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(bytes: w.bytes)))
}
router.get("/file/:n") { _, context -> Response in
    guard let n = context.parameters.get("n", as: Int.self), files.indices.contains(n) else { return Response(status: .notFound) }
    return Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: files[n]))
}
let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port), serverName: "baseline"))
try await app.runService()

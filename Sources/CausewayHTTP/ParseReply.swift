import CausewayCore

/// What a Parse endpoint answers, before it becomes an HTTP response (or a batch entry).
struct ParseReply: Sendable {
    var status: Int
    var body: [UInt8]
    var headers: [(String, String)] = []

    static func json(_ status: Int = 200, _ write: (inout JSONWriter) -> Void) -> ParseReply {
        var w = JSONWriter()
        write(&w)
        return ParseReply(status: status, body: w.bytes)
    }

    static func json(_ status: Int = 200, _ value: JSONValue) -> ParseReply {
        ParseReply(status: status, body: JSONWriter.serialize(value))
    }

    static func error(_ error: GatewayError) -> ParseReply {
        json(error.httpStatus) { w in writeError(error, &w) }
    }

    static func writeError(_ error: GatewayError, _ w: inout JSONWriter) {
        ErrorCapture.current?.note(error)
        w.raw("{\"code\":")
        w.writeInt(error.code.rawValue)
        w.raw(",\"error\":")
        w.writeString(error.message)
        w.raw("}")
    }

    /// Parse's answer to a failed application id or key check.
    static let unauthorized = json(403, .object(["error": .string("unauthorized")]))
    static let masterKeyRequired = json(403, .object(["error": .string("unauthorized: master key is required")]))
    static let internalError = json(500, .object(["code": .int(1), "message": .string("Internal server error.")]))

    var isSuccess: Bool { status < 400 }
}

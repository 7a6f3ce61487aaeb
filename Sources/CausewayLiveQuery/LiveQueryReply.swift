import CausewayCore

/// Messages the server sends, encoded as Parse's LiveQuery server does.
enum LiveQueryReply {
    enum Event: String, Sendable { case create, enter, update, leave, delete }

    static func connected(clientId: Int, installationId: String?) -> String {
        encode(["op": .string("connected"), "clientId": .int(Int64(clientId)), "installationId": installationId.map(JSONValue.string) ?? .null])
    }

    static func subscribed(_ op: String, clientId: Int, installationId: String?, requestId: Int) -> String {
        encode(["op": .string(op), "clientId": .int(Int64(clientId)), "installationId": installationId.map(JSONValue.string) ?? .null,
                "requestId": .int(Int64(requestId))])
    }

    static func error(code: Int, _ message: String, reconnect: Bool, requestId: Int? = nil) -> String {
        encode(["op": .string("error"), "code": .int(Int64(code)), "error": .string(message), "reconnect": .bool(reconnect),
                "requestId": requestId.map { .int(Int64($0)) } ?? .null])
    }

    static func event(_ event: Event, clientId: Int, installationId: String?, requestId: Int, className: String,
                      object: ParseObject, original: ParseObject?) -> String {
        var o: [String: JSONValue] = ["op": .string(event.rawValue), "clientId": .int(Int64(clientId)), "requestId": .int(Int64(requestId)),
                                      "installationId": installationId.map(JSONValue.string) ?? .null,
                                      "object": json(object, className)]
        if let original { o["original"] = json(original, className) }
        return encode(o)
    }

    /// An object as the SDKs decode it: `className`, `objectId`, fields, `createdAt` / `updatedAt`.
    static func json(_ object: ParseObject, _ className: String) -> JSONValue {
        guard case .object(var o) = ParseCodec.json(object) else { return .null }
        o["className"] = .string(className)
        return .object(o)
    }

    static func encode(_ o: [String: JSONValue]) -> String {
        JSONWriter.string(.object(o.filter { $0.value != .null }))
    }
}

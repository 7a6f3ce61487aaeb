import CausewayCore

/// A message from a LiveQuery client (Parse's protocol: `connect`, `subscribe`, `update`, `unsubscribe`).
enum LiveQueryRequest: Sendable {
    case connect(LiveQueryCredentials)
    case subscribe(SubscribeRequest)
    case update(SubscribeRequest)
    case unsubscribe(requestId: Int)

    struct SubscribeRequest: Sendable {
        var requestId: Int
        var className: String
        var `where`: JSONValue?
        /// `keys` (or the older `fields`): the fields events carry; nil: all.
        var keys: [String]?
        var sessionToken: String?
    }

    /// A malformed message: Parse answers `error` with code 1 (bad JSON or shape) or 3 (unknown op).
    struct Invalid: Error {
        var code: Int
        var message: String
        var requestId: Int?
    }

    static func parse(_ text: String) throws(Invalid) -> LiveQueryRequest {
        let json: JSONValue
        do { json = try JSONParser.parse(text) } catch { throw Invalid(code: 1, message: "Message is not valid JSON: \(error.description)") }
        guard case .object(let o) = json else { throw Invalid(code: 1, message: "A message is a JSON object") }
        guard case .string(let op)? = o["op"] else { throw Invalid(code: 1, message: "Missing required property: op") }
        let requestId = try optionalRequestId(o)
        switch op {
        case "connect":
            guard case .string(let appId)? = o["applicationId"] else { throw Invalid(code: 1, message: "Missing required property: applicationId") }
            var c = LiveQueryCredentials(applicationId: appId)
            c.masterKey = try string(o, "masterKey")
            c.sessionToken = try string(o, "sessionToken")
            c.installationId = try string(o, "installationId")
            for (wire, config) in [("clientKey", "clientKey"), ("javascriptKey", "javascriptKey"), ("restAPIKey", "restAPIKey"), ("windowsKey", "dotNetKey")] {
                if let v = try string(o, wire) { c.clientKeys[config] = v }
            }
            return .connect(c)
        case "subscribe", "update":
            guard let requestId else { throw Invalid(code: 1, message: "Missing required property: requestId") }
            guard case .object(let q)? = o["query"] else { throw Invalid(code: 1, message: "Missing required property: query", requestId: requestId) }
            guard case .string(let className)? = q["className"] else {
                throw Invalid(code: 1, message: "Missing required property: query.className", requestId: requestId)
            }
            var where_: JSONValue?
            switch q["where"] {
            case nil, .null?: where_ = nil
            case .object?: where_ = q["where"]
            default: throw Invalid(code: 1, message: "query.where must be an object", requestId: requestId)
            }
            var keys: [String]?
            for name in ["keys", "fields"] {
                switch q[name] {
                case nil, .null?: continue
                case .array(let items)?:
                    var list: [String] = []
                    for item in items {
                        guard case .string(let s) = item else { throw Invalid(code: 1, message: "query.\(name) must list field names", requestId: requestId) }
                        list.append(s)
                    }
                    keys = (keys ?? []) + list
                case .string(let s)?:
                    keys = (keys ?? []) + s.split(separator: ",").map(String.init)
                default: throw Invalid(code: 1, message: "query.\(name) must list field names", requestId: requestId)
                }
            }
            let request = SubscribeRequest(requestId: requestId, className: className, where: where_, keys: keys,
                                           sessionToken: try string(o, "sessionToken"))
            return op == "subscribe" ? .subscribe(request) : .update(request)
        case "unsubscribe":
            guard let requestId else { throw Invalid(code: 1, message: "Missing required property: requestId") }
            return .unsubscribe(requestId: requestId)
        default:
            throw Invalid(code: 3, message: "Get unknown operation", requestId: requestId)
        }
    }

    private static func optionalRequestId(_ o: [String: JSONValue]) throws(Invalid) -> Int? {
        switch o["requestId"] {
        case nil, .null?: return nil
        case .int(let i)? where i >= 0 && i <= Int64(Int32.max): return Int(i)
        case .double(let d)? where d >= 0 && d <= Double(Int32.max) && d.rounded() == d: return Int(d)
        default: throw Invalid(code: 1, message: "requestId must be a non-negative integer")
        }
    }

    private static func string(_ o: [String: JSONValue], _ key: String) throws(Invalid) -> String? {
        switch o[key] {
        case nil, .null?: return nil
        case .string(let s)?: return s.isEmpty ? nil : s
        default: throw Invalid(code: 1, message: "\(key) must be a string")
        }
    }
}

/// What a `connect` message carries: the application id and keys (checked like the REST API's headers),
/// the session token and the installation id.
public struct LiveQueryCredentials: Sendable {
    public var applicationId: String
    public var masterKey: String?
    /// Client keys by their configuration name (`clientKey`, `javascriptKey`, `restAPIKey`, `dotNetKey`).
    public var clientKeys: [String: String] = [:]
    public var sessionToken: String?
    public var installationId: String?
    /// The client's address (for `masterKeyIps`), filled in from the connection.
    public var remoteAddress: String?

    public init(applicationId: String) { self.applicationId = applicationId }
}

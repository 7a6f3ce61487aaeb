import CausewayCore

/// One notification between gateway nodes on PostgreSQL's LISTEN/NOTIFY channel: small JSON, far below
/// the 8000-byte payload limit (`{"n":node,"t":kind,…}`; never a token, only its hash).
public enum ClusterMessage: Sendable, Equatable {
    /// A write through a node: the others drop the class's cached answers and re-publish it to their
    /// change feed (LiveQuery).
    case write(kind: ObjectChange.Kind, className: String, connector: String, objectId: String)
    case session(SessionEvent)
    /// A cache purge through the API: one class, one connector, or (both nil) everything.
    case purge(connector: String?, className: String?)

    /// PostgreSQL refuses payloads of 8000 bytes or more; a message that would not fit is sent as a purge
    /// of its class instead (never dropped).
    static let maxPayloadBytes = 7900

    func payload(node: String) -> String {
        var o: [String: JSONValue] = ["n": .string(node)]
        switch self {
        case .write(let kind, let className, let connector, let objectId):
            o["t"] = .string("w"); o["k"] = .string(kind.rawValue); o["c"] = .string(className); o["s"] = .string(connector); o["o"] = .string(objectId)
        case .session(.sessionEnded(let hash)):
            o["t"] = .string("e"); o["h"] = .string(hash)
        case .session(.userChanged(let userId)):
            o["t"] = .string("u"); o["u"] = .string(userId)
        case .purge(let connector, let className):
            o["t"] = .string("p")
            if let connector { o["s"] = .string(connector) }
            if let className { o["c"] = .string(className) }
        }
        let text = JSONWriter.string(.object(o))
        if text.utf8.count <= Self.maxPayloadBytes { return text }
        if case .write(_, let className, let connector, _) = self, className.utf8.count + connector.utf8.count < 1000 {
            return ClusterMessage.purge(connector: connector, className: className).payload(node: node)
        }
        return ClusterMessage.purge(connector: nil, className: nil).payload(node: node)
    }

    /// The sender and the message, or nil for a payload that is not one of ours.
    static func parse(_ payload: String) -> (node: String, message: ClusterMessage)? {
        guard case .object(let o)? = try? JSONParser.parse(Array(payload.utf8)), let node = o["n"]?.stringValue, let t = o["t"]?.stringValue else { return nil }
        switch t {
        case "w":
            guard let k = o["k"]?.stringValue.flatMap(ObjectChange.Kind.init(rawValue:)), let c = o["c"]?.stringValue,
                  let s = o["s"]?.stringValue, let id = o["o"]?.stringValue else { return nil }
            return (node, .write(kind: k, className: c, connector: s, objectId: id))
        case "e":
            guard let h = o["h"]?.stringValue else { return nil }
            return (node, .session(.sessionEnded(tokenHash: h)))
        case "u":
            guard let u = o["u"]?.stringValue else { return nil }
            return (node, .session(.userChanged(userId: u)))
        case "p":
            return (node, .purge(connector: o["s"]?.stringValue, className: o["c"]?.stringValue))
        default:
            return nil
        }
    }
}

import CausewayCore
import Synchronization

/// Recently parsed `find` requests by class and raw URL query string: a repeated request (the common case
/// for cached reads) skips query-string decoding, JSON and `where` parsing. Bounded (emptied when full);
/// the schema never changes while the gateway runs, so an entry never goes stale.
final class FindQueryMemo: Sendable {
    private let entries = Mutex<[String: Gateway.ParsedFind]>([:])
    let capacity: Int

    init(capacity: Int = 4096) { self.capacity = capacity }

    func lookup(_ className: String, rawQuery: String) -> Gateway.ParsedFind? {
        entries.withLock { $0[className + "?" + rawQuery] }
    }

    /// Parses with `gateway` and remembers the result under the raw query string (when there is one).
    func parse(_ className: String, _ params: [String: JSONValue], rawQuery: String?, gateway: Gateway) throws(GatewayError) -> Gateway.ParsedFind {
        guard let rawQuery else { return Gateway.ParsedFind(query: try gateway.parseFind(className, params)) }
        let key = className + "?" + rawQuery
        if let hit = entries.withLock({ $0[key] }) { return hit }
        let parsed = try gateway.parseFindForReuse(className, params)
        entries.withLock { m in
            if m.count >= capacity { m.removeAll(keepingCapacity: true) }
            m[key] = parsed
        }
        return parsed
    }
}

/// An estimate of the memory a change holds (its strings' UTF-8 bytes plus a fixed cost per value), used to
/// bound change buffers by bytes (`ChangeFeed.subscription(maxBytes:)`). Cheap: no encoding, no allocation.
extension ObjectChange {
    public var approximateBytes: Int {
        96 + className.utf8.count + connector.utf8.count + objectId.utf8.count
            + (object?.approximateBytes ?? 0) + (original?.approximateBytes ?? 0)
    }
}

extension ParseObject {
    /// See `ObjectChange.approximateBytes`.
    public var approximateBytes: Int {
        var total = 64 + (objectId?.utf8.count ?? 0)
        for (key, value) in fields { total += key.utf8.count + value.approximateBytes }
        return total
    }
}

extension ParseValue {
    /// See `ObjectChange.approximateBytes`.
    public var approximateBytes: Int {
        switch self {
        case .null, .bool, .int, .double, .date, .geoPoint: return 16
        case .string(let s): return 16 + s.utf8.count
        case .pointer(let className, let objectId): return 16 + className.utf8.count + objectId.utf8.count
        case .bytes(let b): return 16 + b.count
        case .file(let name, let url): return 16 + name.utf8.count + (url?.utf8.count ?? 0)
        case .array(let items): return items.reduce(16) { $0 + $1.approximateBytes }
        case .object(let o): return o.reduce(16) { $0 + $1.key.utf8.count + $1.value.approximateBytes }
        }
    }
}

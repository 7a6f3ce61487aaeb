/// One object of a collection: its identity, timestamps and fields (by Parse field name).
public struct ParseObject: Sendable, Hashable {
    public var objectId: String?
    public var createdAt: ParseDate?
    public var updatedAt: ParseDate?
    /// Fields other than `objectId`, `createdAt` and `updatedAt`. Null values are not stored here.
    public var fields: [String: ParseValue]

    public init(objectId: String? = nil, createdAt: ParseDate? = nil, updatedAt: ParseDate? = nil, fields: [String: ParseValue] = [:]) {
        self.objectId = objectId
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.fields = fields
    }

    /// Value of a top-level field or dotted path, including the built-in fields.
    public func value(forPath path: String) -> ParseValue? {
        switch path {
        case "objectId": return objectId.map(ParseValue.string)
        case "createdAt": return createdAt.map(ParseValue.date)
        case "updatedAt": return updatedAt.map(ParseValue.date)
        default: break
        }
        if let direct = fields[path] { return direct }
        guard path.contains(".") else { return nil }
        let parts = path.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard let root = fields[parts[0]] else { return nil }
        return root.value(atPath: parts.dropFirst())
    }

    /// Keeps only the named top-level fields (built-in fields always stay), as `keys=` does.
    public func projected(keys: Set<String>?, excluding: Set<String>) -> ParseObject {
        var copy = self
        if let keys {
            let roots = Set(keys.map { $0.split(separator: ".").first.map(String.init) ?? $0 })
            copy.fields = fields.filter { roots.contains($0.key) }
        }
        for key in excluding { copy.fields[key] = nil }
        return copy
    }
}

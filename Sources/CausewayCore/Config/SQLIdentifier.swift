/// A table, schema or column name from configuration, checked when the configuration loads and quoted
/// once. SQL connectors build statements only from these, never from plain strings: a name that could not
/// be quoted safely (empty, a NUL or other control character, longer than PostgreSQL's 63 bytes) is a
/// configuration error naming its file, line and key.
public struct SQLIdentifier: Sendable, Hashable, CustomStringConvertible {
    public let name: String
    /// `"name"`, with any `"` doubled.
    public let quoted: String

    /// PostgreSQL truncates longer names (NAMEDATALEN - 1), which would silently point at another column.
    public static let maxBytes = 63

    public struct Invalid: Error, Sendable, CustomStringConvertible {
        public let name: String
        public let reason: String
        public var description: String { "'\(name.unicodeScalars.map { $0.properties.generalCategory == .control ? "?" : String($0) }.joined())' \(reason)" }
    }

    public init(_ name: String) throws(Invalid) {
        if let reason = SQLIdentifier.problem(name) { throw Invalid(name: name, reason: reason) }
        self.name = name
        self.quoted = "\"" + (name.contains("\"") ? name.replacingOccurrences(of: "\"", with: "\"\"") : name) + "\""
    }

    /// Why `name` cannot be an identifier, or nil when it can.
    public static func problem(_ name: String) -> String? {
        if name.isEmpty { return "is empty; a table, schema or column name needs at least one character" }
        if name.utf8.count > maxBytes { return "is \(name.utf8.count) bytes long; names are limited to \(maxBytes) bytes" }
        if name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            return "contains a control character (such as NUL or a line break)"
        }
        return nil
    }

    public var description: String { quoted }
}

/// The identifiers of every column a collection's mapping names, looked up by name when statements are built.
public struct SQLIdentifierSet: Sendable {
    private let byName: [String: SQLIdentifier]

    /// Checks every storage column of `schema` (key, timestamps, fields).
    public init(columnsOf schema: CollectionSchema) throws(SQLIdentifier.Invalid) {
        var all = [schema.objectId.column]
        if let c = schema.createdAtColumn { all.append(c) }
        if let u = schema.updatedAtColumn { all.append(u) }
        for f in schema.fields.values { all.append(contentsOf: f.storageColumns) }
        var byName: [String: SQLIdentifier] = [:]
        for name in all where byName[name] == nil { byName[name] = try SQLIdentifier(name) }
        self.byName = byName
    }

    /// The quoted name of a mapped column. Statements only name mapped columns; anything else yields the
    /// empty identifier `""`, which every SQL database rejects, rather than unchecked text.
    public func quoted(_ column: String) -> String { byName[column]?.quoted ?? "\"\"" }
}

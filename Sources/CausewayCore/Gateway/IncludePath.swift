/// Parse's `include` and `keys` rules for following pointers (Parse Server's `RestQuery.js`):
///
/// - `include=a.b.c` includes `a`, `a.b` and `a.b.c` (every prefix), shortest first, so `a.b` walks through
///   the objects `a` was replaced with.
/// - `keys=a.name` forces `include=a` (the path up to its last dot) and selects `name` in the included `a`.
/// - `include=*` (find and get) and `includeAll` (find) include every top-level pointer and array field; with
///   `*`, other include paths are ignored (as Parse does); with `includeAll` they are added.
public enum IncludePath {
    /// The include paths of a request, every prefix listed, shortest first; and the fields `keys` must gain
    /// so that `includeAll` still reads the pointers it includes.
    public static func paths(include: JSONValue?, includeAll: Bool, keys: Set<String>?, schema: CollectionSchema,
                             limits: FederationLimits) throws(GatewayError) -> (paths: [[String]], extraKeys: Set<String>) {
        var requested = try include.map { v throws(GatewayError) in try list(v) } ?? []
        var all = includeAll
        if requested.contains("*") {
            all = true
            requested = []
        } else {
            for key in (keys ?? []).sorted() where key.contains(".") {
                requested.append(String(key[..<key.lastIndex(of: ".")!]))
            }
        }
        var seen: Set<[String]> = []
        var paths: [[String]] = []
        func add(_ path: [String]) {
            for n in 1...path.count where seen.insert(Array(path.prefix(n))).inserted { paths.append(Array(path.prefix(n))) }
        }
        for raw in requested {
            guard QueryParser.isValidKeyPath(raw) else { throw GatewayError(.invalidKeyName, "Invalid key name: \(LogText.clean(raw, limit: 64))") }
            let path = raw.split(separator: ".").map(String.init)
            guard path.count <= limits.maxIncludeDepth else {
                throw GatewayError(.invalidQuery, "The include path \(LogText.clean(raw, limit: 64)) has \(path.count) levels; at most \(limits.maxIncludeDepth) are allowed (limits.maxIncludeDepth).")
            }
            add(path)
            guard paths.count <= limits.maxIncludePaths else {
                throw GatewayError(.invalidQuery, "The request includes more than \(limits.maxIncludePaths) distinct paths; at most \(limits.maxIncludePaths) are allowed (limits.maxIncludePaths).")
            }
        }
        var extraKeys: Set<String> = []
        if all {
            for (name, field) in schema.fields.sorted(by: { $0.key < $1.key }) where field.type == .pointer || field.type == .array {
                add([name])
                extraKeys.insert(name)
            }
        }
        // Stable: by length, then in the order given.
        let ordered = paths.enumerated().sorted { ($0.element.count, $0.offset) < ($1.element.count, $1.offset) }.map(\.element)
        return (ordered, keys == nil ? [] : extraKeys)
    }

    /// The `keys` of the objects included at `path`: each key `path.x[.…]` selects `x`. Nil (every field)
    /// when no key reaches below `path`.
    public static func keys(at path: [String], from keys: Set<String>?) -> Set<String>? {
        guard let keys else { return nil }
        var selected: Set<String> = []
        for key in keys {
            let parts = key.split(separator: ".").map(String.init)
            guard parts.count > path.count, Array(parts.prefix(path.count)) == path else { continue }
            selected.insert(parts[path.count])
        }
        return selected.isEmpty ? nil : selected
    }

    /// The `excludeKeys` of the objects included at `path`: each `path.x` (exactly one level below) excludes `x`.
    public static func excludedKeys(at path: [String], from excluded: Set<String>) -> Set<String> {
        var out: Set<String> = []
        for key in excluded {
            let parts = key.split(separator: ".").map(String.init)
            if parts.count == path.count + 1, Array(parts.prefix(path.count)) == path { out.insert(parts[path.count]) }
        }
        return out
    }

    /// Whether an `includeAll` parameter asks for it (Parse: present means yes; `false` and `0` mean no).
    public static func flag(_ v: JSONValue?) -> Bool {
        switch v {
        case nil, .bool(false)?, .int(0)?, .null?: return false
        case .string(let s)?: return !(s == "false" || s == "0")
        default: return true
        }
    }

    /// `include` as a list: the same forms as `keys` and `order` (`FindRequestParser.list`).
    static func list(_ v: JSONValue) throws(GatewayError) -> [String] { try FindRequestParser.list(v, "include") }
}

import Yams

/// Reads one YAML mapping with exact error locations.
///
/// Every read records the key as known; `finish()` then reports any key nobody read as unknown,
/// listing the keys that are accepted. Scalars go through the `SecretResolver` before conversion,
/// so `port: ${PORT}` is checked as a number after substitution.
public final class YAMLReader {
    public let file: String
    public let keyPath: String
    private let node: Node
    private let pairs: [(key: String, keyNode: Node, value: Node)]
    private var known: [String] = []
    let resolver: SecretResolver
    /// Where problems go when reading should go on past them (nil: the first problem is thrown).
    public let collector: ConfigErrorCollector?

    /// Parses a whole file. A syntax error or a non-mapping document is reported with its position.
    public static func load(file: String, text: String, resolver: SecretResolver,
                            collector: ConfigErrorCollector? = nil) throws(ConfigError) -> YAMLReader {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            var location = YAMLReader.location(of: error, file: file)
            if case .duplicatedKeysInMapping(let duplicates, _) = error, let key = duplicates.first,
               let line = YAMLReader.secondOccurrence(of: key, in: text) {
                location = ConfigLocation(file: file, line: line, column: 1, keyPath: key)
            }
            throw ConfigError(location, "invalid YAML: \(YAMLReader.problem(of: error))")
        } catch {
            throw ConfigError(ConfigLocation(file: file, line: 1, column: 1, keyPath: ""), "invalid YAML: \(error)")
        }
        guard let root else {
            throw ConfigError(ConfigLocation(file: file, line: 1, column: 1, keyPath: ""), "the file is empty; expected a mapping")
        }
        return try YAMLReader(file: file, keyPath: "", node: root, resolver: resolver, collector: collector)
    }

    init(file: String, keyPath: String, node: Node, resolver: SecretResolver, collector: ConfigErrorCollector? = nil) throws(ConfigError) {
        self.file = file
        self.keyPath = keyPath
        self.node = node
        self.resolver = resolver
        self.collector = collector
        guard case .mapping(let mapping) = node else {
            throw ConfigError(YAMLReader.location(file, node, keyPath), "expected a mapping (key: value pairs), found \(YAMLReader.describe(node))")
        }
        var pairs: [(String, Node, Node)] = []
        var seen: Set<String> = []
        for (k, v) in mapping {
            guard case .scalar(let s) = k else {
                throw ConfigError(YAMLReader.location(file, k, keyPath), "keys must be plain strings")
            }
            if !seen.insert(s.string).inserted {
                throw ConfigError(YAMLReader.location(file, k, YAMLReader.join(keyPath, s.string)), "duplicate key '\(s.string)'")
            }
            pairs.append((s.string, k, v))
        }
        self.pairs = pairs
    }

    // MARK: Locations

    public var location: ConfigLocation { YAMLReader.location(file, node, keyPath) }

    public func location(of key: String) -> ConfigLocation {
        guard let pair = pairs.first(where: { $0.key == key }) else { return location }
        return YAMLReader.location(file, pair.keyNode, path(key))
    }

    public func error(_ key: String, _ message: String) -> ConfigError { ConfigError(location(of: key), message) }

    func path(_ key: String) -> String { YAMLReader.join(keyPath, key) }

    static func join(_ a: String, _ b: String) -> String { a.isEmpty ? b : "\(a).\(b)" }

    static func location(_ file: String, _ node: Node, _ keyPath: String) -> ConfigLocation {
        let mark = node.mark
        return ConfigLocation(file: file, line: mark?.line ?? 0, column: mark?.column ?? 0, keyPath: keyPath)
    }

    static func location(of error: YamlError, file: String) -> ConfigLocation {
        switch error {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _):
            return ConfigLocation(file: file, line: mark.line, column: mark.column, keyPath: "")
        case .duplicatedKeysInMapping(_, let context):
            return ConfigLocation(file: file, line: context.mark.line, column: context.mark.column, keyPath: "")
        default:
            return ConfigLocation(file: file, line: 1, column: 1, keyPath: "")
        }
    }

    /// The line of the second `key:` in the text (Yams reports only the mapping's position).
    static func secondOccurrence(of key: String, in text: String) -> Int? {
        var seen = 0
        for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.drop(while: { $0 == " " || $0 == "-" })
            if trimmed.hasPrefix(key + ":") {
                seen += 1
                if seen == 2 { return i + 1 }
            }
        }
        return nil
    }

    static func problem(of error: YamlError) -> String {
        switch error {
        case .scanner(_, let problem, _, _), .parser(_, let problem, _, _), .composer(_, let problem, _, _): return problem
        case .duplicatedKeysInMapping(let duplicates, _): return "duplicate keys \(duplicates.joined(separator: ", "))"
        default: return "\(error)"
        }
    }

    static func describe(_ node: Node) -> String {
        switch node {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .scalar(let s): return isNull(node) || s.string.isEmpty ? "nothing" : "the value '\(s.string)'"
        case .alias: return "an alias"
        }
    }

    // MARK: Keys

    public var keys: [String] { pairs.map(\.key) }

    public func has(_ key: String) -> Bool {
        guard let v = rawValue(key) else { return false }
        return !YAMLReader.isNull(v)
    }

    private func rawValue(_ key: String) -> Node? {
        if !known.contains(key) { known.append(key) }
        return pairs.first(where: { $0.key == key })?.value
    }

    /// Marks keys as accepted without reading them (they are read elsewhere).
    public func accept(_ keys: String...) { for k in keys where !known.contains(k) { known.append(k) } }

    static func isNull(_ node: Node) -> Bool {
        if case .scalar(let s) = node, s.style == .plain { return s.string.isEmpty || ["~", "null", "Null", "NULL"].contains(s.string) }
        return false
    }

    /// Reports the first key that was never read; with a collector, records every such key and returns.
    public func finish() throws(ConfigError) {
        for pair in pairs where !known.contains(pair.key) {
            let expected = known.isEmpty ? "no keys are accepted here" : "expected one of: \(known.joined(separator: ", "))"
            let error = ConfigError(YAMLReader.location(file, pair.keyNode, path(pair.key)), "unknown key '\(pair.key)' (\(expected))")
            guard let collector else { throw error }
            collector.record(error)
        }
    }

    /// Runs one part of the reading. With a collector, a problem it throws is recorded and nil returned,
    /// so the caller goes on with a default and the next problem is found too; without one it is thrown.
    public func collect<T>(_ body: () throws(ConfigError) -> T) throws(ConfigError) -> T? {
        do {
            return try body()
        } catch {
            guard let collector else { throw error }
            collector.record(error)
            return nil
        }
    }

    // MARK: Scalars

    private func scalar(_ key: String, _ expected: String) throws(ConfigError) -> (String, ConfigLocation)? {
        guard let v = rawValue(key), !YAMLReader.isNull(v) else { return nil }
        let loc = YAMLReader.location(file, v, path(key))
        guard case .scalar(let s) = v else {
            throw ConfigError(loc, "expected \(expected), found \(YAMLReader.describe(v))")
        }
        do {
            return (try resolver.resolve(s.string), loc)
        } catch {
            guard case .message(let m) = error else { return nil }
            throw ConfigError(loc, m)
        }
    }

    private func missing(_ key: String, _ expected: String) -> ConfigError {
        ConfigError(ConfigLocation(file: file, line: location.line, column: location.column, keyPath: path(key)),
                    "required key '\(key)' is missing (expected \(expected))")
    }

    public func optionalString(_ key: String) throws(ConfigError) -> String? {
        try scalar(key, "a string")?.0
    }

    public func string(_ key: String) throws(ConfigError) -> String {
        guard let s = try optionalString(key) else { throw missing(key, "a string") }
        return s
    }

    public func optionalInt(_ key: String, range: ClosedRange<Int>? = nil) throws(ConfigError) -> Int? {
        guard let (s, loc) = try scalar(key, "an integer") else { return nil }
        guard let i = Int(s.replacingOccurrences(of: "_", with: "")) else {
            throw ConfigError(loc, "expected an integer, found '\(s)'")
        }
        if let range, !range.contains(i) {
            throw ConfigError(loc, "expected an integer from \(range.lowerBound) to \(range.upperBound), found \(i)")
        }
        return i
    }

    public func int(_ key: String, default value: Int, range: ClosedRange<Int>? = nil) throws(ConfigError) -> Int {
        try optionalInt(key, range: range) ?? value
    }

    public func optionalBool(_ key: String) throws(ConfigError) -> Bool? {
        guard let (s, loc) = try scalar(key, "true or false") else { return nil }
        switch s.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw ConfigError(loc, "expected true or false, found '\(s)'")
        }
    }

    public func bool(_ key: String, default value: Bool) throws(ConfigError) -> Bool {
        try optionalBool(key) ?? value
    }

    /// A string that must be one of the given choices.
    public func choice<T: RawRepresentable>(_ key: String, default value: T?, _ type: T.Type) throws(ConfigError) -> T?
    where T.RawValue == String, T: CaseIterable {
        guard let (s, loc) = try scalar(key, "a string") else { return value }
        guard let v = T(rawValue: s) else {
            throw ConfigError(loc, "expected one of \(T.allCases.map { $0.rawValue }.joined(separator: ", ")), found '\(s)'")
        }
        return v
    }

    /// A list of strings; a single string is accepted as a one-element list.
    public func optionalStringList(_ key: String) throws(ConfigError) -> [String]? {
        guard let v = rawValue(key), !YAMLReader.isNull(v) else { return nil }
        if case .scalar = v { return [try string(key)] }
        guard case .sequence(let seq) = v else {
            throw ConfigError(YAMLReader.location(file, v, path(key)), "expected a list of strings, found \(YAMLReader.describe(v))")
        }
        var out: [String] = []
        for (i, item) in seq.enumerated() {
            let loc = YAMLReader.location(file, item, "\(path(key))[\(i)]")
            guard case .scalar(let s) = item else { throw ConfigError(loc, "expected a string, found \(YAMLReader.describe(item))") }
            do { out.append(try resolver.resolve(s.string)) } catch {
                if case .message(let m) = error { throw ConfigError(loc, m) }
            }
        }
        return out
    }

    // MARK: Nested

    public func optionalChild(_ key: String) throws(ConfigError) -> YAMLReader? {
        guard let v = rawValue(key), !YAMLReader.isNull(v) else { return nil }
        return try YAMLReader(file: file, keyPath: path(key), node: v, resolver: resolver, collector: collector)
    }

    public func child(_ key: String) throws(ConfigError) -> YAMLReader {
        guard let c = try optionalChild(key) else { throw missing(key, "a mapping") }
        return c
    }

    /// Whether the value under `key` is a mapping (as opposed to a scalar shorthand).
    public func isMapping(_ key: String) -> Bool {
        guard let v = pairs.first(where: { $0.key == key })?.value, case .mapping = v else { return false }
        return true
    }

    /// A list of mappings.
    public func optionalList(_ key: String) throws(ConfigError) -> [YAMLReader]? {
        guard let v = rawValue(key), !YAMLReader.isNull(v) else { return nil }
        guard case .sequence(let seq) = v else {
            throw ConfigError(YAMLReader.location(file, v, path(key)), "expected a list, found \(YAMLReader.describe(v))")
        }
        var out: [YAMLReader] = []
        for (i, item) in seq.enumerated() {
            out.append(try YAMLReader(file: file, keyPath: "\(path(key))[\(i)]", node: item, resolver: resolver, collector: collector))
        }
        return out
    }

    /// A list of arbitrary values converted to JSON (for seed data). Strings keep their YAML typing.
    public func optionalJSONList(_ key: String) throws(ConfigError) -> [JSONValue]? {
        guard let v = rawValue(key), !YAMLReader.isNull(v) else { return nil }
        guard case .sequence(let seq) = v else {
            throw ConfigError(YAMLReader.location(file, v, path(key)), "expected a list, found \(YAMLReader.describe(v))")
        }
        return seq.map(YAMLReader.json)
    }

    /// Any value converted to JSON (rules written as `where` documents).
    public func optionalJSON(_ key: String) -> JSONValue? {
        guard let v = rawValue(key), !YAMLReader.isNull(v) else { return nil }
        return YAMLReader.json(v)
    }

    static func json(_ node: Node) -> JSONValue {
        switch node {
        case .scalar(let s):
            guard s.style == .plain else { return .string(s.string) }
            if isNull(node) { return .null }
            if let b = node.bool { return .bool(b) }
            if let i = node.int { return .int(Int64(i)) }
            if let d = node.float { return .double(d) }
            return .string(s.string)
        case .sequence(let seq): return .array(seq.map(json))
        case .mapping(let m):
            var o: [String: JSONValue] = [:]
            for (k, v) in m { o[k.string ?? ""] = json(v) }
            return .object(o)
        case .alias: return .null
        }
    }

    /// The entries of a mapping whose keys are names (collections, fields).
    public func entries(_ key: String) throws(ConfigError) -> [(name: String, location: ConfigLocation, value: Node)] {
        guard let v = rawValue(key), !YAMLReader.isNull(v) else { return [] }
        let child = try YAMLReader(file: file, keyPath: path(key), node: v, resolver: resolver)
        return child.pairs.map { ($0.key, YAMLReader.location(file, $0.keyNode, child.path($0.key)), $0.value) }
    }

    /// A reader over a value from `entries`.
    public func reader(for entry: (name: String, location: ConfigLocation, value: Node)) throws(ConfigError) -> YAMLReader {
        try YAMLReader(file: file, keyPath: entry.location.keyPath, node: entry.value, resolver: resolver, collector: collector)
    }

    /// A scalar entry value (`name: column_name` shorthand), resolved.
    public func scalarValue(of entry: (name: String, location: ConfigLocation, value: Node)) throws(ConfigError) -> String? {
        guard case .scalar(let s) = entry.value else { return nil }
        do { return try resolver.resolve(s.string) } catch {
            if case .message(let m) = error { throw ConfigError(entry.location, m) }
            return nil
        }
    }
}

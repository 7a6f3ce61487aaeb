/// How a connector's (or one collection's) data may be cached, from the `cache:` key of a connector file.
///
/// ```yaml
/// cache:
///   ttlSeconds: 30
///   maxBytes: 16MiB                  # or a plain number of bytes
///   operations: [get, find, count]
///   staleWhileRevalidateSeconds: 10
///   staleIfErrorSeconds: 300
/// collections:
///   Ticket:
///     cache: { ttlSeconds: 5 }       # overrides the connector's values; `cache: off` disables
/// ```
public struct CachePolicy: Sendable, Equatable {
    public enum Operation: String, Sendable, CaseIterable { case get, find, count }

    public var ttlMs: Int64 = 30_000
    public var maxBytes = 16 * 1024 * 1024
    public var operations: Set<Operation> = Set(Operation.allCases)
    public var staleWhileRevalidateMs: Int64 = 0
    public var staleIfErrorMs: Int64 = 0

    public init() {}

    /// A collection's override: only the keys it sets.
    public struct Override: Sendable, Equatable {
        public var disabled = false
        public var ttlMs: Int64?
        public var operations: Set<Operation>?
        public var staleWhileRevalidateMs: Int64?
        public var staleIfErrorMs: Int64?
        public init() {}
    }

    public func applying(_ o: Override?) -> CachePolicy? {
        guard let o else { return self }
        if o.disabled { return nil }
        var p = self
        if let v = o.ttlMs { p.ttlMs = v }
        if let v = o.operations { p.operations = v }
        if let v = o.staleWhileRevalidateMs { p.staleWhileRevalidateMs = v }
        if let v = o.staleIfErrorMs { p.staleIfErrorMs = v }
        return p
    }

    /// Reads a connector's `cache` key: nil when absent or `off`.
    public static func read(_ r: YAMLReader, key: String = "cache") throws(ConfigError) -> CachePolicy? {
        if let flag = try? r.optionalBool(key) { return flag == true ? CachePolicy() : nil }
        if let word = try? r.optionalString(key) {
            guard word == "off" || word == "on" else { throw r.error(key, "expected off, on or a mapping, found '\(word)'") }
            return word == "on" ? CachePolicy() : nil
        }
        guard let c = try r.optionalChild(key) else { return nil }
        if try c.optionalBool("enabled") == false { return nil }
        var p = CachePolicy()
        let o = try readOverride(c, allowMaxBytes: true, maxBytes: &p.maxBytes)
        return p.applying(o)
    }

    /// Reads a collection's `cache` key.
    public static func readOverride(_ r: YAMLReader, key: String = "cache") throws(ConfigError) -> Override? {
        if let flag = try? r.optionalBool(key) {
            var o = Override()
            o.disabled = flag == false
            return o
        }
        if let word = try? r.optionalString(key) {
            guard word == "off" || word == "on" else { throw r.error(key, "expected off, on or a mapping, found '\(word)'") }
            var o = Override()
            o.disabled = word == "off"
            return o
        }
        guard let c = try r.optionalChild(key) else { return nil }
        var ignored = 0
        var o = try readOverride(c, allowMaxBytes: false, maxBytes: &ignored)
        if try c.optionalBool("enabled") == false { o.disabled = true }
        return o
    }

    private static func readOverride(_ c: YAMLReader, allowMaxBytes: Bool, maxBytes: inout Int) throws(ConfigError) -> Override {
        c.accept("enabled")
        var o = Override()
        if let v = try c.optionalInt("ttlSeconds", range: 1...86_400 * 30) { o.ttlMs = Int64(v) * 1000 }
        if let v = try c.optionalInt("staleWhileRevalidateSeconds", range: 0...86_400) { o.staleWhileRevalidateMs = Int64(v) * 1000 }
        if let v = try c.optionalInt("staleIfErrorSeconds", range: 0...86_400 * 30) { o.staleIfErrorMs = Int64(v) * 1000 }
        if let list = try c.optionalStringList("operations") {
            var ops: Set<Operation> = []
            for name in list {
                guard let op = Operation(rawValue: name) else { throw c.error("operations", "unknown operation '\(name)' (expected get, find or count)") }
                ops.insert(op)
            }
            o.operations = ops
        }
        if allowMaxBytes, let text = try c.optionalString("maxBytes") {
            guard let bytes = CachePolicy.bytes(text), bytes >= 1024 else {
                throw c.error("maxBytes", "expected a size of at least 1024 bytes such as 16777216, 64KiB, 16MiB or 1GiB, found '\(text)'")
            }
            maxBytes = bytes
        }
        try c.finish()
        return o
    }

    /// `16777216`, `64KiB`, `16MiB`, `1GiB` (also KB/MB/GB as powers of 1024).
    public static func bytes(_ text: String) -> Int? {
        let t = text.trimmingCharacters(in: .whitespaces)
        let units: [(String, Int)] = [("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30), ("KB", 1 << 10), ("MB", 1 << 20), ("GB", 1 << 30), ("B", 1)]
        for (suffix, factor) in units where t.hasSuffix(suffix) {
            return Int(t.dropLast(suffix.count).trimmingCharacters(in: .whitespaces)).map { $0 * factor }
        }
        return Int(t)
    }
}

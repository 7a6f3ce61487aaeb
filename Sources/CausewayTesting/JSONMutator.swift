import CausewayCore

/// Seeded mutations of JSON text for fuzz tests: edits of the JSON tree, and byte flips, insertions of structural and escape
/// characters, deletions, truncations, duplicated slices and broken UTF-8. The same seed gives the same
/// cases, so a failure reproduces (`CAUSEWAY_FUZZ_SEED` overrides a test's seed).
public struct JSONMutator {
    var rng: SeededRandom

    public init(seed: UInt64) { rng = SeededRandom(state: seed) }

    static let interesting: [[UInt8]] = [
        Array("{".utf8), Array("}".utf8), Array("[".utf8), Array("]".utf8), Array("\"".utf8), Array(":".utf8), Array(",".utf8),
        Array("\\".utf8), Array("\\u".utf8), Array("\\ud800".utf8), Array("$or".utf8), Array("$regex".utf8), Array("__type".utf8),
        Array("1e999".utf8), Array("-0".utf8), Array("99999999999999999999".utf8), Array("null".utf8), Array("true".utf8),
        [0x00], [0xFF], [0xC3], [0xE2, 0x82], [0xF0, 0x9F, 0x92, 0xA5], Array(String(repeating: "[", count: 300).utf8),
    ]

    static let keys = ["name", "score", "floor", "tags", "active", "occupied", "when", "place", "location", "meta.color", "owner",
                       "objectId", "createdAt", "nope", "$or", "$and", "$nor", "$in", "$nin", "$lt", "$gte", "$ne", "$exists",
                       "$regex", "$options", "$all", "$nearSphere", "$maxDistance", "$within", "$box", "$select", "__type", "__op", "iso"]

    /// One mutation of `input`: half of the time edits of the JSON tree (values replaced, keys renamed to other
    /// fields or operators, subtrees wrapped or duplicated), else byte edits (which mostly break the JSON).
    public mutating func mutate(_ input: [UInt8]) -> [UInt8] {
        if Bool.random(using: &rng), let tree = try? JSONParser.parse(input) {
            var value = tree
            for _ in 0...Int.random(in: 0...2, using: &rng) { value = mutateTree(value, depth: 0) }
            return JSONWriter.serialize(value)
        }
        return mutateBytes(input)
    }

    mutating func randomValue(depth: Int) -> JSONValue {
        switch Int.random(in: 0..<(depth > 2 ? 7 : 10), using: &rng) {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &rng))
        case 2: return .int(Int64.random(in: -1_000...1_000, using: &rng))
        case 3: return .double([1e308, -0.0, 3.5, 1e-300, 47.36][Int.random(in: 0..<5, using: &rng)])
        case 4: return .string(["", "Desk A", "(a+)+$", "[", "^D", "2026-01-01T00:00:00Z", "💥", "\u{0}", String(repeating: "x", count: 300)][Int.random(in: 0..<9, using: &rng)])
        case 5: return .object(["__type": .string(["Date", "GeoPoint", "Pointer", "Bytes", "File", "Nope"][Int.random(in: 0..<6, using: &rng)]),
                                "iso": .string("2026-02-03T04:05:06Z"), "latitude": .double(91), "longitude": .int(8), "className": .string("X"),
                                "objectId": .int(3), "base64": .string("@@")])
        case 6: return .string("x")
        case 7, 8: return .array((0..<Int.random(in: 0...3, using: &rng)).map { _ in randomValue(depth: depth + 1) })
        default:
            var o: [String: JSONValue] = [:]
            for _ in 0..<Int.random(in: 0...3, using: &rng) { o[Self.keys.randomElement(using: &rng)!] = randomValue(depth: depth + 1) }
            return .object(o)
        }
    }

    mutating func mutateTree(_ value: JSONValue, depth: Int) -> JSONValue {
        switch value {
        case .object(var o) where !o.isEmpty && Int.random(in: 0..<4, using: &rng) > 0:
            let key = o.keys.sorted().randomElement(using: &rng)!
            switch Int.random(in: 0..<4, using: &rng) {
            case 0:  // rename the key
                let v = o.removeValue(forKey: key)!
                o[Self.keys.randomElement(using: &rng)!] = v
            case 1: o[key] = randomValue(depth: depth + 1)
            case 2: o[key] = .object(["$or": .array([.object([key: o[key]!]), .object([key: o[key]!])])])
            default: o[key] = mutateTree(o[key]!, depth: depth + 1)
            }
            return .object(o)
        case .array(var a) where !a.isEmpty && Int.random(in: 0..<3, using: &rng) > 0:
            let i = Int.random(in: 0..<a.count, using: &rng)
            a[i] = mutateTree(a[i], depth: depth + 1)
            if Bool.random(using: &rng) { a.append(a[i]) }
            return .array(a)
        default:
            return randomValue(depth: depth)
        }
    }

    /// One to four byte edits of `input`.
    public mutating func mutateBytes(_ input: [UInt8]) -> [UInt8] {
        var bytes = input
        for _ in 0...Int.random(in: 0...3, using: &rng) {
            let at = bytes.isEmpty ? 0 : Int.random(in: 0...bytes.count, using: &rng)
            switch Int.random(in: 0..<6, using: &rng) {
            case 0 where at < bytes.count: bytes[at] = UInt8.random(in: 0...255, using: &rng)
            case 1: bytes.insert(contentsOf: Self.interesting.randomElement(using: &rng)!, at: at)
            case 2 where at < bytes.count: bytes.remove(at: at)
            case 3: bytes = Array(bytes.prefix(at))
            case 4 where !bytes.isEmpty:
                let start = Int.random(in: 0..<bytes.count, using: &rng)
                let end = min(bytes.count, start + Int.random(in: 1...16, using: &rng))
                bytes.insert(contentsOf: bytes[start..<end], at: at)
            default: bytes.insert(UInt8.random(in: 32...126, using: &rng), at: at)
            }
        }
        return bytes
    }

    /// The seed to use: `CAUSEWAY_FUZZ_SEED` from the environment when set, else `fallback`.
    public static func seed(_ fallback: UInt64, environment: [String: String]) -> UInt64 {
        environment["CAUSEWAY_FUZZ_SEED"].flatMap(UInt64.init) ?? fallback
    }
}

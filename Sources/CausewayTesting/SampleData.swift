import CausewayCore

/// A deterministic generator, so failures reproduce.
public struct SeededRandom: RandomNumberGenerator {
    var state: UInt64
    public init(state: UInt64) { self.state = state }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Varied objects for the `Item` test collection (see `ConnectorConformance.itemFields`): missing fields,
/// mixed case and non-ASCII names, integers and fractions, arrays, dates, geo points, objects, pointers.
public func sampleBodies(count: Int, seed: UInt64 = 42) -> [[String: JSONValue]] {
    var rng = SeededRandom(state: seed)
    let names = ["alpha", "Alpha", "beta", "Gamma", "delta", "Épée", "zeta", "eta", "Theta", "iota", "kappa", "a.b*c", "O'Brien", "ümlaut"]
    let tags = ["red", "green", "blue", "x", "y"]
    var out: [[String: JSONValue]] = []
    for i in 0..<count {
        var o: [String: JSONValue] = [:]
        if Int.random(in: 0..<10, using: &rng) > 0 { o["name"] = .string(names.randomElement(using: &rng)! + (i % 3 == 0 ? " \(i % 7)" : "")) }
        switch Int.random(in: 0..<4, using: &rng) {
        case 0: break
        case 1: o["score"] = .double(Double(Int.random(in: -500...500, using: &rng)) / 4)
        default: o["score"] = .int(Int64.random(in: -20...20, using: &rng))
        }
        if Bool.random(using: &rng) { o["active"] = .bool(Bool.random(using: &rng)) }
        if Int.random(in: 0..<5, using: &rng) > 0 {
            let ms = Int64.random(in: 1_700_000_000_000...1_800_000_000_000, using: &rng)
            o["when"] = .object(["__type": .string("Date"), "iso": .string(ParseDate(millisecondsSince1970: ms).iso8601)])
        }
        if Int.random(in: 0..<4, using: &rng) > 0 {
            let n = Int.random(in: 0...3, using: &rng)
            o["tags"] = .array((0..<n).map { _ in .string(tags.randomElement(using: &rng)!) })
        }
        if Int.random(in: 0..<5, using: &rng) > 0 {
            o["place"] = .object(["__type": .string("GeoPoint"),
                                  "latitude": .double(Double.random(in: 45...48, using: &rng)),
                                  "longitude": .double(Double.random(in: 6...10, using: &rng))])
        }
        if Bool.random(using: &rng) { o["meta"] = .object(["color": .string(tags.randomElement(using: &rng)!), "n": .int(Int64(i))]) }
        if Int.random(in: 0..<3, using: &rng) == 0 {
            o["owner"] = .object(["__type": .string("Pointer"), "className": .string("Person"), "objectId": .string("p\(i % 5)")])
        }
        out.append(o)
    }
    return out
}

import CausewayCore
@testable import CausewaySQLite
import Foundation
import Logging

/// A SQLite connector over a fresh temporary file, built from YAML like a real deployment.
struct SQLiteFixture {
    let directory: String
    let connector: SQLiteConnector
    let logger = Logger(label: "test")

    static let itemYAML = """
    kind: sqlite
    connection:
      path: items.sqlite
    collections:
      Item:
        table: items
        objectId: { column: id, type: string }
        createdAt: created_at
        updatedAt: updated_at
        fields:
          name: { type: string }
          score: { type: number }
          active: { type: boolean }
          when: { column: happened_at, type: date }
          tags: { type: array }
          place: { type: geopoint }
          meta: { type: object }
          owner: { type: pointer, targetClass: Person }
          blob: { type: bytes }
    """

    init(yaml: String = SQLiteFixture.itemYAML, prepare: ((String) async throws -> Void)? = nil) async throws {
        directory = NSTemporaryDirectory() + "causeway-sqlite-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let file = directory + "/test.yaml"
        try yaml.write(toFile: file, atomically: true, encoding: .utf8)
        if let prepare { try await prepare(directory) }
        connector = try ConfigLoader.loadConnector(path: file, factories: [SQLiteConnectorFactory()], environment: [:]) as! SQLiteConnector
        try await connector.start(logger: logger)
    }

    func gateway(_ connector: (any Connector)? = nil) -> Gateway {
        Gateway(config: GatewayConfig(), connectors: [connector ?? self.connector])
    }

    func close() async {
        await connector.shutdown()
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// A deterministic generator, so failures reproduce.
struct SeededRandom: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Varied objects: missing fields, mixed case and non-ASCII names, integers and fractions, arrays, geo.
func sampleBodies(count: Int, seed: UInt64 = 42) -> [[String: JSONValue]] {
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

import CausewayCore
import CausewayHTTPTesting
import CausewayTesting
import Foundation
import Testing

/// Random, mostly invalid input must always get a Parse-shaped answer (never a 500) and must not
/// change stored data.
@Suite struct RobustnessTests {
    struct Generator {
        var state: UInt64
        mutating func next(_ n: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(n))
        }

        static let fields = ["name", "floor", "occupied", "tags", "location", "lastCleaned", "office", "objectId", "createdAt", "nope", "bad key", "a.b", "$or", "_x", ""]
        static let operators = ["$lt", "$lte", "$gt", "$gte", "$ne", "$eq", "$in", "$nin", "$exists", "$regex", "$options", "$all",
                                "$containedBy", "$nearSphere", "$maxDistance", "$maxDistanceInMiles", "$within", "$geoWithin", "$box",
                                "$or", "$and", "$nor", "$select", "$foo", "__op", "__type"]

        mutating func value(depth: Int) -> JSONValue {
            switch next(depth > 2 ? 8 : 12) {
            case 0: return .null
            case 1: return .bool(next(2) == 0)
            case 2: return .int(Int64(next(2000)) - 1000)
            case 3: return .double(Double(next(100_000)) / 7 - 5000)
            case 4: return .string(["", "Desk A", "(", "[a-z", "^D", "2026-01-01T00:00:00Z", "💥", "\u{0}"][next(8)])
            case 5: return .object(["__type": .string("GeoPoint"), "latitude": .double(Double(next(200)) - 100), "longitude": .int(Int64(next(400)) - 200)])
            case 6: return .object(["__type": .string(["Date", "Pointer", "Bytes", "Nope"][next(4)]), "iso": .string("2026-02-03T04:05:06Z"), "base64": .string("@@")])
            case 7: return .string("x")
            case 8, 9: return .array((0..<next(4)).map { _ in value(depth: depth + 1) })
            default:
                var o: [String: JSONValue] = [:]
                for _ in 0..<next(4) {
                    let key = next(2) == 0 ? Self.operators[next(Self.operators.count)] : Self.fields[next(Self.fields.count)]
                    o[key] = value(depth: depth + 1)
                }
                return .object(o)
            }
        }
    }

    @Test func randomQueriesNeverFailWithAServerError() async throws {
        try await ParseTestApp().run { c in
            var g = Generator(state: 2026)
            var statuses: [Int: Int] = [:]
            for _ in 0..<400 {
                let whereValue = g.value(depth: 0)
                let r = try await c.find("Workstation", ["where": JSONWriter.string(whereValue)])
                statuses[r.status, default: 0] += 1
                #expect(r.status == 200 || (r.status == 400 && r.code != nil && !r.errorMessage.isEmpty),
                        "\(JSONWriter.string(whereValue)) -> \(r.status) \(r.text)")
            }
            #expect((statuses[200] ?? 0) > 10 && (statuses[400] ?? 0) > 100, "\(statuses)")
        }
    }

    @Test func randomWritesNeverFailWithAServerErrorNorCorruptData() async throws {
        try await ParseTestApp().run { c in
            let before = try await c.find("Workstation", ["order": "name"])
            let deskA = try #require(before.results.first?["objectId"]?.stringValue)
            var g = Generator(state: 7)
            var created = 0
            for i in 0..<300 {
                let body = JSONWriter.string(g.value(depth: 0))
                let r = i % 2 == 0
                    ? try await c.request(.post, "/parse/classes/Workstation", body)
                    : try await c.request(.put, "/parse/classes/Workstation/\(deskA)", body)
                #expect([200, 201, 400].contains(r.status), "\(body) -> \(r.status) \(r.text)")
                if r.status == 400 { #expect(r.code != nil, "\(body) -> \(r.text)") }
                if r.status == 201 { created += 1 }
            }
            // Every stored object still reads back as valid Parse JSON with its types intact.
            let after = try await c.find("Workstation", ["limit": "500"])
            #expect(after.status == 200)
            for object in after.results {
                if let floor = object["floor"] { #expect(floor.doubleValue != nil, "\(object)") }
                if let occupied = object["occupied"], case .bool = occupied {} else if object["occupied"] != nil { Issue.record("occupied: \(object)") }
                if let tags = object["tags"] { #expect(tags.arrayValue != nil) }
            }
            #expect(after.results.count == 4 + created, "exactly the accepted creates were stored")
            #expect(created > 0, "some random bodies are valid objects")
        }
    }
}

import HTTPTypes

/// Seeded byte-level mutations of valid queries and bodies through the whole request decoder: thousands of
/// cases, each answered 2xx or 4xx with Parse's `{code, error}`; never a 5xx. `CAUSEWAY_FUZZ_SEED` reproduces a run.
@Suite struct RequestFuzzTests {
    static let queries = [
        #"{"name":"Desk A"}"#, #"{"floor":{"$gte":2},"occupied":false}"#, #"{"$or":[{"office":"Basel"},{"tags":"dock"}]}"#,
        #"{"location":{"$nearSphere":{"__type":"GeoPoint","latitude":47.36,"longitude":8.54},"$maxDistanceInMiles":2}}"#,
        #"{"lastCleaned":{"$lt":{"__type":"Date","iso":"2026-01-01T00:00:00.000Z"}},"name":{"$regex":"^Desk","$options":"i"}}"#,
    ]
    static let bodies = [
        #"{"name":"Desk Z","floor":7,"occupied":false,"tags":["a"]}"#,
        #"{"floor":{"__op":"Increment","amount":1},"tags":{"__op":"AddUnique","objects":["b"]}}"#,
        #"{"location":{"__type":"GeoPoint","latitude":47.1,"longitude":8.2},"lastCleaned":{"__type":"Date","iso":"2026-01-02T03:04:05.678Z"}}"#,
    ]

    static func parseShaped(_ r: ParseResult) -> Bool {
        if r.status < 300 { return true }
        return r.status < 500 && r.code != nil && !r.errorMessage.isEmpty
    }

    @Test func mutatedRequestsAlwaysGetAParseAnswer() async throws {
        let seed = JSONMutator.seed(7_340_033, environment: ProcessInfo.processInfo.environment)
        try await ParseTestApp().run { c in
            var mutator = JSONMutator(seed: seed)
            var statuses: [Int: Int] = [:]
            let deskA = try #require(try await c.find("Workstation", ["where": #"{"name":"Desk A"}"#]).results.first?["objectId"]?.stringValue)
            for i in 0..<3000 {
                let r: ParseResult
                switch i % 3 {
                case 0:
                    let q = String(decoding: mutator.mutate(Array(Self.queries[i % Self.queries.count].utf8)), as: UTF8.self)
                    r = try await c.find("Workstation", ["where": q, "limit": "5"])
                case 1:
                    let body = String(decoding: mutator.mutate(Array(Self.bodies[i % Self.bodies.count].utf8)), as: UTF8.self)
                    r = try await c.request(.put, "/parse/classes/Workstation/\(deskA)", body)
                default:
                    let body = String(decoding: mutator.mutate(Array(Self.bodies[i % Self.bodies.count].utf8)), as: UTF8.self)
                    r = try await c.request(.post, "/parse/classes/Workstation", body)
                }
                statuses[r.status, default: 0] += 1
                #expect(Self.parseShaped(r), "seed \(seed) case \(i): \(r.status) \(r.text.prefix(300))")
            }
            #expect((statuses[200] ?? 0) + (statuses[201] ?? 0) > 50 && (statuses[400] ?? 0) > 1000, "seed \(seed): \(statuses)")
        }
    }
}

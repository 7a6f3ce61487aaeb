import CausewayCore
import CausewayTesting
import Foundation
import Testing

/// Fuzzing the `where` pipeline (JSON parser, size limits, query parser) with seeded byte mutations of valid
/// queries: every input is either parsed or refused with a Parse error; nothing crashes.
@Suite struct WhereFuzzTests {
    static let seeds: [String] = [
        #"{"name":"alpha","score":{"$gt":3}}"#,
        #"{"$or":[{"score":{"$lt":-10}},{"name":{"$in":["beta","Gamma",null]}}]}"#,
        #"{"tags":{"$all":["red","blue"]},"active":{"$ne":true}}"#,
        #"{"place":{"$nearSphere":{"__type":"GeoPoint","latitude":46.5,"longitude":8},"$maxDistanceInKilometers":60}}"#,
        #"{"when":{"$gt":{"__type":"Date","iso":"2025-06-01T00:00:00.000Z"}},"name":{"$regex":"^a","$options":"i"}}"#,
        #"{"owner":{"__type":"Pointer","className":"Person","objectId":"p3"},"meta.color":"red"}"#,
        #"{"$and":[{"active":false},{"$nor":[{"tags":"x"},{"score":{"$exists":true}}]}]}"#,
    ]

    @Test func mutatedQueriesAreParsedOrRefusedWithAParseError() {
        let seed = JSONMutator.seed(20_261_201, environment: ProcessInfo.processInfo.environment)
        var mutator = JSONMutator(seed: seed)
        var outcomes = (parsed: 0, badJSON: 0, refused: 0)
        let limits = WhereLimits()
        for i in 0..<20_000 {
            let input = mutator.mutate(Array(Self.seeds[i % Self.seeds.count].utf8))
            let json: JSONValue
            do { json = try JSONParser.parse(input) } catch {
                outcomes.badJSON += 1
                continue
            }
            do {
                try limits.check(json)
                _ = try QueryParser(schema: testSchema).parse(json)
                outcomes.parsed += 1
            } catch {
                // Typed throws: the error is a GatewayError; it must be a client error with a message.
                #expect(error.code != .internalServerError && !error.message.isEmpty,
                        "seed \(seed) case \(i): \(String(decoding: input, as: UTF8.self)) -> \(error)")
                outcomes.refused += 1
            }
        }
        // The mutations reach every stage (not all rejected by the JSON parser).
        #expect(outcomes.parsed > 500 && outcomes.refused > 1000 && outcomes.badJSON > 1000, "seed \(seed): \(outcomes)")
    }
}

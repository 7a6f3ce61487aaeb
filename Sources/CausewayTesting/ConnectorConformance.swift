import CausewayCore
import Logging

/// Checks every connector must pass: the same queries with full pushdown, partial pushdown and none
/// return the same pages and counts, so results never depend on where a condition ran.
public enum ConnectorConformance {
    /// The `Item` collection's fields as YAML (each connector adds its own table/column keys around them).
    public static let itemFieldsYAML = """
          name: { type: string }
          score: { type: number }
          active: { type: boolean }
          when: { column: happened_at, type: date }
          tags: { type: array }
          place: { type: geopoint }
          meta: { type: object }
          owner: { type: pointer, targetClass: Person }
    """

    public struct Query: Sendable, CustomStringConvertible {
        public var whereJSON: String
        public var order: String?
        public var skip: Int
        public var limit: Int
        public var description: String { "where=\(whereJSON) order=\(order ?? "-") skip=\(skip) limit=\(limit)" }
    }

    /// Queries over `sampleBodies`: every operator, nested logic, geo, paging and ordering.
    /// The last `inMemoryOnly` of them use conditions no connector pushes down (object paths, polygons).
    public static let queries: [Query] = [
        ("{}", nil, 0, 1000),
        (#"{"score":{"$gt":3}}"#, "-score", 0, 20),
        (#"{"score":{"$gte":-2.5,"$lt":4}}"#, "score,name", 3, 15),
        (#"{"score":{"$lte":0}}"#, "-name", 0, 50),
        (#"{"name":"alpha"}"#, nil, 0, 100),
        (#"{"name":{"$ne":"beta"}}"#, "name", 10, 30),
        (#"{"name":{"$gt":"Z"}}"#, "name", 0, 100),
        (#"{"name":{"$in":["alpha","Gamma","Épée",null]}}"#, "-createdAt", 0, 100),
        (#"{"name":{"$nin":["alpha","beta"]}}"#, "objectId", 0, 40),
        (#"{"name":{"$exists":false}}"#, nil, 0, 100),
        (#"{"name":{"$regex":"^a","$options":"i"}}"#, "name", 0, 100),
        (#"{"name":{"$regex":"eta$"}}"#, nil, 0, 100),
        (#"{"name":{"$regex":"a\\.b\\*"}}"#, nil, 0, 100),
        (#"{"active":true}"#, "-score", 0, 25),
        (#"{"active":{"$ne":true}}"#, "score", 5, 25),
        (#"{"active":null}"#, nil, 0, 100),
        (#"{"tags":"red"}"#, "name", 0, 100),
        (#"{"tags":{"$all":["red","blue"]}}"#, nil, 0, 100),
        (#"{"tags":{"$in":["x","y"]}}"#, "-name", 0, 100),
        (#"{"tags":{"$nin":["x","y"]}}"#, nil, 0, 100),
        (#"{"tags":{"$ne":"green"}}"#, nil, 0, 100),
        (#"{"tags":{"$containedBy":["red","green"]}}"#, nil, 0, 100),
        (#"{"tags":["red"]}"#, nil, 0, 100),
        (#"{"tags":{"$exists":true}}"#, "name", 0, 100),
        (#"{"when":{"$gt":{"__type":"Date","iso":"2025-06-01T00:00:00.000Z"}}}"#, "when", 0, 50),
        (#"{"createdAt":{"$exists":true}}"#, "-updatedAt", 0, 10),
        (#"{"owner":{"__type":"Pointer","className":"Person","objectId":"p3"}}"#, nil, 0, 100),
        (#"{"$or":[{"score":{"$lt":-10}},{"name":"beta"}]}"#, "score", 0, 100),
        (#"{"$and":[{"active":false},{"$or":[{"tags":"x"},{"score":{"$gt":10}}]}]}"#, nil, 0, 100),
        (#"{"$nor":[{"active":true},{"score":{"$gt":0}}]}"#, "name", 0, 100),
        (#"{"place":{"$nearSphere":{"__type":"GeoPoint","latitude":46.5,"longitude":8},"$maxDistanceInKilometers":60}}"#, nil, 0, 100),
        (#"{"place":{"$nearSphere":{"__type":"GeoPoint","latitude":46.5,"longitude":8}}}"#, nil, 5, 10),
        (#"{"place":{"$nearSphere":{"__type":"GeoPoint","latitude":46.5,"longitude":8},"$maxDistanceInMiles":40},"active":true}"#, "-score", 0, 100),
        (#"{"place":{"$within":{"$box":[{"__type":"GeoPoint","latitude":46,"longitude":7},{"__type":"GeoPoint","latitude":47,"longitude":8.5}]}}}"#, "name", 0, 100),
        (#"{"place":{"$geoWithin":{"$centerSphere":[[47,8],0.005]}}}"#, nil, 0, 100),
        // In memory for every connector so far:
        (#"{"meta.color":"red"}"#, "name", 0, 100),
        (#"{"$or":[{"score":{"$lt":-10}},{"meta.color":"blue"}]}"#, "-score", 2, 30),
        (#"{"place":{"$geoWithin":{"$polygon":[[46,7],[46,9],[47.5,9],[47.5,7]]}}}"#, "name", 0, 100),
        (#"{"score":{"$gt":0},"place":{"$geoWithin":{"$polygon":[[46,7],[46,9],[47.5,9],[47.5,7]]}}}"#, "-score", 3, 7),
    ].map { Query(whereJSON: $0.0, order: $0.1, skip: $0.2, limit: $0.3) }

    public static let inMemoryOnly = 4

    public struct Mismatch: Sendable, CustomStringConvertible {
        public var query: Query
        public var what: String
        public var description: String { "\(what): \(query)" }
    }

    public struct Report: Sendable {
        public var mismatches: [Mismatch] = []
        /// Queries the full connector ran entirely in the source.
        public var fullyPushed = 0
        /// Queries that select some but not all objects (so the comparison is not vacuous).
        public var selective = 0
    }

    /// Runs every query through `reference` (a scan-only gateway over the same data), `candidates`,
    /// and compares pages and counts.
    public static func compare(reference: Gateway, candidates: [(String, Gateway)], className: String = "Item",
                               total: Int, logger: Logger) async throws -> Report {
        var report = Report()
        for q in queries {
            var params: [String: JSONValue] = ["where": .string(q.whereJSON), "skip": .int(Int64(q.skip)),
                                               "limit": .int(Int64(q.limit)), "count": .bool(true)]
            if let order = q.order { params["order"] = .string(order) }
            let query = try reference.parseFind(className, params)
            let expected = try await reference.find(className, query, caller: .anonymous, logger: logger)
            let expectedIds = expected.objects.compactMap(\.objectId)
            if expectedIds.count > 0 && expected.count ?? 0 < total { report.selective += 1 }
            for (label, gateway) in candidates {
                let got = try await gateway.find(className, query, caller: .anonymous, logger: logger)
                let ids = got.objects.compactMap(\.objectId)
                if ids != expectedIds {
                    report.mismatches.append(Mismatch(query: q, what: "\(label): \(ids.count) results, expected \(expectedIds.count) (first difference at \(Array(zip(ids, expectedIds)).firstIndex { $0.0 != $0.1 } ?? min(ids.count, expectedIds.count)))"))
                } else if got.objects != expected.objects {
                    let diff = zip(got.objects, expected.objects).first { $0 != $1 }
                    report.mismatches.append(Mismatch(query: q, what: "\(label): object contents differ: \(String(describing: diff))"))
                }
                if got.count != expected.count {
                    report.mismatches.append(Mismatch(query: q, what: "\(label): count \(got.count ?? -1), expected \(expected.count ?? -1)"))
                }
                if label == "full", got.plan?.isFullyPushed == true { report.fullyPushed += 1 }
            }
        }
        return report
    }
}

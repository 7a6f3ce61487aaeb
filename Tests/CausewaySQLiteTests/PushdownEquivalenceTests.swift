import CausewayCore
@testable import CausewaySQLite
import Logging
import Testing

/// The same queries with full pushdown, partial pushdown and none must return the same pages and counts.
@Suite struct PushdownEquivalenceTests {
    static let queries: [(where: String, order: String?, skip: Int, limit: Int)] = [
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
        (#"{"meta.color":"red"}"#, "name", 0, 100),
        (#"{"$or":[{"score":{"$lt":-10}},{"name":"beta"}]}"#, "score", 0, 100),
        (#"{"$or":[{"score":{"$lt":-10}},{"meta.color":"blue"}]}"#, "-score", 2, 30),
        (#"{"$and":[{"active":false},{"$or":[{"tags":"x"},{"score":{"$gt":10}}]}]}"#, nil, 0, 100),
        (#"{"$nor":[{"active":true},{"score":{"$gt":0}}]}"#, "name", 0, 100),
        (#"{"place":{"$nearSphere":{"__type":"GeoPoint","latitude":46.5,"longitude":8},"$maxDistanceInKilometers":60}}"#, nil, 0, 100),
        (#"{"place":{"$nearSphere":{"__type":"GeoPoint","latitude":46.5,"longitude":8}}}"#, nil, 5, 10),
        (#"{"place":{"$nearSphere":{"__type":"GeoPoint","latitude":46.5,"longitude":8},"$maxDistanceInMiles":40},"active":true}"#, "-score", 0, 100),
        (#"{"place":{"$within":{"$box":[{"__type":"GeoPoint","latitude":46,"longitude":7},{"__type":"GeoPoint","latitude":47,"longitude":8.5}]}}}"#, "name", 0, 100),
        (#"{"place":{"$geoWithin":{"$centerSphere":[[47,8],0.005]}}}"#, nil, 0, 100),
        (#"{"place":{"$geoWithin":{"$polygon":[[46,7],[46,9],[47.5,9],[47.5,7]]}}}"#, "name", 0, 100),
        (#"{"score":{"$gt":0},"place":{"$geoWithin":{"$polygon":[[46,7],[46,9],[47.5,9],[47.5,7]]}}}"#, "-score", 3, 7),
    ]

    @Test func fullPartialAndNoPushdownAgree() async throws {
        let fixture = try await SQLiteFixture()
        let logger = Logger(label: "test")
        let bodies = sampleBodies(count: 300)
        let full = fixture.gateway()
        for body in bodies { _ = try await full.create("Item", body: body, caller: .anonymous) }

        var partialCaps = SQLiteConnector.fullCapabilities
        partialCaps.filterOperators.subtract([.regex, .or, .nearSphere, .isIn])
        partialCaps.distanceSorting = false
        let partialConnector = fixture.connector.withCapabilities(partialCaps)
        let scanConnector = fixture.connector.withCapabilities(.scanOnly)
        try await partialConnector.start(logger: logger)
        try await scanConnector.start(logger: logger)
        let partial = fixture.gateway(partialConnector)
        let scan = fixture.gateway(scanConnector)

        var fullyPushed = 0
        var matched = 0
        for q in Self.queries {
            var params: [String: JSONValue] = ["where": .string(q.where), "skip": .int(Int64(q.skip)), "limit": .int(Int64(q.limit)), "count": .bool(true)]
            if let order = q.order { params["order"] = .string(order) }
            let query = try full.parseFind("Item", params)
            let a = try await full.find("Item", query, caller: .anonymous, logger: logger)
            let b = try await partial.find("Item", query, caller: .anonymous, logger: logger)
            let c = try await scan.find("Item", query, caller: .anonymous, logger: logger)
            let (ia, ib, ic) = (a.objects.compactMap(\.objectId), b.objects.compactMap(\.objectId), c.objects.compactMap(\.objectId))
            #expect(ia == ic, "full vs none: \(q) \(ia.count) vs \(ic.count) results")
            #expect(ib == ic, "partial vs none: \(q) \(ib.count) vs \(ic.count) results")
            #expect(a.objects == c.objects, "objects differ: \(q)")
            matched += ic.count > 0 && ic.count < 300 ? 1 : 0
            #expect(a.count == c.count && b.count == c.count, "counts: \(q) \(String(describing: a.count)) \(String(describing: b.count)) \(String(describing: c.count))")
            #expect(c.plan?.source == SourceQuery(), "scan-only connectors receive no filter")
            if a.plan?.isFullyPushed == true { fullyPushed += 1 }
        }
        // Everything except nested paths (2 queries) and $polygon (2) is pushed to SQLite.
        #expect(fullyPushed == Self.queries.count - 4, "fully pushed: \(fullyPushed)")
        #expect(matched >= Self.queries.count - 3, "most queries select some but not all objects: \(matched)")
        // The queries are not vacuous: most select something, and not everything.
        let total = try await scan.find("Item", try scan.parseFind("Item", ["limit": .int(1000)]), caller: .anonymous, logger: logger).objects.count
        #expect(total == 300)
        await partialConnector.shutdown()
        await scanConnector.shutdown()
        await fixture.close()
    }

    @Test func keysProjectionMatchesAcrossPlans() async throws {
        let fixture = try await SQLiteFixture()
        let logger = Logger(label: "test")
        let full = fixture.gateway()
        for body in sampleBodies(count: 40, seed: 7) { _ = try await full.create("Item", body: body, caller: .anonymous) }
        let scanConnector = fixture.connector.withCapabilities(.scanOnly)
        try await scanConnector.start(logger: logger)
        let params: [String: JSONValue] = ["where": .string(#"{"score":{"$exists":true}}"#), "keys": .string("name,tags"), "order": .string("score")]
        let query = try full.parseFind("Item", params)
        let a = try await full.find("Item", query, caller: .anonymous, logger: logger)
        let b = try await fixture.gateway(scanConnector).find("Item", query, caller: .anonymous, logger: logger)
        #expect(a.objects == b.objects)
        #expect(a.plan?.source.fields == ["name", "tags"], "only the requested columns are selected")
        for o in a.objects { #expect(Set(o.fields.keys).isSubset(of: ["name", "tags"])) }
        await scanConnector.shutdown()
        await fixture.close()
    }
}

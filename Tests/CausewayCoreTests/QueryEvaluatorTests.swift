import Testing
@testable import CausewayCore

@Suite struct QueryEvaluatorTests {
    let objects: [ParseObject] = [
        ParseObject(objectId: "a", fields: ["name": .string("Alpha"), "score": .int(10), "active": .bool(true),
                                            "tags": .array([.string("x"), .string("y")]), "place": .geoPoint(GeoPoint(latitude: 0, longitude: 0)),
                                            "meta": .object(["color": .string("red")])]),
        ParseObject(objectId: "b", fields: ["name": .string("beta"), "score": .double(2.5), "active": .bool(false),
                                            "tags": .array([.string("y")]), "place": .geoPoint(GeoPoint(latitude: 0, longitude: 1))]),
        ParseObject(objectId: "c", fields: ["name": .string("Gamma"), "tags": .array([]),
                                            "place": .geoPoint(GeoPoint(latitude: 10, longitude: 10)), "meta": .object(["color": .string("blue")])]),
        ParseObject(objectId: "d", fields: ["score": .int(-1), "active": .bool(true)]),
    ]

    func ids(_ where: String) throws -> [String] {
        let filter = try parseWhere(`where`)
        return objects.filter { QueryEvaluator.matches($0, filter) }.compactMap(\.objectId)
    }

    @Test func comparisons() throws {
        #expect(try ids(#"{"score":{"$gt":2}}"#) == ["a", "b"])
        #expect(try ids(#"{"score":{"$gte":2.5,"$lt":10}}"#) == ["b"])
        #expect(try ids(#"{"score":{"$lte":-1}}"#) == ["d"])
        #expect(try ids(#"{"name":{"$gt":"B"}}"#) == ["b", "c"], "byte order: lowercase after uppercase")
        #expect(try ids(#"{"score":10}"#) == ["a"])
        #expect(try ids(#"{"score":10.0}"#) == ["a"], "integers and doubles compare numerically")
    }

    @Test func notEqualMatchesMissing() throws {
        #expect(try ids(#"{"score":{"$ne":10}}"#) == ["b", "c", "d"])
        #expect(try ids(#"{"active":{"$ne":true}}"#) == ["b", "c"])
        #expect(try ids(#"{"name":null}"#) == ["d"])
        #expect(try ids(#"{"name":{"$ne":null}}"#) == ["a", "b", "c"])
    }

    @Test func inAndNotIn() throws {
        #expect(try ids(#"{"score":{"$in":[10,-1]}}"#) == ["a", "d"])
        #expect(try ids(#"{"score":{"$nin":[10,-1]}}"#) == ["b", "c"])
        #expect(try ids(#"{"tags":{"$in":["x"]}}"#) == ["a"], "$in on an array field matches any element")
        #expect(try ids(#"{"score":{"$in":[]}}"#) == [])
    }

    @Test func existence() throws {
        #expect(try ids(#"{"score":{"$exists":true}}"#) == ["a", "b", "d"])
        #expect(try ids(#"{"score":{"$exists":false}}"#) == ["c"])
    }

    @Test func arrays() throws {
        #expect(try ids(#"{"tags":"y"}"#) == ["a", "b"], "equality with a scalar means contains")
        #expect(try ids(#"{"tags":["y"]}"#) == ["b"], "equality with an array is exact")
        #expect(try ids(#"{"tags":{"$all":["x","y"]}}"#) == ["a"])
        #expect(try ids(#"{"tags":{"$containedBy":["y"]}}"#) == ["b", "c"])
        #expect(try ids(#"{"tags":{"$ne":"y"}}"#) == ["c", "d"])
    }

    @Test func regex() throws {
        #expect(try ids(#"{"name":{"$regex":"^a"}}"#) == [])
        #expect(try ids(#"{"name":{"$regex":"^a","$options":"i"}}"#) == ["a"])
        #expect(try ids(#"{"name":{"$regex":"a$"}}"#) == ["a", "b", "c"])
        #expect(try ids(#"{"name":{"$regex":"g a m","$options":"ix"}}"#) == ["c"])
    }

    @Test func logicalOperatorsNest() throws {
        #expect(try ids(#"{"$or":[{"score":10},{"name":"Gamma"}]}"#) == ["a", "c"])
        #expect(try ids(#"{"$and":[{"active":true},{"$or":[{"score":{"$lt":0}},{"tags":"x"}]}]}"#) == ["a", "d"])
        #expect(try ids(#"{"$nor":[{"active":true},{"score":2.5}]}"#) == ["c"])
        #expect(try ids(#"{"$or":[{"$and":[{"score":{"$gt":0}},{"score":{"$lt":5}}]},{"$nor":[{"name":{"$exists":true}}]}]}"#) == ["b", "d"])
    }

    @Test func nestedObjectPaths() throws {
        #expect(try ids(#"{"meta.color":"red"}"#) == ["a"])
        #expect(try ids(#"{"meta.color":{"$exists":false}}"#) == ["b", "d"])
    }

    @Test func geo() throws {
        let oneDegree = 1.0 * Double.pi / 180
        #expect(try ids(#"{"place":{"$nearSphere":{"__type":"GeoPoint","latitude":0,"longitude":0},"$maxDistance":\#(oneDegree * 1.01)}}"#) == ["a", "b"])
        #expect(try ids(#"{"place":{"$nearSphere":{"__type":"GeoPoint","latitude":0,"longitude":0},"$maxDistanceInKilometers":100}}"#) == ["a"])
        #expect(try ids(#"{"place":{"$within":{"$box":[{"__type":"GeoPoint","latitude":-1,"longitude":-1},{"__type":"GeoPoint","latitude":1,"longitude":0.5}]}}}"#) == ["a"])
        #expect(try ids(#"{"place":{"$geoWithin":{"$centerSphere":[[0,0],0.01]}}}"#) == ["a"])
        #expect(try ids(#"{"place":{"$geoWithin":{"$polygon":[[-1,-1],[-1,2],[1,2],[1,-1]]}}}"#) == ["a", "b"])
    }

    @Test func sortsWithMissingFirstAndStableTies() throws {
        let byScore = QueryEvaluator.sort(objects, by: [.field("score", descending: false)]).compactMap(\.objectId)
        #expect(byScore == ["c", "d", "b", "a"])
        let desc = QueryEvaluator.sort(objects, by: [.field("score", descending: true)]).compactMap(\.objectId)
        #expect(desc == ["a", "b", "d", "c"])
        let byActive = QueryEvaluator.sort(objects, by: [.field("active", descending: false)]).compactMap(\.objectId)
        #expect(byActive == ["c", "b", "a", "d"], "ties broken by objectId")
        let near = QueryEvaluator.sort(objects, by: [.distance(field: "place", from: GeoPoint(latitude: 9, longitude: 9))]).compactMap(\.objectId)
        #expect(near == ["c", "b", "a", "d"], "nearest first, objects without a location last")
    }

    @Test func integerIdsSortNumerically() {
        let objs = ["10", "9", "100"].map { ParseObject(objectId: $0) }
        #expect(QueryEvaluator.sort(objs, by: [], numericIds: true).compactMap(\.objectId) == ["9", "10", "100"])
        #expect(QueryEvaluator.sort(objs, by: [], numericIds: false).compactMap(\.objectId) == ["10", "100", "9"])
    }
}

@Suite struct UpdateOperationTests {
    @Test func appliesOperations() throws {
        #expect(try UpdateOperation.increment(.int(2)).apply(to: nil, field: "n") == .int(2))
        #expect(try UpdateOperation.increment(.int(2)).apply(to: .int(3), field: "n") == .int(5))
        #expect(try UpdateOperation.increment(.double(0.5)).apply(to: .int(3), field: "n") == .double(3.5))
        #expect(try UpdateOperation.increment(.int(1)).apply(to: .int(.max), field: "n") == .double(Double(Int64.max) + 1))
        let arr: ParseValue = .array([.string("a"), .string("b"), .string("a")])
        #expect(try UpdateOperation.add([.string("a")]).apply(to: arr, field: "t") == .array([.string("a"), .string("b"), .string("a"), .string("a")]))
        #expect(try UpdateOperation.addUnique([.string("a"), .string("c")]).apply(to: arr, field: "t") == .array([.string("a"), .string("b"), .string("a"), .string("c")]))
        #expect(try UpdateOperation.remove([.string("a")]).apply(to: arr, field: "t") == .array([.string("b")]))
        #expect(try UpdateOperation.delete.apply(to: arr, field: "t") == nil)
        #expect(try UpdateOperation.set(.null).apply(to: arr, field: "t") == nil)
    }

    @Test func rejectsOperationsOnWrongTypes() {
        #expect(gatewayError { _ = try UpdateOperation.increment(.int(1)).apply(to: .string("x"), field: "n") }?.code == .incorrectType)
        #expect(gatewayError { _ = try UpdateOperation.add([.int(1)]).apply(to: .int(1), field: "t") }?.code == .incorrectType)
    }
}

@Suite struct QueryPlannerTests {
    typealias FakeConnector = StubConnector

    @Test func pushesWhatIsDeclaredAndKeepsTheRest() throws {
        var caps = ConnectorCapabilities.scanOnly
        caps.filterOperators = [.equal, .greaterThan]
        caps.sorting = true
        caps.paging = true
        caps.projection = true
        caps.counting = true
        let q = FindQuery(filter: try parseWhere(#"{"name":"x","score":{"$gt":1},"tags":{"$all":["a"]}}"#),
                          sort: [.field("score", descending: false)], skip: 5, limit: 10, keys: ["name"])
        let plan = QueryPlanner.plan(q, connector: FakeConnector(capabilities: caps), collection: testSchema)
        #expect(plan.source.filter == .and([.field("name", .equal(.string("x"))), .field("score", .greaterThan(.int(1)))]))
        #expect(plan.residualFilter == .field("tags", .all([.string("a")])))
        #expect(plan.source.limit == nil && plan.source.skip == 0, "no paging pushed while a residual filter remains")
        #expect(plan.memorySkip == 5 && plan.memoryLimit == 10)
        #expect(plan.source.fields == ["name", "tags"], "projection includes the fields the residual filter reads")
        #expect(!plan.countInSource)

        let simple = QueryPlanner.plan(FindQuery(filter: try parseWhere(#"{"name":"x"}"#), skip: 5, limit: 10),
                                       connector: FakeConnector(capabilities: caps), collection: testSchema)
        #expect(simple.isFullyPushed && simple.source.limit == 10 && simple.source.skip == 5 && simple.countInSource)
    }

    @Test func anOrIsPushedOnlyWhenEveryBranchIs() throws {
        var caps = ConnectorCapabilities.scanOnly
        caps.filterOperators = [.equal, .or]
        let pushable = QueryPlanner.plan(FindQuery(filter: try parseWhere(#"{"$or":[{"name":"a"},{"score":1}]}"#)),
                                         connector: FakeConnector(capabilities: caps), collection: testSchema)
        #expect(pushable.residualFilter == nil)
        let mixed = QueryPlanner.plan(FindQuery(filter: try parseWhere(#"{"$or":[{"name":"a"},{"score":{"$gt":1}}]}"#)),
                                      connector: FakeConnector(capabilities: caps), collection: testSchema)
        #expect(mixed.source.filter == nil && mixed.residualFilter != nil)
    }

    @Test func scanOnlySourcesGetNothingButTheScan() throws {
        let plan = QueryPlanner.plan(FindQuery(filter: try parseWhere(#"{"name":"a"}"#), sort: [.field("name", descending: true)], limit: 3),
                                     connector: FakeConnector(capabilities: .scanOnly), collection: testSchema)
        #expect(plan.source == SourceQuery())
        #expect(plan.memorySort == [.field("name", descending: true)])
    }
}

import Logging

import Testing
@testable import CausewayCore

@Suite struct QueryParserTests {
    @Test func parsesEveryOperator() throws {
        let f = try #require(try parseWhere(#"""
        {"name":"a","score":{"$gt":1,"$lte":5.5},"active":{"$ne":true},"tags":{"$all":["x","y"]},
         "when":{"$lt":{"__type":"Date","iso":"2026-01-01T00:00:00.000Z"}},
         "meta.color":{"$in":["red","blue"]},"owner":{"$exists":true},
         "$or":[{"name":{"$regex":"^A","$options":"i"}},{"score":{"$nin":[1,2]}}],
         "place":{"$nearSphere":{"__type":"GeoPoint","latitude":1,"longitude":2},"$maxDistanceInKilometers":10}}
        """#))
        let parts = f.conjuncts
        #expect(parts.contains(.field("name", .equal(.string("a")))))
        #expect(parts.contains(.field("score", .greaterThan(.int(1)))))
        #expect(parts.contains(.field("score", .lessThanOrEqual(.double(5.5)))))
        #expect(parts.contains(.field("active", .notEqual(.bool(true)))))
        #expect(parts.contains(.field("tags", .all([.string("x"), .string("y")]))))
        #expect(parts.contains(.field("when", .lessThan(.date(ParseDate(iso8601: "2026-01-01T00:00:00Z")!)))))
        #expect(parts.contains(.field("meta.color", .isIn([.string("red"), .string("blue")]))))
        #expect(parts.contains(.field("owner", .exists(true))))
        #expect(parts.contains(.or([.field("name", .regex(pattern: "^A", options: "i")), .field("score", .notIn([.int(1), .int(2)]))])))
        #expect(parts.contains(.field("place", .nearSphere(GeoPoint(latitude: 1, longitude: 2), maxDistanceRadians: 10 / 6371.0))))
        #expect(parts.count == 10)
    }

    @Test func acceptsEqAndDistanceUnits() throws {
        #expect(try parseWhere(#"{"score":{"$eq":3}}"#) == .field("score", .equal(.int(3))))
        let miles = try parseWhere(#"{"place":{"$nearSphere":{"__type":"GeoPoint","latitude":0,"longitude":0},"$maxDistanceInMiles":2}}"#)
        #expect(miles == .field("place", .nearSphere(GeoPoint(latitude: 0, longitude: 0), maxDistanceRadians: 2 / 3958.8)))
        let box = try parseWhere(#"{"place":{"$within":{"$box":[{"__type":"GeoPoint","latitude":0,"longitude":0},{"__type":"GeoPoint","latitude":1,"longitude":1}]}}}"#)
        #expect(box == .field("place", .withinBox(southwest: GeoPoint(latitude: 0, longitude: 0), northeast: GeoPoint(latitude: 1, longitude: 1))))
    }

    @Test func coercesISOStringsOnDateFields() throws {
        #expect(try parseWhere(#"{"createdAt":{"$gte":"2026-01-01T00:00:00.000Z"}}"#)
                == .field("createdAt", .greaterThanOrEqual(.date(ParseDate(iso8601: "2026-01-01T00:00:00Z")!))))
    }

    @Test(arguments: [
        (#"{"score":{"$foo":1}}"#, ParseErrorCode.invalidQuery, "Invalid query operator: $foo"),
        (#"{"$where":"1"}"#, .invalidQuery, "Invalid query operator: $where"),
        (#"{"name":{"$inQuery":{}}}"#, .invalidQuery, "not supported"),
        (#"{"bad key":1}"#, .invalidKeyName, "Invalid key name: bad key"),
        (#"{"1abc":1}"#, .invalidKeyName, "Invalid key name"),
        (#"{"nope":1}"#, .invalidQuery, "has no field 'nope'"),
        (#"{"score":"high"}"#, .invalidQuery, "expected Number but got String"),
        (#"{"active":{"$in":[true,"yes"]}}"#, .invalidQuery, "expected Boolean but got String"),
        (#"{"score":{"$gt":[1]}}"#, .invalidQuery, "expected Number but got Array"),
        (#"{"tags":{"$lt":3}}"#, .invalidQuery, "cannot be used on Item.tags"),
        (#"{"score":{"$regex":"a"}}"#, .invalidQuery, "$regex cannot be used"),
        (#"{"name":{"$regex":"a","$options":"q"}}"#, .invalidQuery, "Invalid $options"),
        (#"{"name":{"$regex":"(unclosed"}}"#, .invalidQuery, "Invalid regular expression"),
        (#"{"name":{"$in":"a"}}"#, .invalidQuery, "needs an array"),
        (#"{"name":{"$exists":"yes"}}"#, .invalidQuery, "needs true or false"),
        (#"{"$or":[]}"#, .invalidQuery, "$or must be a non-empty array"),
        (#"{"$or":{"a":1}}"#, .invalidQuery, "$or must be a non-empty array"),
        (#"{"$and":[1]}"#, .invalidQuery, "must be an object"),
        (#"{"place":{"$nearSphere":{"__type":"GeoPoint","latitude":100,"longitude":0}}}"#, .invalidQuery, "latitude out of bounds"),
        (#"{"place":{"$nearSphere":{"__type":"GeoPoint","latitude":1,"longitude":0},"$maxDistance":-1}}"#, .invalidQuery, "non-negative"),
        (#"{"name":{"$maxDistance":1}}"#, .invalidQuery, "needs $nearSphere"),
        (#"{"name":{"$nearSphere":{"__type":"GeoPoint","latitude":1,"longitude":0}}}"#, .invalidQuery, "cannot be used on Item.name"),
        (#"{"score":{"$gt":1,"plain":2}}"#, .invalidQuery, "mixed with plain keys"),
        (#"{"when":{"$gt":{"__type":"Date","iso":"soon"}}}"#, .invalidQuery, "Invalid Date"),
        (#"["not","an","object"]"#, .invalidQuery, "where must be a JSON object"),
        (#"{"meta":{"$regex":"x"}}"#, .invalidQuery, "$regex cannot be used"),
        (#"{"tags.sub":1}"#, .invalidQuery, "has no field 'tags.sub'"),
    ])
    func rejectsBadQueries(_ text: String, _ code: ParseErrorCode, _ fragment: String) {
        let error = gatewayError { _ = try parseWhere(text) }
        #expect(error?.code == code, "\(text)")
        #expect(error?.message.contains(fragment) == true, "\(text): \(error?.message ?? "no error")")
    }

    @Test func withoutSchemaOnlySyntaxIsChecked() throws {
        #expect(try parseWhere(#"{"anything":{"$gt":"x"}}"#, schema: nil) == .field("anything", .greaterThan(.string("x"))))
        #expect(gatewayError { _ = try parseWhere(#"{"x":{"$bad":1}}"#, schema: nil) }?.code == .invalidQuery)
    }

    @Test func findParametersInEveryWireForm() throws {
        let parser = FindRequestParser(schema: testSchema, limits: GatewayConfig.Limits())
        let a = try parser.parse(["order": .string("-score,name"), "keys": .string("name,score"), "count": .string("1"), "limit": .string("5"), "skip": .string("2")])
        #expect(a.sort == [.field("score", descending: true), .field("name", descending: false)])
        #expect(a.keys == ["name", "score"])
        #expect(a.count && a.limit == 5 && a.skip == 2)
        let b = try parser.parse(["order": .array([.string("-score"), .string("name")]), "keys": .string(#"["name","score"]"#), "count": .bool(true)])
        #expect(b.sort == a.sort && b.keys == a.keys && b.count)
        let c = try parser.parse(["count": .string("true"), "limit": .int(0), "where": .object(["score": .int(1)])])
        #expect(c.count && c.limit == 0 && c.filter == .field("score", .equal(.int(1))))
        #expect(try parser.parse(["limit": .string("999999")]).limit == 1000, "limit is capped at maxLimit")
        #expect(try parser.parse([:]).limit == 100, "default limit")
        let near = try parser.parse(["where": .string(#"{"place":{"$nearSphere":{"__type":"GeoPoint","latitude":1,"longitude":2}}}"#)])
        #expect(near.sort == [.distance(field: "place", from: GeoPoint(latitude: 1, longitude: 2))], "$nearSphere implies nearest first")
    }

    @Test(arguments: [
        (["foo": JSONValue.string("1")], ParseErrorCode.invalidQuery, "Invalid parameter for query: foo"),
        (["limit": .string("-1")], .invalidQuery, "Invalid limit"),
        (["limit": .string("ten")], .invalidQuery, "Invalid limit"),
        (["skip": .string("-3")], .invalidQuery, "Invalid skip"),
        (["where": .string("{not json")], .invalidJSON, "where is not valid JSON"),
        (["order": .string("nope")], .invalidQuery, "Cannot sort by 'nope'"),
        (["order": .string("tags")], .invalidQuery, "have no order"),
        (["order": .string("$score")], .invalidKeyName, "Invalid key name"),
        (["keys": .string("a b")], .invalidKeyName, "Invalid key name"),
        (["include": .string("owner..x")], .invalidKeyName, "Invalid key name"),
        (["include": .string("a.b.c.d.e.f")], .invalidQuery, "limits.maxIncludeDepth"),
        (["include": .int(3)], .invalidQuery, "include must be"),
    ])
    func rejectsBadFindParameters(_ params: [String: JSONValue], _ code: ParseErrorCode, _ fragment: String) {
        let parser = FindRequestParser(schema: testSchema, limits: GatewayConfig.Limits())
        let error = gatewayError { _ = try parser.parse(params) }
        #expect(error?.code == code)
        #expect(error?.message.contains(fragment) == true, "\(error?.message ?? "no error")")
    }
}

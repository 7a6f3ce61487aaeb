/// Parses Parse's `where` JSON into a `QueryFilter`, validating keys, operators and value types.
///
/// With a schema, every field must exist in the collection and every value must fit the field's type;
/// without one (nil), only the syntax is checked.
public struct QueryParser: Sendable {
    public let schema: CollectionSchema?

    public init(schema: CollectionSchema?) { self.schema = schema }

    public static let unsupportedOperators: Set<String> = [
        "$inQuery", "$notInQuery", "$select", "$dontSelect", "$relatedTo", "$text",
    ]

    public func parse(_ json: JSONValue) throws(GatewayError) -> QueryFilter? {
        guard case .object(let object) = json else {
            throw GatewayError(.invalidQuery, "where must be a JSON object, got \(json.parseTypeName).")
        }
        return try parseObject(object)
    }

    private func parseObject(_ object: [String: JSONValue]) throws(GatewayError) -> QueryFilter? {
        var parts: [QueryFilter] = []
        for key in object.keys.sorted() {
            let value = object[key]!
            switch key {
            case "$and", "$or", "$nor":
                guard case .array(let items) = value, !items.isEmpty else {
                    throw GatewayError(.invalidQuery, "\(key) must be a non-empty array.")
                }
                var branches: [QueryFilter] = []
                for item in items {
                    guard case .object(let o) = item else {
                        throw GatewayError(.invalidQuery, "Each element of \(key) must be an object.")
                    }
                    branches.append(try parseObject(o) ?? .and([]))
                }
                switch key {
                case "$and": parts.append(contentsOf: branches.flatMap(\.conjuncts))
                case "$or": parts.append(.or(branches))
                default: parts.append(.nor(branches))
                }
            default:
                if key.hasPrefix("$") {
                    if QueryParser.unsupportedOperators.contains(key) {
                        throw GatewayError(.invalidQuery, "\(key) is not supported by Causeway.")
                    }
                    throw GatewayError(.invalidQuery, "Invalid query operator: \(key).")
                }
                parts.append(contentsOf: try parseField(key, value))
            }
        }
        return QueryFilter.conjunction(parts)
    }

    public static func isValidKeyPath(_ key: String) -> Bool {
        guard let first = key.utf8.first, isAlpha(first) else { return false }
        return key.utf8.allSatisfy { isAlpha($0) || ($0 >= 48 && $0 <= 57) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") }
            && !key.hasSuffix(".") && !key.contains("..")
    }

    static func isAlpha(_ c: UInt8) -> Bool { (c >= 65 && c <= 90) || (c >= 97 && c <= 122) }

    /// The type a field path has, or nil when untyped (no schema, or below an object field).
    private func fieldType(_ key: String) throws(GatewayError) -> FieldType? {
        guard QueryParser.isValidKeyPath(key) else { throw GatewayError(.invalidKeyName, "Invalid key name: \(key)") }
        guard let schema else { return nil }
        guard let resolved = schema.resolve(path: key) else {
            throw GatewayError(.invalidQuery, "Class \(schema.className) has no field '\(key)'.")
        }
        return resolved.type
    }

    private func parseField(_ key: String, _ value: JSONValue) throws(GatewayError) -> [QueryFilter] {
        let type = try fieldType(key)
        // An object whose keys all start with `$` is a set of operators; anything else is equality.
        if case .object(let ops) = value, !ops.isEmpty, ops.keys.allSatisfy({ $0.hasPrefix("$") }) {
            return try parseOperators(key, type, ops)
        }
        if case .object(let ops) = value, ops.keys.contains(where: { $0.hasPrefix("$") }) {
            let bad = ops.keys.sorted().first { $0.hasPrefix("$") }!
            throw GatewayError(.invalidQuery, "Invalid query operator: \(bad) mixed with plain keys on \(key).")
        }
        let v = try operand(value, key, type, "equality")
        return [.field(key, .equal(v))]
    }

    private func parseOperators(_ key: String, _ type: FieldType?, _ ops: [String: JSONValue]) throws(GatewayError) -> [QueryFilter] {
        var out: [QueryFilter] = []
        let distanceKeys = ["$maxDistance", "$maxDistanceInRadians", "$maxDistanceInMiles", "$maxDistanceInKilometers"]
        for op in ops.keys.sorted() {
            let value = ops[op]!
            let condition: FieldCondition?
            switch op {
            case "$eq": condition = .equal(try operand(value, key, type, op))
            case "$ne": condition = .notEqual(try operand(value, key, type, op))
            case "$lt", "$lte", "$gt", "$gte":
                if let type, !type.isOrdered {
                    throw GatewayError(.invalidQuery, "\(op) cannot be used on \(name(key)), a \(type.parseName) field.")
                }
                let v = try operand(value, key, type, op)
                if v.isNull || v.typeName == "Array" || v.typeName == "Object" || v.typeName == "GeoPoint" {
                    throw GatewayError(.invalidQuery, "\(op) on \(name(key)) needs a Number, String or Date, got \(v.typeName).")
                }
                switch op {
                case "$lt": condition = .lessThan(v)
                case "$lte": condition = .lessThanOrEqual(v)
                case "$gt": condition = .greaterThan(v)
                default: condition = .greaterThanOrEqual(v)
                }
            case "$in", "$nin", "$all", "$containedBy":
                guard case .array(let items) = value else {
                    throw GatewayError(.invalidQuery, "\(op) on \(name(key)) needs an array, got \(value.parseTypeName).")
                }
                if op == "$all" || op == "$containedBy", let type, type != .array {
                    throw GatewayError(.invalidQuery, "\(op) cannot be used on \(name(key)), a \(type.parseName) field.")
                }
                var values: [ParseValue] = []
                for item in items {
                    values.append(try operand(item, key, op == "$in" || op == "$nin" ? type : nil, op))
                }
                switch op {
                case "$in": condition = .isIn(values)
                case "$nin": condition = .notIn(values)
                case "$all": condition = .all(values)
                default: condition = .containedBy(values)
                }
            case "$exists":
                guard case .bool(let b) = value else {
                    throw GatewayError(.invalidQuery, "$exists on \(name(key)) needs true or false, got \(value.parseTypeName).")
                }
                condition = .exists(b)
            case "$regex":
                guard case .string(let pattern) = value else {
                    throw GatewayError(.invalidQuery, "$regex on \(name(key)) needs a string, got \(value.parseTypeName).")
                }
                if let type, type != .string {
                    throw GatewayError(.invalidQuery, "$regex cannot be used on \(name(key)), a \(type.parseName) field.")
                }
                var options = ""
                if let o = ops["$options"] {
                    guard case .string(let s) = o else { throw GatewayError(.invalidQuery, "$options must be a string.") }
                    options = s
                }
                if let bad = options.first(where: { !"imxs".contains($0) }) {
                    throw GatewayError(.invalidQuery, "Invalid $options value '\(bad)' for $regex on \(name(key)); allowed: i, m, x, s.")
                }
                _ = try BoundedRegex.compile(pattern, options: options)
                condition = .regex(pattern: pattern, options: String(Set(options).sorted()))
            case "$options":
                guard ops["$regex"] != nil else { throw GatewayError(.invalidQuery, "$options on \(name(key)) needs $regex.") }
                condition = nil
            case "$nearSphere":
                try requireGeo(key, type, op)
                let point = try geoPoint(value, op)
                var max: Double?
                for dk in distanceKeys {
                    guard let dv = ops[dk] else { continue }
                    guard let d = dv.doubleValue, d >= 0 else {
                        throw GatewayError(.invalidQuery, "\(dk) on \(name(key)) must be a non-negative number.")
                    }
                    switch dk {
                    case "$maxDistanceInMiles": max = d / GeoPoint.earthRadiusMiles
                    case "$maxDistanceInKilometers": max = d / GeoPoint.earthRadiusKilometers
                    default: max = d
                    }
                }
                condition = .nearSphere(point, maxDistanceRadians: max)
            case _ where distanceKeys.contains(op):
                guard ops["$nearSphere"] != nil else { throw GatewayError(.invalidQuery, "\(op) on \(name(key)) needs $nearSphere.") }
                condition = nil
            case "$within":
                try requireGeo(key, type, op)
                guard case .object(let w) = value, case .array(let box)? = w["$box"], box.count == 2 else {
                    throw GatewayError(.invalidQuery, "$within on \(name(key)) needs {\"$box\": [southwest, northeast]}.")
                }
                let sw = try geoPoint(box[0], "$box"), ne = try geoPoint(box[1], "$box")
                guard sw.latitude <= ne.latitude else {
                    throw GatewayError(.invalidQuery, "The southwest corner of a $box must be south of the northeast corner.")
                }
                condition = .withinBox(southwest: sw, northeast: ne)
            case "$geoWithin":
                try requireGeo(key, type, op)
                condition = try parseGeoWithin(key, value)
            default:
                if QueryParser.unsupportedOperators.contains(op) {
                    throw GatewayError(.invalidQuery, "\(op) is not supported by Causeway.")
                }
                throw GatewayError(.invalidQuery, "Invalid query operator: \(op) on \(name(key)).")
            }
            if let condition { out.append(.field(key, condition)) }
        }
        return out
    }

    private func parseGeoWithin(_ key: String, _ value: JSONValue) throws(GatewayError) -> FieldCondition {
        guard case .object(let w) = value else {
            throw GatewayError(.invalidQuery, "$geoWithin on \(name(key)) needs $centerSphere or $polygon.")
        }
        if case .array(let center)? = w["$centerSphere"] {
            guard center.count == 2, let radius = center[1].doubleValue, radius >= 0 else {
                throw GatewayError(.invalidQuery, "$centerSphere needs [point, radius in radians].")
            }
            return .withinCircle(center: try geoPoint(center[0], "$centerSphere"), radiusRadians: radius)
        }
        if let polygon = w["$polygon"] {
            var points: [GeoPoint] = []
            if case .array(let items) = polygon {
                for item in items { points.append(try geoPoint(item, "$polygon")) }
            }
            guard points.count >= 3 else { throw GatewayError(.invalidQuery, "$polygon needs at least 3 GeoPoints.") }
            return .withinPolygon(points)
        }
        throw GatewayError(.invalidQuery, "$geoWithin on \(name(key)) needs $centerSphere or $polygon.")
    }

    private func requireGeo(_ key: String, _ type: FieldType?, _ op: String) throws(GatewayError) {
        if let type, type != .geoPoint {
            throw GatewayError(.invalidQuery, "\(op) cannot be used on \(name(key)), a \(type.parseName) field.")
        }
    }

    private func geoPoint(_ json: JSONValue, _ op: String) throws(GatewayError) -> GeoPoint {
        let value: ParseValue
        if case .array(let pair) = json, pair.count == 2, let lat = pair[0].doubleValue, let lon = pair[1].doubleValue {
            // Parse also accepts [latitude, longitude] pairs in $box / $polygon.
            return try GeoPoint.validated(latitude: lat, longitude: lon)
        }
        do { value = try ParseCodec.decode(json) } catch {
            throw GatewayError(.invalidQuery, "\(op) needs a GeoPoint: \(error.message)")
        }
        guard case .geoPoint(let p) = value else {
            throw GatewayError(.invalidQuery, "\(op) needs a GeoPoint, got \(value.typeName).")
        }
        return p
    }

    private func name(_ key: String) -> String {
        if let schema { return "\(schema.className).\(key)" }
        return key
    }

    /// Decodes a comparison value and checks it against the field's type.
    private func operand(_ json: JSONValue, _ key: String, _ type: FieldType?, _ op: String) throws(GatewayError) -> ParseValue {
        var value: ParseValue
        do { value = try ParseCodec.decode(json) } catch {
            throw GatewayError(.invalidQuery, "Invalid value for \(op) on \(name(key)): \(error.message)")
        }
        guard let type else { return value }
        value = type.coerce(value)
        if value.isNull || type.accepts(value) { return value }
        // Equality with a scalar on an array field means "array contains".
        if type == .array, op == "equality" || op == "$eq" || op == "$ne" || op == "$in" || op == "$nin" { return value }
        if key == "objectId", case .int(let i) = value { return .string(String(i)) }
        throw GatewayError(.invalidQuery, "Invalid value for \(op) on \(name(key)): expected \(type.parseName) but got \(value.typeName).")
    }
}

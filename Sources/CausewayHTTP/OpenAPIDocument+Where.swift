import CausewayCore

/// The `where` language as far as JSON Schema can say it: per class, the fields it may name with the
/// conditions each field's type takes (`Condition.<Type>`), and `$or` / `$and` / `$nor` over the same.
///
/// What JSON Schema cannot say is left to the gateway and answered with 102: operator combinations that
/// conflict, `$regex` patterns it refuses, the size limits (`limits.maxWhere…`).
extension OpenAPIDocument {
    /// The condition schema of each field type (and `Condition.Timestamp` for `createdAt` / `updatedAt`).
    static func conditionSchemas() -> [String: JSONValue] {
        var out: [String: JSONValue] = [:]
        for type in FieldType.allCases { out["Condition." + type.parseName] = condition(type) }
        return out
    }

    /// The value a condition compares with: the stored form, and for dates an ISO 8601 string too.
    static func operand(_ type: FieldType) -> JSONValue {
        switch type {
        case .date: return .object(["anyOf": .array([ref("Date"), timestamp])])
        case .array: return .object(["type": .array(["string", "number", "boolean", "array"].map(JSONValue.string))])
        case .pointer: return ref("Pointer")
        default: return valueSchema(type)
        }
    }

    /// Equality with a value, or an object of operators.
    static func condition(_ type: FieldType) -> JSONValue {
        let value = operand(type)
        let orNull: JSONValue = .object(["anyOf": .array([value, .object(["type": .string("null")])])])
        var ops: [String: JSONValue] = [
            "$eq": orNull, "$ne": orNull,
            "$in": .object(["type": .string("array"), "items": value]),
            "$nin": .object(["type": .string("array"), "items": value]),
            "$exists": .object(["type": .string("boolean")]),
        ]
        var dependent: [String: JSONValue] = [:]
        if type.isOrdered { for op in ["$lt", "$lte", "$gt", "$gte"] { ops[op] = value } }
        if type == .string {
            ops["$regex"] = .object(["type": .string("string"), "description": .string("A regular expression (bounded in time and size).")])
            ops["$options"] = .object(["type": .string("string"), "pattern": .string("^[imxs]*$")])
            dependent["$options"] = .array([.string("$regex")])
        }
        if type == .array {
            ops["$all"] = .object(["type": .string("array")])
            ops["$containedBy"] = .object(["type": .string("array")])
        }
        if type == .geoPoint {
            let distance: JSONValue = .object(["type": .string("number"), "minimum": .int(0)])
            ops["$nearSphere"] = ref("GeoPoint")
            for key in ["$maxDistance", "$maxDistanceInRadians", "$maxDistanceInMiles", "$maxDistanceInKilometers"] {
                ops[key] = distance
                dependent[key] = .array([.string("$nearSphere")])
            }
            ops["$within"] = .object([
                "type": .string("object"), "required": .array([.string("$box")]), "additionalProperties": .bool(false),
                "properties": .object(["$box": .object(["type": .string("array"), "prefixItems": .array([ref("GeoPoint"), ref("GeoPoint")]),
                                                        "minItems": .int(2), "maxItems": .int(2),
                                                        "description": .string("[southwest, northeast]")])]),
            ])
            ops["$geoWithin"] = .object(["oneOf": .array([
                .object(["type": .string("object"), "required": .array([.string("$centerSphere")]), "additionalProperties": .bool(false),
                         "properties": .object(["$centerSphere": .object([
                            "type": .string("array"), "prefixItems": .array([ref("GeoPoint"), distance]), "minItems": .int(2), "maxItems": .int(2),
                            "description": .string("[center, radius in radians]"),
                         ])])]),
                .object(["type": .string("object"), "required": .array([.string("$polygon")]), "additionalProperties": .bool(false),
                         "properties": .object(["$polygon": .object(["type": .string("array"), "items": ref("GeoPoint"), "minItems": .int(3)])])]),
            ])])
        }
        var operators: [String: JSONValue] = [
            "type": .string("object"), "minProperties": .int(1), "additionalProperties": .bool(false), "properties": .object(ops),
        ]
        if !dependent.isEmpty { operators["dependentRequired"] = .object(dependent) }
        return .object([
            "description": .string("A \(type.parseName) condition: a value (equality) or an object of operators."),
            "anyOf": .array([value, .object(["type": .string("null")]), .object(operators)]),
        ])
    }

    /// The `where` object of one class: its fields (and dotted paths below `Object` fields) with their
    /// conditions, and `$or` / `$and` / `$nor` of further `where` objects. Other keys answer 102.
    func whereSchema(_ c: CollectionSchema) -> JSONValue {
        let whereRef = OpenAPIDocument.ref(c.className + ".Where")
        var properties: [String: JSONValue] = ["objectId": OpenAPIDocument.ref("Condition.String")]
        if c.createdAtColumn != nil { properties["createdAt"] = OpenAPIDocument.ref("Condition.Date") }
        if c.updatedAtColumn != nil { properties["updatedAt"] = OpenAPIDocument.ref("Condition.Date") }
        var patterns: [String: JSONValue] = [:]
        for (name, mapping) in c.fields where name != "ACL" {
            properties[name] = OpenAPIDocument.ref("Condition." + mapping.type.parseName)
            if mapping.type == .object { patterns["^" + name + "\\."] = .object([:]) }
        }
        for logic in ["$or", "$and", "$nor"] {
            properties[logic] = .object(["type": .string("array"), "minItems": .int(1), "items": whereRef])
        }
        if let related = relatedToCondition(c) { properties["$relatedTo"] = related }
        for (name, relation) in c.relations { properties[name] = relationCondition(relation) }
        var schema: [String: JSONValue] = [
            "type": .string("object"), "properties": .object(properties), "additionalProperties": .bool(false),
            "description": .string("A query on \(c.className)."),
        ]
        if !patterns.isEmpty { schema["patternProperties"] = .object(patterns) }
        return .object(schema)
    }
}

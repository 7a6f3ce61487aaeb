/// Reads an encoded answer (as the response cache holds it) back into objects, for requests that build on a
/// cached answer: `include` follows the pointers of a cached page, and include lookups and sub-queries use
/// the target class's own cached answers.
enum FindAnswerDecoder {
    /// `{"results":[…],"count":N}` → the objects and the count.
    static func decodeFind(_ body: [UInt8]) throws(GatewayError) -> (objects: [ParseObject], count: Int?) {
        guard case .object(let top) = try parse(body), case .array(let results)? = top["results"] else {
            throw GatewayError(.internalServerError, "A cached find answer has no results.")
        }
        var objects: [ParseObject] = []
        objects.reserveCapacity(results.count)
        for item in results { objects.append(try decodeObject(item)) }
        var count: Int?
        if case .int(let n)? = top["count"] { count = Int(n) }
        return (objects, count)
    }

    /// One object as `ParseCodec.write(_:to:)` wrote it.
    static func decodeObject(_ body: [UInt8]) throws(GatewayError) -> ParseObject {
        try decodeObject(try parse(body))
    }

    static func decodeObject(_ json: JSONValue) throws(GatewayError) -> ParseObject {
        guard case .object(let o) = json else { throw GatewayError(.internalServerError, "A cached answer holds a non-object.") }
        var object = ParseObject()
        for (key, value) in o {
            switch key {
            case "objectId": object.objectId = value.stringValue
            case "createdAt": object.createdAt = value.stringValue.flatMap { ParseDate(iso8601: $0) }
            case "updatedAt": object.updatedAt = value.stringValue.flatMap { ParseDate(iso8601: $0) }
            default:
                if case .object(let o) = value, o["__type"] == .string("Relation"), case .string(let cls)? = o["className"] {
                    object.fields[key] = .object(["__type": .string("Relation"), "className": .string(cls)])  // a relation field's marker
                } else {
                    object.fields[key] = try ParseCodec.decode(value)
                }
            }
        }
        return object
    }

    private static func parse(_ body: [UInt8]) throws(GatewayError) -> JSONValue {
        do { return try JSONParser.parse(body) } catch {
            throw GatewayError(.internalServerError, "A cached answer is not valid JSON.", detail: error.description)
        }
    }
}

/// Converts between wire JSON and `ParseValue`, recognising Parse's `__type` encodings.
public enum ParseCodec {
    /// Decodes a JSON value from a request into a `ParseValue`.
    /// - Throws: 111 for malformed typed values (a `Date` without `iso`, a GeoPoint out of range, …).
    public static func decode(_ json: JSONValue) throws(GatewayError) -> ParseValue {
        switch json {
        case .null: return .null
        case .bool(let b): return .bool(b)
        case .int(let i): return .int(i)
        case .double(let d): return .double(d)
        case .string(let s): return .string(s)
        case .array(let items):
            var out: [ParseValue] = []
            out.reserveCapacity(items.count)
            for item in items { out.append(try decode(item)) }
            return .array(out)
        case .object(let fields):
            if case .string(let type)? = fields["__type"] {
                return try decodeTyped(type, fields)
            }
            var out: [String: ParseValue] = [:]
            for (key, value) in fields { out[key] = try decode(value) }
            return .object(out)
        }
    }

    private static func decodeTyped(_ type: String, _ fields: [String: JSONValue]) throws(GatewayError) -> ParseValue {
        switch type {
        case "Date":
            guard case .string(let iso)? = fields["iso"], let date = ParseDate(iso8601: iso) else {
                throw GatewayError(.incorrectType, "Invalid Date: expected {\"__type\":\"Date\",\"iso\":\"<ISO 8601>\"}.")
            }
            return .date(date)
        case "GeoPoint":
            guard let lat = fields["latitude"]?.doubleValue, let lon = fields["longitude"]?.doubleValue else {
                throw GatewayError(.incorrectType, "Invalid GeoPoint: latitude and longitude must be numbers.")
            }
            return .geoPoint(try GeoPoint.validated(latitude: lat, longitude: lon))
        case "Pointer":
            guard case .string(let cls)? = fields["className"], case .string(let id)? = fields["objectId"] else {
                throw GatewayError(.invalidPointer, "Invalid Pointer: className and objectId must be strings.")
            }
            return .pointer(className: cls, objectId: id)
        case "Bytes":
            guard case .string(let b64)? = fields["base64"], let bytes = Base64.decode(b64) else {
                throw GatewayError(.incorrectType, "Invalid Bytes: base64 must be a valid base64 string.")
            }
            return .bytes(bytes)
        case "File":
            guard case .string(let name)? = fields["name"] else {
                throw GatewayError(.incorrectType, "Invalid File: name must be a string.")
            }
            return .file(name: name, url: fields["url"]?.stringValue)
        default:
            throw GatewayError(.incorrectType, "Unsupported __type \"\(type)\".")
        }
    }

    /// Encodes a `ParseValue` as Parse's wire JSON.
    public static func encode(_ value: ParseValue) -> JSONValue {
        switch value {
        case .null: return .null
        case .bool(let b): return .bool(b)
        case .int(let i): return .int(i)
        case .double(let d): return .double(d)
        case .string(let s): return .string(s)
        case .date(let d): return .object(["__type": .string("Date"), "iso": .string(d.iso8601)])
        case .geoPoint(let p):
            return .object(["__type": .string("GeoPoint"), "latitude": .double(p.latitude), "longitude": .double(p.longitude)])
        case .pointer(let cls, let id):
            return .object(["__type": .string("Pointer"), "className": .string(cls), "objectId": .string(id)])
        case .bytes(let b): return .object(["__type": .string("Bytes"), "base64": .string(Base64.encode(b))])
        case .file(let name, let url):
            var o: [String: JSONValue] = ["__type": .string("File"), "name": .string(name)]
            if let url { o["url"] = .string(url) }
            return .object(o)
        case .array(let a): return .array(a.map(encode))
        case .object(let o): return .object(o.mapValues(encode))
        }
    }

    /// Writes a `ParseValue` straight into a JSON writer (no intermediate `JSONValue`).
    public static func write(_ value: ParseValue, to w: inout JSONWriter) {
        switch value {
        case .null: w.writeNull()
        case .bool(let b): w.writeBool(b)
        case .int(let i): w.writeInt(i)
        case .double(let d): w.writeDouble(d)
        case .string(let s): w.writeString(s)
        case .date(let d):
            w.raw("{\"__type\":\"Date\",\"iso\":\"")
            d.appendISO8601(to: &w.bytes)
            w.raw("\"}")
        case .geoPoint(let p):
            w.raw("{\"__type\":\"GeoPoint\",\"latitude\":")
            w.writeDouble(p.latitude)
            w.raw(",\"longitude\":")
            w.writeDouble(p.longitude)
            w.raw("}")
        case .pointer(let cls, let id):
            w.raw("{\"__type\":\"Pointer\",\"className\":")
            w.writeString(cls)
            w.raw(",\"objectId\":")
            w.writeString(id)
            w.raw("}")
        case .bytes, .file:
            w.write(encode(value))
        case .array(let a):
            w.byte(UInt8(ascii: "["))
            for (i, element) in a.enumerated() {
                if i > 0 { w.byte(UInt8(ascii: ",")) }
                write(element, to: &w)
            }
            w.byte(UInt8(ascii: "]"))
        case .object(let o):
            w.byte(UInt8(ascii: "{"))
            var first = true
            for key in o.keys.sorted() {
                if !first { w.byte(UInt8(ascii: ",")) }
                first = false
                w.writeKey(key)
                write(o[key]!, to: &w)
            }
            w.byte(UInt8(ascii: "}"))
        }
    }

    /// A `find` answer: `{"results":[…]}`, with `"count":N` when counted.
    public static func writeFindResponse(_ objects: [ParseObject], count: Int?, to w: inout JSONWriter) {
        w.raw("{\"results\":[")
        for (i, object) in objects.enumerated() {
            if i > 0 { w.byte(UInt8(ascii: ",")) }
            write(object, to: &w)
        }
        w.raw("]")
        if let count {
            w.raw(",\"count\":")
            w.writeInt(count)
        }
        w.raw("}")
    }

    /// Writes an object as Parse returns it from GET/find: `objectId`, fields, then `createdAt`/`updatedAt`
    /// as plain ISO strings. Null fields are omitted.
    public static func write(_ object: ParseObject, to w: inout JSONWriter) {
        w.byte(UInt8(ascii: "{"))
        var first = true
        func comma(_ w: inout JSONWriter) {
            if !first { w.byte(UInt8(ascii: ",")) }
            first = false
        }
        if let id = object.objectId {
            comma(&w)
            w.raw("\"objectId\":")
            w.writeString(id)
        }
        for key in object.fields.keys.sorted() {
            let value = object.fields[key]!
            if value.isNull { continue }
            comma(&w)
            w.writeKey(key)
            write(value, to: &w)
        }
        if let c = object.createdAt {
            comma(&w)
            w.raw("\"createdAt\":\"")
            c.appendISO8601(to: &w.bytes)
            w.byte(UInt8(ascii: "\""))
        }
        if let u = object.updatedAt {
            comma(&w)
            w.raw("\"updatedAt\":\"")
            u.appendISO8601(to: &w.bytes)
            w.byte(UInt8(ascii: "\""))
        }
        w.byte(UInt8(ascii: "}"))
    }

    public static func json(_ object: ParseObject) -> JSONValue {
        var o: [String: JSONValue] = [:]
        for (k, v) in object.fields where !v.isNull { o[k] = encode(v) }
        if let id = object.objectId { o["objectId"] = .string(id) }
        if let c = object.createdAt { o["createdAt"] = .string(c.iso8601) }
        if let u = object.updatedAt { o["updatedAt"] = .string(u.iso8601) }
        return .object(o)
    }
}

/// A JSON document as it arrives on or leaves the wire.
///
/// Integers that fit in 64 bits stay integers so that identifiers and counters
/// are never rounded through `Double`. Objects are dictionaries; the writer emits
/// their keys in sorted order so that equal values always serialize identically.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public subscript(key: String) -> JSONValue? {
        if case .object(let fields) = self { return fields[key] }
        return nil
    }

    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    public var objectValue: [String: JSONValue]? {
        if case .object(let o) = self { return o }
        return nil
    }

    public var arrayValue: [JSONValue]? {
        if case .array(let a) = self { return a }
        return nil
    }

    /// The numeric value as a `Double`, for integers and doubles alike.
    public var doubleValue: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .double(let d): return d
        default: return nil
        }
    }

    /// The name Parse uses for this JSON type in error messages.
    public var parseTypeName: String {
        switch self {
        case .null: return "Null"
        case .bool: return "Boolean"
        case .int, .double: return "Number"
        case .string: return "String"
        case .array: return "Array"
        case .object(let o):
            if case .string(let t)? = o["__type"] { return t }
            return "Object"
        }
    }
}

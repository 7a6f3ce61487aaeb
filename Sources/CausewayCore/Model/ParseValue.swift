/// A field value in Parse's data model: JSON plus Parse's typed encodings.
public enum ParseValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case date(ParseDate)
    case geoPoint(GeoPoint)
    case pointer(className: String, objectId: String)
    case bytes([UInt8])
    case file(name: String, url: String?)
    case array([ParseValue])
    case object([String: ParseValue])

    public var isNull: Bool { if case .null = self { return true } else { return false } }

    public var doubleValue: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .double(let d): return d
        default: return nil
        }
    }

    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// Parse's name for the type, as used in "expected X but got Y" messages.
    public var typeName: String {
        switch self {
        case .null: return "Null"
        case .bool: return "Boolean"
        case .int, .double: return "Number"
        case .string: return "String"
        case .date: return "Date"
        case .geoPoint: return "GeoPoint"
        case .pointer: return "Pointer"
        case .bytes: return "Bytes"
        case .file: return "File"
        case .array: return "Array"
        case .object: return "Object"
        }
    }

    /// Reads a value inside nested objects by a dotted path (`address.city`).
    public func value(atPath components: ArraySlice<String>) -> ParseValue? {
        guard let first = components.first else { return self }
        guard case .object(let fields) = self, let child = fields[first] else { return nil }
        return child.value(atPath: components.dropFirst())
    }
}

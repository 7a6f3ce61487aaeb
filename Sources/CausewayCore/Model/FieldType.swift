/// The Parse type of a mapped field.
public enum FieldType: String, Sendable, Hashable, CaseIterable {
    case string, number, boolean, date, geoPoint = "geopoint", pointer, bytes, array, object, file

    /// Parse's spelling, for error messages.
    public var parseName: String {
        switch self {
        case .string: return "String"
        case .number: return "Number"
        case .boolean: return "Boolean"
        case .date: return "Date"
        case .geoPoint: return "GeoPoint"
        case .pointer: return "Pointer"
        case .bytes: return "Bytes"
        case .array: return "Array"
        case .object: return "Object"
        case .file: return "File"
        }
    }

    /// Whether a (non-null) value may be stored in a field of this type.
    public func accepts(_ value: ParseValue) -> Bool {
        switch (self, value) {
        case (_, .null): return true
        case (.string, .string), (.number, .int), (.number, .double), (.boolean, .bool), (.date, .date),
             (.geoPoint, .geoPoint), (.pointer, .pointer), (.bytes, .bytes), (.array, .array), (.object, .object),
             (.file, .file):
            return true
        default:
            return false
        }
    }

    /// Whether values of this type have an order (`$lt`, `$gt`, sorting).
    public var isOrdered: Bool {
        switch self {
        case .string, .number, .date, .boolean: return true
        default: return false
        }
    }

    /// Coerces a query or write value to this type where Parse SDKs send another form
    /// (an ISO string for a date field). Returns the value unchanged otherwise.
    public func coerce(_ value: ParseValue) -> ParseValue {
        if self == .date, case .string(let s) = value, let d = ParseDate(iso8601: s) { return .date(d) }
        return value
    }
}

import CausewayCore
import NIOCore
import SQLiteNIO

/// Converts Parse values to SQLite values and back, following the field's type.
///
/// Dates are stored as integer milliseconds since 1970, booleans as 0/1, pointers as the target's
/// objectId, arrays and objects as canonical JSON text, bytes as BLOBs.
enum SQLiteValueCodec {
    static func encode(_ value: ParseValue) -> SQLiteData {
        switch value {
        case .null: return .null
        case .bool(let b): return .integer(b ? 1 : 0)
        case .int(let i): return .integer(SQLiteInt64(i))
        case .double(let d): return .float(d)
        case .string(let s): return .text(s)
        case .date(let d): return .integer(SQLiteInt64(d.millisecondsSince1970))
        case .pointer(_, let id): return .text(id)
        case .bytes(let b): return .blob(ByteBuffer(bytes: b))
        case .geoPoint, .file, .array, .object: return .text(JSONWriter.string(ParseCodec.encode(value)))
        }
    }

    /// The key value for `objectId` in the table's key type.
    static func encodeId(_ id: String, _ mapping: ObjectIdMapping) -> SQLiteData? {
        switch mapping.type {
        case .integer:
            guard let i = Int64(id) else { return nil }
            return .integer(SQLiteInt64(i))
        case .string, .uuid:
            return .text(id)
        }
    }

    static func decodeId(_ data: SQLiteData) -> String? {
        switch data {
        case .integer(let i): return String(i)
        case .text(let s): return s
        case .float(let d): return String(Int64(d))
        default: return nil
        }
    }

    static func decodeDate(_ data: SQLiteData) -> ParseDate? {
        switch data {
        case .integer(let i): return ParseDate(millisecondsSince1970: Int64(i))
        case .float(let d): return ParseDate(millisecondsSince1970: Int64(d))
        case .text(let s): return ParseDate(iso8601: s)
        default: return nil
        }
    }

    static func decode(_ data: SQLiteData, as field: FieldMapping) -> ParseValue {
        if case .null = data { return .null }
        switch field.type {
        case .string:
            return data.string.map(ParseValue.string) ?? .null
        case .number:
            switch data {
            case .integer(let i): return .int(Int64(i))
            case .float(let d): return .double(d)
            case .text(let s): return Int64(s).map(ParseValue.int) ?? Double(s).map(ParseValue.double) ?? .null
            default: return .null
            }
        case .boolean:
            return data.bool.map(ParseValue.bool) ?? .null
        case .date:
            return decodeDate(data).map(ParseValue.date) ?? .null
        case .pointer:
            guard let id = data.string else { return .null }
            return .pointer(className: field.targetClass ?? "", objectId: id)
        case .bytes:
            guard case .blob(var buffer) = data else { return .null }
            return .bytes(buffer.readBytes(length: buffer.readableBytes) ?? [])
        case .array, .object, .file:
            guard let text = data.string, let json = try? JSONParser.parse(text), let v = try? ParseCodec.decode(json) else { return .null }
            return v
        case .geoPoint:
            return .null  // assembled from two columns by the row decoder
        }
    }
}

import CausewayCore
import Foundation
import PostgresNIO

/// Converts Parse values to PostgreSQL text literals (bound as parameters and cast to the column's type)
/// and binary result cells back to Parse values.
///
/// `numeric` is read exactly: a value that is a whole number within 64 bits becomes an integer; a value with
/// a fraction becomes a `Double` when it has at most 15 significant digits, which round-trips exactly; more
/// digits cannot be a JSON number without rounding, so such a value is an error unless the field is mapped as
/// `string`, which returns the exact decimal text.
enum PostgresValueCodec {
    // MARK: Encoding (text format)

    /// The text form of a value for a column, or nil for SQL NULL.
    static func literal(_ value: ParseValue, for column: PostgresColumn) -> String? {
        switch value {
        case .null: return nil
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .double(let d): return number(d)
        case .string(let s): return s
        case .date(let d): return d.iso8601
        case .pointer(_, let id): return id
        case .bytes(let b): return "\\x" + b.map { String(format: "%02x", $0) }.joined()
        case .geoPoint, .file, .object: return JSONWriter.string(ParseCodec.encode(value))
        case .array(let items):
            if column.isArray { return arrayLiteral(items) }
            return JSONWriter.string(ParseCodec.encode(value))
        }
    }

    static func number(_ d: Double) -> String {
        if d == d.rounded(), abs(d) < 1e15 { return String(Int64(d)) }
        return "\(d)"
    }

    /// `{"a","b\"c",NULL,3}`: a PostgreSQL array literal.
    static func arrayLiteral(_ items: [ParseValue]) -> String {
        var out = "{"
        for (i, item) in items.enumerated() {
            if i > 0 { out += "," }
            switch item {
            case .null: out += "NULL"
            case .int(let n): out += String(n)
            case .double(let d): out += number(d)
            case .bool(let b): out += b ? "true" : "false"
            default:
                let text: String
                switch item {
                case .string(let s): text = s
                case .date(let d): text = d.iso8601
                case .pointer(_, let id): text = id
                default: text = JSONWriter.string(ParseCodec.encode(item))
                }
                out += "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
            }
        }
        return out + "}"
    }

    /// Whether a value can be stored in (or compared with) a column without a conversion error.
    static func encodable(_ value: ParseValue, for column: PostgresColumn) -> Bool {
        switch value {
        case .null: return true
        case .string: return column.isText || column.typeName == "uuid" && UUIDText.isValid(value.stringValue!) || column.baseType == "numeric" && Double(value.stringValue!) != nil
        case .int, .double:
            guard column.isNumeric else { return false }
            if column.baseType == "numeric" { return fitsNumeric(value, column.numericPrecisionScale) }
            return column.typeName.hasPrefix("double") || column.typeName == "real" || isWhole(value)
        case .bool: return column.typeName == "boolean"
        case .date: return column.typeName.hasPrefix("timestamp") || column.typeName == "date"
        default: return true
        }
    }

    /// Whether every element can be stored in an array column of this element type.
    static func elementsEncodable(_ items: [ParseValue], for column: PostgresColumn) -> Bool {
        guard column.isArray else { return true }
        let element = PostgresColumn(name: "", typeName: column.elementTypeName ?? "text", castType: column.elementTypeName ?? "text",
                                     category: column.elementCategory ?? "S", notNull: false, hasDefault: false)
        return items.allSatisfy { encodable($0, for: element) }
    }

    /// Whether a number fits `numeric(p,s)` without rounding (PostgreSQL would round to the scale silently).
    static func fitsNumeric(_ v: ParseValue, _ ps: (Int, Int)?) -> Bool {
        guard let (precision, scale) = ps else { return true }
        var text: String
        switch v {
        case .int(let i): text = String(i.magnitude)
        case .double(let d):
            guard d.isFinite else { return false }
            text = "\(abs(d))"
            if text.contains("e") { return false }
        default: return false
        }
        var integer = text, fraction = ""
        if let dot = text.firstIndex(of: ".") {
            integer = String(text[..<dot])
            fraction = String(text[text.index(after: dot)...])
            while fraction.hasSuffix("0") { fraction.removeLast() }
        }
        let integerDigits = integer.drop(while: { $0 == "0" }).count
        return fraction.count <= scale && integerDigits <= precision - scale
    }

    static func isWhole(_ v: ParseValue) -> Bool {
        switch v {
        case .int: return true
        case .double(let d): return d == d.rounded() && abs(d) < 9.2e18
        default: return false
        }
    }

    // MARK: Decoding (binary format)

    static let epoch2000Micros: Int64 = 946_684_800_000_000

    enum DecodeError: Error { case unsupported(String), malformed(String), imprecise(String) }

    /// Decodes a cell for a field of the given Parse type.
    /// Decodes a cell in binary format. Every statement the connector sends uses the extended protocol,
    /// whose Bind asks for binary results; the rows of statements prepared through PostgresNIO's
    /// EventLoopFuture API still carry the row description's text format code, so `binary` (default true)
    /// trusts the protocol rather than that code.
    static func decode(_ cell: PostgresCell, as type: FieldType?, targetClass: String? = nil, binary: Bool = true) throws -> ParseValue {
        guard var buffer = cell.bytes else { return .null }
        if cell.format == .text && !binary {
            let text = buffer.readString(length: buffer.readableBytes) ?? ""
            return try decodeText(text, cell.dataType, as: type, targetClass: targetClass)
        }
        let value = try decodeBinary(&buffer, cell.dataType, as: type)
        if type == .pointer {
            switch value {
            case .string(let id): return .pointer(className: targetClass ?? "", objectId: id)
            case .int(let i): return .pointer(className: targetClass ?? "", objectId: String(i))
            default: return .null
            }
        }
        if type == .date, case .string(let s) = value, let d = ParseDate(iso8601: s) { return .date(d) }
        return value
    }

    static func decodeText(_ text: String, _ dataType: PostgresDataType, as type: FieldType?, targetClass: String?) throws -> ParseValue {
        switch type {
        case .number: return Int64(text).map(ParseValue.int) ?? Double(text).map(ParseValue.double) ?? .null
        case .boolean: return .bool(text == "t" || text == "true")
        case .pointer: return .pointer(className: targetClass ?? "", objectId: text)
        case .array, .object, .file: return try ParseCodec.decode(try JSONParser.parse(text))
        default: return .string(text)
        }
    }

    static func decodeBinary(_ b: inout ByteBuffer, _ dataType: PostgresDataType, as type: FieldType?) throws -> ParseValue {
        switch dataType.rawValue {
        case 16: return .bool((b.readInteger(as: UInt8.self) ?? 0) != 0)
        case 17: return .bytes(b.readBytes(length: b.readableBytes) ?? [])
        case 20: return .int(b.readInteger(as: Int64.self) ?? 0)
        case 21: return .int(Int64(b.readInteger(as: Int16.self) ?? 0))
        case 23, 26: return .int(Int64(b.readInteger(as: Int32.self) ?? 0))
        case 25, 1043, 1042, 19, 18:
            let s = b.readString(length: b.readableBytes) ?? ""
            return .string(dataType.rawValue == 1042 ? String(s.reversed().drop(while: { $0 == " " }).reversed()) : s)
        case 700: return .double(Double(Float(bitPattern: b.readInteger(as: UInt32.self) ?? 0)))
        case 701: return .double(Double(bitPattern: b.readInteger(as: UInt64.self) ?? 0))
        case 1700:
            let text = try numericText(&b)
            if type == .string { return .string(text) }
            return try numericValue(text)
        case 1114, 1184:
            let micros = b.readInteger(as: Int64.self) ?? 0
            if micros == .max || micros == .min { return .null }  // ±infinity
            let ms = (micros + epoch2000Micros) >= 0 ? (micros + epoch2000Micros) / 1000 : ((micros + epoch2000Micros) - 999) / 1000
            return .date(ParseDate(millisecondsSince1970: ms))
        case 1082:
            let days = Int64(b.readInteger(as: Int32.self) ?? 0)
            if days == Int64(Int32.max) || days == Int64(Int32.min) { return .null }
            return .date(ParseDate(millisecondsSince1970: (days + 10_957) * 86_400_000))
        case 2950:
            let bytes = b.readBytes(length: 16) ?? []
            return .string(UUIDText.format(bytes))
        case 114:
            let s = b.readString(length: b.readableBytes) ?? "null"
            return try ParseCodec.decode(try JSONParser.parse(s))
        case 3802:
            _ = b.readInteger(as: UInt8.self)  // jsonb version
            let s = b.readString(length: b.readableBytes) ?? "null"
            return try ParseCodec.decode(try JSONParser.parse(s))
        default:
            if let elementType = arrayElementTypes[dataType.rawValue] {
                return try decodeArray(&b, elementType: PostgresDataType(elementType), as: type)
            }
            throw DecodeError.unsupported("PostgreSQL type oid \(dataType.rawValue)")
        }
    }

    /// Array type oid → element type oid.
    static let arrayElementTypes: [UInt32: UInt32] = [
        1000: 16, 1001: 17, 1005: 21, 1007: 23, 1009: 25, 1014: 1042, 1015: 1043, 1016: 20, 1021: 700, 1022: 701,
        1115: 1114, 1182: 1082, 1185: 1184, 1231: 1700, 2951: 2950, 3807: 3802, 199: 114,
    ]

    static func decodeArray(_ b: inout ByteBuffer, elementType: PostgresDataType, as type: FieldType?) throws -> ParseValue {
        guard let ndim = b.readInteger(as: Int32.self), let _ = b.readInteger(as: Int32.self), let _ = b.readInteger(as: UInt32.self) else {
            throw DecodeError.malformed("array header")
        }
        if ndim == 0 { return .array([]) }
        guard ndim == 1, let count = b.readInteger(as: Int32.self), let _ = b.readInteger(as: Int32.self) else {
            throw DecodeError.unsupported("multi-dimensional arrays")
        }
        var items: [ParseValue] = []
        items.reserveCapacity(Int(count))
        for _ in 0..<count {
            guard let length = b.readInteger(as: Int32.self) else { throw DecodeError.malformed("array element") }
            if length < 0 { items.append(.null); continue }
            guard var slice = b.readSlice(length: Int(length)) else { throw DecodeError.malformed("array element") }
            items.append(try decodeBinary(&slice, elementType, as: nil))
        }
        return .array(items)
    }

    /// The exact decimal text of a binary `numeric`.
    static func numericText(_ b: inout ByteBuffer) throws -> String {
        guard let ndigits = b.readInteger(as: Int16.self), let weight = b.readInteger(as: Int16.self),
              let sign = b.readInteger(as: UInt16.self), let dscale = b.readInteger(as: Int16.self) else {
            throw DecodeError.malformed("numeric")
        }
        if sign == 0xC000 { return "NaN" }
        var digits: [Int] = []
        for _ in 0..<max(0, Int(ndigits)) { digits.append(Int(b.readInteger(as: Int16.self) ?? 0)) }
        func pad4(_ d: Int) -> String {
            let g = String(d)
            return String(repeating: "0", count: 4 - g.count) + g
        }
        var integer = ""
        if weight >= 0 {
            for i in 0...Int(weight) {
                let d = i < digits.count ? digits[i] : 0
                integer += i == 0 ? String(d) : pad4(d)
            }
        } else {
            integer = "0"
        }
        var fraction = ""
        if dscale > 0 {
            var i = Int(weight) + 1
            while fraction.count < Int(dscale) {
                fraction += pad4(i >= 0 && i < digits.count ? digits[i] : 0)
                i += 1
            }
            fraction = String(fraction.prefix(Int(dscale)))
        }
        let text = fraction.isEmpty ? integer : integer + "." + fraction
        return (sign == 0x4000 ? "-" : "") + text
    }

    /// A numeric's text as a Parse number, refusing silent rounding.
    static func numericValue(_ text: String) throws -> ParseValue {
        var trimmed = text
        if trimmed.contains(".") {
            while trimmed.hasSuffix("0") { trimmed.removeLast() }
            if trimmed.hasSuffix(".") { trimmed.removeLast() }
        }
        if let i = Int64(trimmed) { return .int(i) }
        let significant = trimmed.filter(\.isNumber).drop(while: { $0 == "0" }).count
        guard significant <= 15, let d = Double(trimmed) else {
            throw DecodeError.imprecise(text)
        }
        return .double(d)
    }
}

/// UUID text helpers without Foundation's `UUID` round trip.
enum UUIDText {
    static func format(_ bytes: [UInt8]) -> String {
        let hex = bytes.map { String(format: "%02x", $0) }.joined()
        let c = Array(hex)
        guard c.count == 32 else { return hex }
        return "\(String(c[0..<8]))-\(String(c[8..<12]))-\(String(c[12..<16]))-\(String(c[16..<20]))-\(String(c[20..<32]))"
    }

    static func isValid(_ s: String) -> Bool {
        let hex = s.replacingOccurrences(of: "-", with: "")
        return hex.count == 32 && hex.allSatisfy(\.isHexDigit)
    }
}

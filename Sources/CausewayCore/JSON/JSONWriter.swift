/// Writes JSON straight into a byte array, with no intermediate `Encodable` machinery.
///
/// Hot paths (object responses) call the primitive `write*` methods directly; `write(_ value:)`
/// serializes a whole `JSONValue` with object keys in sorted order.
public struct JSONWriter: Sendable {
    public var bytes: [UInt8]

    public init(capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    @inlinable public mutating func raw(_ s: StaticString) {
        bytes.append(contentsOf: UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }

    @inlinable public mutating func byte(_ b: UInt8) { bytes.append(b) }

    public mutating func writeNull() { raw("null") }
    public mutating func writeBool(_ b: Bool) { if b { raw("true") } else { raw("false") } }
    public mutating func writeInt(_ i: Int64) { bytes.append(contentsOf: String(i).utf8) }
    public mutating func writeInt(_ i: Int) { writeInt(Int64(i)) }

    public mutating func writeDouble(_ d: Double) {
        guard d.isFinite else { writeNull(); return }
        if d == d.rounded(.towardZero), abs(d) < 1e15 {
            writeInt(Int64(d))
        } else {
            bytes.append(contentsOf: "\(d)".utf8)
        }
    }

    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    public mutating func writeString(_ s: String) {
        bytes.append(0x22)
        var s = s
        s.withUTF8 { buf in
            var runStart = 0
            for i in 0..<buf.count {
                let c = buf[i]
                if c >= 0x20 && c != 0x22 && c != 0x5C { continue }
                if runStart < i { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: buf[runStart..<i])) }
                runStart = i + 1
                switch c {
                case 0x22: raw("\\\"")
                case 0x5C: raw("\\\\")
                case 0x0A: raw("\\n")
                case 0x0D: raw("\\r")
                case 0x09: raw("\\t")
                case 0x08: raw("\\b")
                case 0x0C: raw("\\f")
                default:
                    raw("\\u00")
                    bytes.append(Self.hex[Int(c >> 4)])
                    bytes.append(Self.hex[Int(c & 0x0F)])
                }
            }
            if runStart < buf.count { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: buf[runStart..<buf.count])) }
        }
        bytes.append(0x22)
    }

    /// Writes `"key":` (the key is escaped).
    public mutating func writeKey(_ key: String) {
        writeString(key)
        bytes.append(UInt8(ascii: ":"))
    }

    public mutating func write(_ value: JSONValue) {
        switch value {
        case .null: writeNull()
        case .bool(let b): writeBool(b)
        case .int(let i): writeInt(i)
        case .double(let d): writeDouble(d)
        case .string(let s): writeString(s)
        case .array(let a):
            byte(UInt8(ascii: "["))
            for (i, element) in a.enumerated() {
                if i > 0 { byte(UInt8(ascii: ",")) }
                write(element)
            }
            byte(UInt8(ascii: "]"))
        case .object(let o):
            byte(UInt8(ascii: "{"))
            var first = true
            for key in o.keys.sorted() {
                if !first { byte(UInt8(ascii: ",")) }
                first = false
                writeKey(key)
                write(o[key]!)
            }
            byte(UInt8(ascii: "}"))
        }
    }

    public static func serialize(_ value: JSONValue) -> [UInt8] {
        var w = JSONWriter()
        w.write(value)
        return w.bytes
    }

    public static func string(_ value: JSONValue) -> String {
        String(decoding: serialize(value), as: UTF8.self)
    }
}

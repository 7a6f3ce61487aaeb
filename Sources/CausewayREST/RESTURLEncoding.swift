/// Percent-encoding of URL path segments and query parts: every byte of the UTF-8 text except RFC 3986's
/// unreserved characters (ASCII letters, digits, `-._~`) becomes `%XX`. Written out rather than with
/// Foundation's `addingPercentEncoding`, which built a `CharacterSet` and bridged the string on every
/// upstream request (a measurable share of an uncached get, Docs/benchmarks.md); and unlike
/// `CharacterSet.alphanumerics` it never lets a non-ASCII letter through unencoded.
enum RESTURLEncoding {
    static func encode(_ text: String) -> String {
        let utf8 = text.utf8
        if utf8.allSatisfy(isUnreserved) { return text }
        var out: [UInt8] = []
        out.reserveCapacity(utf8.count * 3)
        let hex = Array("0123456789ABCDEF".utf8)
        for byte in utf8 {
            if isUnreserved(byte) {
                out.append(byte)
            } else {
                out.append(UInt8(ascii: "%"))
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0x0F)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    @inline(__always)
    static func isUnreserved(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    /// `template` with every `{objectId}` replaced by `id` (already encoded).
    static func fill(_ template: String, objectId id: String) -> String {
        let marker = Array("{objectId}".utf8)
        var out: [UInt8] = []
        var rest = template.utf8[...]
        while let open = rest.firstIndex(of: UInt8(ascii: "{")) {
            out.append(contentsOf: rest[..<open])
            rest = rest[open...]
            if rest.starts(with: marker) {
                out.append(contentsOf: id.utf8)
                rest = rest.dropFirst(marker.count)
            } else {
                out.append(UInt8(ascii: "{"))
                rest = rest.dropFirst()
            }
        }
        out.append(contentsOf: rest)
        return String(decoding: out, as: UTF8.self)
    }
}

/// Escaping of user input placed into LDAP filters and DNs, so that a username can never change the
/// structure of a filter (`*`, `)(uid=*`, NUL, …) or of a DN.
enum LDAPEscaping {
    /// RFC 4515 §3: `*`, `(`, `)`, `\`, NUL — and every byte outside printable ASCII — as `\XX`.
    static func filterValue(_ value: String) -> String {
        var out = ""
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "*"), UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "\\"), 0, 0x80...0xFF, 0x01...0x1F, 0x7F:
                out += "\\" + hex(byte)
            default:
                out.unicodeScalars.append(UnicodeScalar(byte))
            }
        }
        return out
    }

    /// RFC 4514 §2.4: an attribute value inside a DN.
    static func dnValue(_ value: String) -> String {
        var out = ""
        let bytes = Array(value.utf8)
        for (i, byte) in bytes.enumerated() {
            switch byte {
            case UInt8(ascii: ","), UInt8(ascii: "+"), UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "<"), UInt8(ascii: ">"), UInt8(ascii: ";"), UInt8(ascii: "="):
                out += "\\" + String(UnicodeScalar(byte))
            case 0, 0x01...0x1F, 0x7F:
                out += "\\" + hex(byte)
            case UInt8(ascii: " ") where i == 0 || i == bytes.count - 1:
                out += "\\ "
            case UInt8(ascii: "#") where i == 0:
                out += "\\#"
            default:
                out.unicodeScalars.append(UnicodeScalar(byte))
            }
        }
        // Multi-byte UTF-8 sequences were appended byte-wise as Latin-1 scalars above; rebuild them.
        return String(decoding: out.unicodeScalars.map { UInt8(truncatingIfNeeded: $0.value) }, as: UTF8.self)
    }

    /// Fills `{username}` / `{dn}` in a template with escaped values.
    static func fill(_ template: String, _ values: [String: String], escape: (String) -> String) -> String {
        var out = template
        for (name, value) in values { out = out.replacingOccurrences(of: "{\(name)}", with: escape(value)) }
        return out
    }

    private static func hex(_ byte: UInt8) -> String {
        let digits = Array("0123456789abcdef")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 15)]])
    }
}

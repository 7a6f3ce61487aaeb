import Crypto

/// Session tokens as Parse issues them: `r:` and 32 hex digits (128 bits from the system CSPRNG).
/// Only the SHA-256 of a token is ever stored or logged.
public enum SessionToken {
    public static func make() -> String {
        var rng = SystemRandomNumberGenerator()
        let a = rng.next() as UInt64, b = rng.next() as UInt64
        return "r:" + withUnsafeBytes(of: a.bigEndian) { hex($0) } + withUnsafeBytes(of: b.bigEndian) { hex($0) }
    }

    /// The stored form of a token. (Every request with a token hashes it: one string, not one per byte.)
    public static func hash(_ token: String) -> String {
        hex(SHA256.hash(data: Array(token.utf8)))
    }

    private static let digits = Array("0123456789abcdef".utf8)

    /// Lower-case hex of `bytes`, two digits each.
    public static func hex(_ bytes: some Sequence<UInt8>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.underestimatedCount * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

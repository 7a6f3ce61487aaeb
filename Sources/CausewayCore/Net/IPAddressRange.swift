#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One IP address or a CIDR block (`10.0.0.0/8`, `2001:db8::/32`, `192.0.2.7`), as written in
/// `app.masterKeyIps`, `metrics.allowedIPs` and `server.trustedProxies`.
///
/// Addresses are compared as 16 bytes: IPv4 addresses are held in their IPv4-mapped IPv6 form
/// (`::ffff:a.b.c.d`), so `127.0.0.1` and `::ffff:127.0.0.1` (what a dual-stack listener reports for the same
/// peer) are the same address, and an IPv4 block's prefix is counted from bit 96.
public struct IPAddressRange: Sendable, Hashable, CustomStringConvertible {
    /// The network's 16 bytes with the host bits cleared.
    let network: [UInt8]
    /// Leading bits that must match (0...128, IPv4 blocks counted in IPv6 bits).
    let prefixLength: Int
    public let description: String

    /// Parses `address` or `address/prefix`; nil for anything else (host names included: they are not resolved).
    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let (bytes, isV4) = IPAddressRange.parse(String(parts[0])) else { return nil }
        var prefix = 128
        if parts.count == 2 {
            guard let p = Int(parts[1]), parts[1].allSatisfy(\.isASCII), p >= 0, p <= (isV4 ? 32 : 128) else { return nil }
            prefix = isV4 ? p + 96 : p
        }
        network = IPAddressRange.masked(bytes, prefix)
        prefixLength = prefix
        description = text
    }

    public func contains(_ address: String) -> Bool {
        guard let (bytes, _) = IPAddressRange.parse(address) else { return false }
        return IPAddressRange.masked(bytes, prefixLength) == network
    }

    /// The 16 bytes of an IPv4 or IPv6 address in text form, and whether it was IPv4. Accepts an IPv6 address in
    /// brackets (`[::1]`); IPv6 zone ids (`fe80::1%eth0`) are not addresses another host can send from: refused.
    static func parse(_ text: String) -> ([UInt8], Bool)? {
        var s = Substring(text)
        if s.hasPrefix("["), s.hasSuffix("]") { s = s.dropFirst().dropLast() }
        guard !s.isEmpty, s.count <= 45, s.allSatisfy({ $0.isASCII && ($0.isHexDigit || $0 == "." || $0 == ":") }) else { return nil }
        if !s.contains(":") {
            var v4 = in_addr()
            guard inet_pton(AF_INET, String(s), &v4) == 1 else { return nil }
            let b = withUnsafeBytes(of: &v4) { Array($0) }
            return ([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff] + b, true)
        }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, String(s), &v6) == 1 else { return nil }
        return (withUnsafeBytes(of: &v6) { Array($0) }, false)
    }

    static func masked(_ bytes: [UInt8], _ prefix: Int) -> [UInt8] {
        var out = bytes
        for i in 0..<16 {
            let keep = min(max(prefix - i * 8, 0), 8)
            out[i] &= keep == 8 ? 0xff : UInt8(truncatingIfNeeded: 0xff << (8 - keep))
        }
        return out
    }
}

/// A configured list of addresses and blocks: empty means "no list".
public struct IPAddressList: Sendable, Hashable {
    public var ranges: [IPAddressRange]
    public init(_ ranges: [IPAddressRange] = []) { self.ranges = ranges }
    public var isEmpty: Bool { ranges.isEmpty }
    public func contains(_ address: String) -> Bool { ranges.contains { $0.contains(address) } }
}

/// `server.trustedProxies`: the load balancers (haproxy, nginx, a Kubernetes ingress) whose `X-Forwarded-For`
/// header Causeway believes.
///
/// Behind a load balancer every connection comes from the balancer's address, so the per-address login
/// throttle would count all users as one client (20 wrong passwords from anyone would lock out everyone) and
/// `masterKeyIps` / `metrics.allowedIPs` would match the balancer, not the client. When a connection comes
/// from a trusted proxy, the client is found in `X-Forwarded-For` the way nginx's `real_ip_recursive` does it:
/// read from the right (the hop nearest to us), skip every trusted proxy, and the first address that is not
/// one is the client. Entries left of it were written by the client itself and are never believed. A
/// connection from anyone else keeps its own address whatever it sends, and with no trusted proxies (the
/// default) the header is ignored entirely.
public struct TrustedProxies: Sendable, Hashable {
    public var list: IPAddressList
    public init(_ list: IPAddressList = IPAddressList()) { self.list = list }

    /// The client's address for a connection from `peer` carrying these `X-Forwarded-For` values (one per
    /// header line, each a comma list).
    public func clientAddress(peer: String?, forwardedFor: [String]) -> String? {
        guard let peer, !list.isEmpty, !forwardedFor.isEmpty, list.contains(peer) else { return peer }
        var nearest = peer
        let hops = forwardedFor.flatMap { $0.split(separator: ",") }
        for raw in hops.reversed() {
            // A hop a trusted proxy wrote is an address (haproxy and nginx write bare ones); anything
            // else means the chain cannot be read further: the nearest hop read so far is the client.
            guard let hop = TrustedProxies.address(raw) else { return nearest }
            guard list.contains(hop) else { return hop }
            nearest = hop
        }
        return nearest
    }

    /// One hop of the header: an address, possibly `[v6]`, `v4:port` or `[v6]:port`; nil when it is none.
    static func address(_ raw: Substring) -> String? {
        var s = raw.trimmingSpaces
        guard !s.isEmpty, s.count <= 64 else { return nil }
        if s.hasPrefix("["), let close = s.firstIndex(of: "]") {
            s = s[s.index(after: s.startIndex)..<close]
        } else if s.filter({ $0 == ":" }).count == 1, let colon = s.firstIndex(of: ":") {
            s = s[..<colon]
        }
        let text = String(s)
        return IPAddressRange.parse(text) == nil ? nil : text
    }
}

extension Substring {
    fileprivate var trimmingSpaces: Substring {
        var s = self
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return s
    }
}

@testable import CausewayCore
@testable import CausewayHTTP
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOEmbedded
import Testing

/// The address the login throttle, `masterKeyIps` and `/metrics` see (`CausewayResponder.clientAddress`);
/// `scripts/integration/cluster.sh` checks the same through a real haproxy.
@Suite struct ClientAddressTests {
    func context(peer: String) throws -> ParseRequestContext {
        let channel = EmbeddedChannel()
        channel.remoteAddress = try SocketAddress(ipAddress: peer, port: 40_000)
        return ParseRequestContext(source: .init(channel: channel, logger: Logger(label: "test")))
    }

    func request(_ forwardedFor: [String]) -> Request {
        var fields = HTTPFields()
        for value in forwardedFor { fields.append(HTTPField(name: CausewayResponder.forwardedFor, value: value)) }
        return Request(head: .init(method: .post, scheme: "http", authority: "gw", path: "/parse/login", headerFields: fields),
                       body: .init(buffer: ByteBuffer()))
    }

    let proxies = TrustedProxies(IPAddressList([IPAddressRange("10.0.1.0/28")!]))

    @Test func theHeaderCountsOnlyFromATrustedPeer() throws {
        let fromProxy = try context(peer: "10.0.1.2")
        #expect(fromProxy.peerAddress == "10.0.1.2" && fromProxy.remoteAddress == "10.0.1.2")
        #expect(CausewayResponder.clientAddress(request(["198.51.100.7"]), fromProxy, proxies) == "198.51.100.7")
        #expect(CausewayResponder.clientAddress(request(["203.0.113.1", "198.51.100.7"]), fromProxy, proxies) == "198.51.100.7",
                "two header lines: the last one is the proxy's")
        #expect(CausewayResponder.clientAddress(request([]), fromProxy, proxies) == "10.0.1.2")
        let direct = try context(peer: "203.0.113.9")
        #expect(CausewayResponder.clientAddress(request(["198.51.100.7"]), direct, proxies) == "203.0.113.9")
        #expect(CausewayResponder.clientAddress(request(["198.51.100.7"]), fromProxy, TrustedProxies()) == "10.0.1.2",
                "without server.trustedProxies the header is ignored")
    }
}

@testable import CausewayCore
import Testing

@Suite struct IPAddressRangeTests {
    @Test func addressesAndBlocks() throws {
        let one = try #require(IPAddressRange("192.0.2.7"))
        #expect(one.contains("192.0.2.7") && !one.contains("192.0.2.8"))
        #expect(one.contains("::ffff:192.0.2.7"), "a dual-stack listener's form of the same peer")
        let block = try #require(IPAddressRange("10.0.0.0/8"))
        #expect(block.contains("10.255.1.2") && !block.contains("11.0.0.1"))
        let odd = try #require(IPAddressRange("192.0.2.64/27"))
        #expect(odd.contains("192.0.2.95") && !odd.contains("192.0.2.96") && !odd.contains("192.0.2.63"))
        let v6 = try #require(IPAddressRange("2001:db8::/32"))
        #expect(v6.contains("2001:db8:ffff::1") && !v6.contains("2001:db9::1") && !v6.contains("10.0.0.1"))
        #expect(try #require(IPAddressRange("::1")).contains("[::1]"))
        #expect(try #require(IPAddressRange("0.0.0.0/0")).contains("203.0.113.1"))
        #expect(!(try #require(IPAddressRange("0.0.0.0/0")).contains("2001:db8::1")), "an IPv4 block never holds IPv6 addresses")
        #expect(try #require(IPAddressRange("::/0")).contains("203.0.113.1"))
    }

    @Test func whatIsNotAnAddress() {
        for text in ["", "localhost", "proxy.example.com", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/8/8", "256.1.1.1", "1.2.3",
                     "2001:db8::/129", "fe80::1%eth0", "10.0.0.0/ 8", "10.0.0.0/", "::1/x", "1.2.3.4 "] {
            #expect(IPAddressRange(text) == nil, "\(text)")
        }
        #expect(!(IPAddressRange("10.0.0.0/8")!.contains("not an address")))
    }
}

@Suite struct TrustedProxiesTests {
    let proxies = TrustedProxies(IPAddressList([IPAddressRange("10.0.1.0/28")!, IPAddressRange("127.0.0.1")!]))

    @Test func aTrustedProxyNamesTheClient() {
        #expect(proxies.clientAddress(peer: "10.0.1.3", forwardedFor: ["198.51.100.7"]) == "198.51.100.7")
        // What the client sent itself stays left of what the proxy appended: never believed.
        #expect(proxies.clientAddress(peer: "10.0.1.3", forwardedFor: ["203.0.113.66, 198.51.100.7"]) == "198.51.100.7")
        // Two proxies in a row (an ingress behind haproxy), also as two header lines.
        #expect(proxies.clientAddress(peer: "10.0.1.3", forwardedFor: ["198.51.100.7, 127.0.0.1"]) == "198.51.100.7")
        #expect(proxies.clientAddress(peer: "10.0.1.3", forwardedFor: ["203.0.113.66", "198.51.100.7 ,10.0.1.4"]) == "198.51.100.7")
        // Ports and brackets as some proxies write them.
        #expect(proxies.clientAddress(peer: "10.0.1.3", forwardedFor: ["198.51.100.7:51234"]) == "198.51.100.7")
        #expect(proxies.clientAddress(peer: "10.0.1.3", forwardedFor: ["[2001:db8::7]:443"]) == "2001:db8::7")
        #expect(proxies.clientAddress(peer: "10.0.1.3", forwardedFor: ["2001:db8::7"]) == "2001:db8::7")
        // Only trusted hops: the leftmost is the client.
        #expect(proxies.clientAddress(peer: "10.0.1.3", forwardedFor: ["10.0.1.9, 127.0.0.1"]) == "10.0.1.9")
    }

    @Test func nobodyElseIsBelieved() {
        // An untrusted peer keeps its address, whatever it sends.
        #expect(proxies.clientAddress(peer: "203.0.113.66", forwardedFor: ["198.51.100.7"]) == "203.0.113.66")
        #expect(proxies.clientAddress(peer: "10.0.1.16", forwardedFor: ["198.51.100.7"]) == "10.0.1.16", "just outside the /28")
        // No trusted proxies: the header is ignored.
        #expect(TrustedProxies().clientAddress(peer: "10.0.1.3", forwardedFor: ["198.51.100.7"]) == "10.0.1.3")
        // A trusted peer without the header is the client.
        #expect(proxies.clientAddress(peer: "10.0.1.3", forwardedFor: []) == "10.0.1.3")
        #expect(proxies.clientAddress(peer: nil, forwardedFor: ["198.51.100.7"]) == nil)
        // A hop that is no address stops the walk at the nearest hop read so far: garbage never becomes the client.
        #expect(proxies.clientAddress(peer: "10.0.1.3", forwardedFor: ["198.51.100.7, unknown"]) == "10.0.1.3")
        #expect(proxies.clientAddress(peer: "10.0.1.3", forwardedFor: ["unknown, 127.0.0.1"]) == "127.0.0.1")
        #expect(proxies.clientAddress(peer: "10.0.1.3", forwardedFor: [""]) == "10.0.1.3")
        #expect(proxies.clientAddress(peer: "10.0.1.3", forwardedFor: [String(repeating: "1", count: 5000)]) == "10.0.1.3")
    }
}

@Suite struct AddressListConfigTests {
    @Test func addressListsAreRead() throws {
        let tree = try ConfigTree(gateway: """
        server:
          trustedProxies: [10.0.1.0/28, "::1"]
        app:
          applicationId: test-app
          masterKeyIps: 192.0.2.0/24
        metrics:
          allowedIPs: [198.51.100.9]
        """, connectors: ["items.yaml": ConfigTree.minimalConnector])
        let g = try tree.load().gateway
        #expect(g.server.trustedProxies.clientAddress(peer: "10.0.1.2", forwardedFor: ["203.0.113.5"]) == "203.0.113.5")
        #expect(g.app.masterKeyIPs.contains("192.0.2.200") && !g.app.masterKeyIPs.contains("192.0.3.1"))
        #expect(g.metrics.allowedIPs.contains("198.51.100.9") && !g.metrics.allowedIPs.contains("198.51.100.10"))
        #expect(try ConfigTree(connectors: ["items.yaml": ConfigTree.minimalConnector]).load().gateway.server.trustedProxies.list.isEmpty)
    }

    @Test func anEntryThatIsNoAddressIsAnErrorNamingIt() throws {
        for (yaml, key, line) in [("server:\n  trustedProxies: [10.0.0.1, haproxy.internal]\napp:\n  applicationId: a\n", "server.trustedProxies", 2),
                                  ("app:\n  applicationId: a\n  masterKeyIps: [10.0.0.0/40]\n", "app.masterKeyIps", 3)] {
            let tree = try ConfigTree(gateway: yaml, connectors: ["items.yaml": ConfigTree.minimalConnector])
            let error = try #require(tree.error())
            #expect(error.location.keyPath == key && error.message.contains("is not an IP address or CIDR block"), "\(error)")
            #expect(error.description.contains("causeway.yaml:\(line):"), "\(error)")
        }
    }
}

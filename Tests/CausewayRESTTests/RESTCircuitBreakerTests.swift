import CausewayCore
import CausewayHTTPTesting
import CausewayTesting
@testable import CausewayREST
import Foundation
import HTTPTypes
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A loopback TCP port: `listening` keeps a socket that the kernel completes handshakes on but nobody ever
/// accepts or answers (a black hole); otherwise the port is closed again and refuses connections.
final class LoopbackPort: @unchecked Sendable {
    let port: Int
    private let fd: Int32

    init(listening: Bool) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0 else { throw POSIXError(.EADDRINUSE) }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        port = Int(UInt16(bigEndian: address.sin_port))
        if listening {
            listen(fd, 64)
            self.fd = fd
        } else {
            close(fd)
            self.fd = -1
        }
    }

    deinit { if fd >= 0 { close(fd) } }
}

@Suite struct RESTCircuitBreakerTests {
    static func yaml(_ port: Int, breaker: String, timeouts: String = "connectTimeoutSeconds: 300\n  requestTimeoutSeconds: 600", cache: String = "") -> String {
        """
        kind: rest
        \(cache)
        connection:
          baseURL: http://127.0.0.1:\(port)
          \(timeouts)
          retries: 3
          retryBackoffMilliseconds: 5
          circuitBreaker: \(breaker)
        collections:
          Ticket:
            list: /tickets
            get: /tickets/{objectId}
            records: data.items
            objectId: { column: id, type: integer }
            pagination: { style: offset, pageSize: 5 }
            fields:
              title: { type: string }
        """
    }

    /// Runs `body`, failing the test if it takes longer than `limit` (the timeouts it must not wait out are
    /// far longer: 300 s to connect, 600 s to answer).
    func within<T: Sendable>(_ limit: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await body() }
            group.addTask { try await Task.sleep(for: limit); return nil }
            let first = try await group.next()!
            group.cancelAll()
            return try #require(first, "took longer than \(limit)")
        }
    }

    @Test func aRefusedConnectionFailsAtOnceAndTheBreakerServesStaleAnswersAtOnce() async throws {
        let clock = ManualClock()
        let port = try LoopbackPort(listening: false).port
        let upstream = TestUpstream()
        let yaml = Self.yaml(port, breaker: "{ failures: 2, coolDownSeconds: 30 }",
                             cache: "cache: { ttlSeconds: 1, staleIfErrorSeconds: 300 }").replacingOccurrences(of: "records: data.items", with: "records: data.items\n    total: data.total")
        let app = try ParseTestApp(connectors: yaml.replacingOccurrences(of: "baseURL: http", with: "auth: { type: bearer, token: upstream-token }\n  baseURL: http"),
                                   factories: [RESTConnectorFactory(clock: clock)], cacheClock: clock)
        try await app.run { c async throws in
            // Nothing listens: refused at once (not after the 300 s connect timeout, and not retried).
            let refused = try await within(.seconds(20)) { try await c.find("Ticket", ["where": #"{"title":"a"}"#]) }
            #expect(refused.status == 503 && refused.code == 100 && refused.errorMessage.contains("refused the connection"), "\(refused.text)")

            try await upstream.run(port: port) {
                let fresh = try await c.find("Ticket", ["limit": "3"])
                #expect(fresh.status == 200 && fresh.results.count == 3, "\(fresh.text)")  // closes the breaker, fills the cache
            }
            // Down again. Past the TTL: the refused refresh answers from the stale entry.
            clock.advance(by: .seconds(2))
            let stale = try await within(.seconds(20)) { try await c.find("Ticket", ["limit": "3"]) }
            #expect(stale.status == 200 && stale.results.count == 3 && stale.headers[.init("X-Causeway-Cache")!] == "stale-if-error", "\(stale.text)")
            // The second failure in a row opens the breaker.
            #expect(try await c.find("Ticket", ["where": #"{"title":"b"}"#]).code == 100)

            upstream.clearLog()
            try await upstream.run(port: port) {
                // Open: no request reaches the API (it is back, but the cool-down has not passed).
                let fast = try await c.find("Ticket", ["where": #"{"title":"c"}"#])
                #expect(fast.status == 503 && fast.code == 100 && fast.errorMessage.contains("tries it again in 30 s"), "\(fast.text)")
                clock.advance(by: .seconds(2))
                let staleAtOnce = try await c.find("Ticket", ["limit": "3"])
                #expect(staleAtOnce.status == 200 && staleAtOnce.headers[.init("X-Causeway-Cache")!] == "stale-if-error")
                #expect(upstream.log.isEmpty, "\(upstream.log)")
                // After the cool-down the next request is the probe; it succeeds and closes the breaker.
                clock.advance(by: .seconds(30))
                let probe = try await c.find("Ticket", ["where": #"{"title":"ticket 4"}"#])
                #expect(probe.status == 200 && probe.results.count == 1, "\(probe.text)")
                #expect(try await c.find("Ticket", ["where": #"{"title":"ticket 5"}"#]).status == 200)
                #expect(!upstream.log.isEmpty)
            }
        }
    }

    @Test func aBlackHoleOpensTheBreakerAfterTheConfiguredFailures() async throws {
        let clock = ManualClock()
        let hole = try LoopbackPort(listening: true)
        let yaml = Self.yaml(hole.port, breaker: "{ failures: 2, coolDownSeconds: 60 }", timeouts: "connectTimeoutSeconds: 1\n  requestTimeoutSeconds: 1")
        try await ParseTestApp(connectors: yaml, factories: [RESTConnectorFactory(clock: clock)], cacheClock: clock).run { c async throws in
            // Each request waits out the 1 s request timeout once (a timeout is not retried).
            for i in 0..<2 {
                let r = try await within(.seconds(20)) { try await c.find("Ticket", ["where": #"{"title":"\#(i)"}"#]) }
                #expect(r.status == 504 && r.code == 124, "\(r.text)")
            }
            // Open: fails without waiting, for as long as the (manual) clock stays inside the cool-down.
            let fast = try await within(.seconds(20)) { try await c.find("Ticket", ["where": #"{"title":"x"}"#]) }
            #expect(fast.status == 503 && fast.errorMessage.contains("unavailable (2 failures in a row)") && fast.errorMessage.contains("in 60 s"), "\(fast.text)")
            clock.advance(by: .seconds(59))
            #expect(try await c.get("/parse/classes/Ticket/1").errorMessage.contains("in 1 s"))
            // After the cool-down one probe goes through (and times out again): open for another cool-down.
            clock.advance(by: .seconds(1))
            let probe = try await within(.seconds(20)) { try await c.find("Ticket", ["where": #"{"title":"y"}"#]) }
            #expect(probe.code == 124, "\(probe.text)")
            #expect(try await c.find("Ticket", ["where": #"{"title":"z"}"#]).errorMessage.contains("in 60 s"))
        }
        _ = hole
    }

    @Test func breakerStates() {
        let clock = ManualClock()
        let breaker = RESTCircuitBreaker(settings: .init(failureThreshold: 3, coolDown: .seconds(10)), now: RESTConnector.stopwatch(clock))
        for _ in 0..<2 { #expect(breaker.admit() == .pass); breaker.failed(probe: false) }
        breaker.succeeded()  // an answer resets the count
        for _ in 0..<3 { #expect(breaker.admit() == .pass); breaker.failed(probe: false) }
        #expect(breaker.admit() == .refuse(retryIn: .seconds(10), failures: 3))
        clock.advance(by: .seconds(10))
        #expect(breaker.admit() == .probe)
        #expect(breaker.admit() == .refuse(retryIn: .zero, failures: 3))  // one probe at a time
        breaker.abandoned(probe: true)  // a cancelled probe: the next request probes
        #expect(breaker.admit() == .probe)
        breaker.failed(probe: true)
        #expect(breaker.admit() == .refuse(retryIn: .seconds(10), failures: 4))
        clock.advance(by: .seconds(10))
        #expect(breaker.admit() == .probe)
        breaker.succeeded()
        #expect(breaker.admit() == .pass && !breaker.isOpen)
        let off = RESTCircuitBreaker(settings: .init(failureThreshold: 0), now: RESTConnector.stopwatch(clock))
        for _ in 0..<10 { off.failed(probe: false) }
        #expect(off.admit() == .pass)
    }
}

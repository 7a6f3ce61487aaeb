import CausewayCore
import CausewayHTTPTesting
import CausewayTesting
@testable import CausewayREST
import Foundation
import HTTPTypes
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A loopback TCP port: `listening` keeps a socket that the kernel completes handshakes on but nobody ever
/// accepts or answers (a black hole); otherwise the port is closed again and refuses connections.
final class LoopbackPort: @unchecked Sendable {
    let port: Int
    private let fd: Int32

    init(listening: Bool, port wanted: Int = 0) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(wanted).bigEndian
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

/// The REST factory, keeping every connector it makes so a test can look at a connector's breaker.
final class KeepingRESTFactory: ConnectorFactory {
    let kind = "rest"
    let inner: RESTConnectorFactory
    private let made = Mutex<[RESTConnector]>([])

    init<C: Clock<Duration>>(clock: C) { inner = RESTConnectorFactory(clock: clock) }

    func makeConnector(name: String, reader: YAMLReader, baseDirectory: String) throws(ConfigError) -> any Connector {
        let connector = try inner.makeConnector(name: name, reader: reader, baseDirectory: baseDirectory)
        if let rest = connector as? RESTConnector { made.withLock { $0.append(rest) } }
        return connector
    }

    /// The one connector made (the tests' files declare one).
    var connector: RESTConnector { get throws { try #require(made.withLock { $0.last }) } }
}

/// Keeps a black hole listening past the block that made it.
final class HoleBox: @unchecked Sendable {
    var port: LoopbackPort?
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

    /// Waits until `condition` holds, for at most `limit` (a safety bound: what is awaited happens in the
    /// gateway's background, not at a time the test could name).
    func eventually(_ what: String, limit: Duration = .seconds(30), _ condition: () throws -> Bool) async throws {
        let deadline = ContinuousClock.now + limit
        while try !condition() {
            guard ContinuousClock.now < deadline else { Issue.record("still not \(what) after \(limit)"); throw CancellationError() }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    @Test func aRefusedConnectionFailsAtOnceAndTheBreakerServesStaleAnswersAtOnce() async throws {
        let clock = ManualClock()
        let port = try LoopbackPort(listening: false).port
        let upstream = TestUpstream()
        let yaml = Self.yaml(port, breaker: "{ failures: 2, coolDownSeconds: 30 }",
                             cache: "cache: { ttlSeconds: 1, staleIfErrorSeconds: 300 }").replacingOccurrences(of: "records: data.items", with: "records: data.items\n    total: data.total")
        let factory = KeepingRESTFactory(clock: clock)
        let app = try ParseTestApp(connectors: yaml.replacingOccurrences(of: "baseURL: http", with: "auth: { type: bearer, token: upstream-token }\n  baseURL: http"),
                                   factories: [factory], cacheClock: clock)
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
                // Past the cool-down the background probe, not a client, asks the API (with the connector's
                // credentials) and closes the breaker: the first client request after it goes straight through.
                clock.advance(by: .seconds(30))
                let breaker = try factory.connector.breaker
                try await eventually("closed") { !breaker.isOpen }
                #expect(breaker.probes == 1)
                #expect(upstream.log == ["GET /tickets?limit=1&offset=0"], "\(upstream.log)")
                let after = try await c.find("Ticket", ["where": #"{"title":"ticket 4"}"#])
                #expect(after.status == 200 && after.results.count == 1, "\(after.text)")
                #expect(after.headers[.init("X-Causeway-Cache")!] != "stale-if-error")
            }
        }
    }

    @Test func aBlackHoleOpensTheBreakerAndTheBackgroundProbeKeepsItOpen() async throws {
        let clock = ManualClock()
        let hole = try LoopbackPort(listening: true)
        let yaml = Self.yaml(hole.port, breaker: "{ failures: 2, coolDownSeconds: 60 }", timeouts: "connectTimeoutSeconds: 1\n  requestTimeoutSeconds: 1")
        let factory = KeepingRESTFactory(clock: clock)
        try await ParseTestApp(connectors: yaml, factories: [factory]).run { c async throws in
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
            // After the cool-down the background probe goes into the hole; clients are refused meanwhile
            // (a client that were the trial would answer 124 after the 1 s timeout, not 100).
            clock.advance(by: .seconds(1))
            let breaker = try factory.connector.breaker
            let during = try await c.find("Ticket", ["where": #"{"title":"y"}"#])
            #expect(during.status == 503 && during.code == 100, "\(during.text)")
            // The probe times out: open for another full cool-down.
            try await eventually("probed") { breaker.probes == 1 }
            #expect(breaker.isOpen)
            let after = try await c.find("Ticket", ["where": #"{"title":"z"}"#])
            #expect(after.code == 100 && after.errorMessage.contains("in 60 s") && after.errorMessage.contains("3 failures"), "\(after.text)")
        }
        _ = hole
    }

    @Test func aProbeStuckInABlackHoleNeitherHoldsClientsNorTheShutdown() async throws {
        let clock = ManualClock()
        let port = try LoopbackPort(listening: false).port
        // Timeouts far longer than the test may take: nothing here may wait for them.
        let factory = KeepingRESTFactory(clock: clock)
        let hole = HoleBox()
        try await ParseTestApp(connectors: Self.yaml(port, breaker: "{ failures: 1, coolDownSeconds: 30, healthPath: /status }"),
                               factories: [factory]).run { c async throws in
            // Refused: the breaker opens at once.
            #expect(try await within(.seconds(20)) { try await c.find("Ticket", [:]) }.code == 100)
            let breaker = try factory.connector.breaker
            #expect(breaker.isOpen)
            // Now something listens there and never answers; the cool-down passes and the probe hangs in it.
            hole.port = try LoopbackPort(listening: true, port: port)
            clock.advance(by: .seconds(30))
            try await eventually("probing") { breaker.isHalfOpen }
            for _ in 0..<3 {
                let r = try await within(.seconds(20)) { try await c.find("Ticket", [:]) }
                #expect(r.status == 503 && r.code == 100 && r.errorMessage.contains("unavailable"), "\(r.text)")
            }
            #expect(breaker.probes == 0)
        }
        // Leaving `run` shut the gateway down, which ended the probe (the hole still listens: it would
        // otherwise wait out the 600 s request timeout).
        #expect(try factory.connector.breaker.probes == 1)
        #expect(hole.port != nil)
    }

    @Test func theBackgroundProbeClosesTheBreakerWithoutAnyClientRequest() async throws {
        let clock = ManualClock()
        let port = try LoopbackPort(listening: false).port
        let upstream = TestUpstream()
        let factory = KeepingRESTFactory(clock: clock)
        let yaml = Self.yaml(port, breaker: "{ failures: 1, coolDownSeconds: 30, healthPath: /tickets/1 }")
            .replacingOccurrences(of: "baseURL: http", with: "auth: { type: bearer, token: upstream-token }\n  baseURL: http")
        try await ParseTestApp(connectors: yaml, factories: [factory]).run { c async throws in
            #expect(try await within(.seconds(20)) { try await c.find("Ticket", [:]) }.code == 100)
            let breaker = try factory.connector.breaker
            // Still down at the first probe: refused, open for another cool-down.
            clock.advance(by: .seconds(30))
            try await eventually("probed") { breaker.probes == 1 }
            #expect(breaker.isOpen)
            try await upstream.run(port: port) {
                clock.advance(by: .seconds(29))  // inside the new cool-down: no probe yet
                #expect(breaker.isOpen && breaker.probes == 1)
                clock.advance(by: .seconds(1))
                try await eventually("closed") { !breaker.isOpen }
                #expect(breaker.probes == 2)
                #expect(upstream.log == ["GET /tickets/1"], "\(upstream.log)")
                let r = try await c.find("Ticket", ["limit": "2"])
                #expect(r.status == 200 && r.results.count == 2, "\(r.text)")
            }
        }
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
        // With a background prober, no client request is ever the trial.
        breaker.failed(probe: false); breaker.failed(probe: false); breaker.failed(probe: false)
        breaker.setProbing(true)
        #expect(breaker.nextProbeStep() == .wait(until: .seconds(30)))  // opened at 20 s, cool-down 10 s
        clock.advance(by: .seconds(10))
        #expect(breaker.admit() == .refuse(retryIn: .zero, failures: 3))  // past the cool-down, yet no trial
        #expect(breaker.nextProbeStep() == .probe && breaker.isHalfOpen)
        #expect(breaker.admit() == .refuse(retryIn: .zero, failures: 3))
        breaker.probeEnded(answered: false)
        #expect(breaker.admit() == .refuse(retryIn: .seconds(10), failures: 4) && breaker.probes == 1)
        #expect(breaker.nextProbeStep() == .wait(until: .seconds(40)))
        clock.advance(by: .seconds(10))
        #expect(breaker.nextProbeStep() == .probe)
        breaker.probeEnded(answered: true)
        #expect(!breaker.isOpen && breaker.nextProbeStep() == .idle && breaker.admit() == .pass)
        let off = RESTCircuitBreaker(settings: .init(failureThreshold: 0), now: RESTConnector.stopwatch(clock))
        for _ in 0..<10 { off.failed(probe: false) }
        #expect(off.admit() == .pass)
    }
}

import CausewayCore
import CausewayTesting
@testable import CausewayREST
import Foundation
import Logging
import Testing

/// `include` into a REST source that cannot filter its key with `$in`: each distinct ticket is read once by
/// its get-by-id endpoint (never the list), a missing one is removed from the array.
@Suite struct RESTFederationTests {
    @Test func includeReadsEachTicketOnceByIdFromTheAPI() async throws {
        let upstream = TestUpstream()
        try await upstream.run { port in
            let dir = NSTemporaryDirectory() + "causeway-rest-fed-\(UUID().uuidString)"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            try RESTConnectorTests.connector(port: port).write(toFile: dir + "/desk.yaml", atomically: true, encoding: .utf8)
            let rest = try ConfigLoader.loadConnector(path: dir + "/desk.yaml", factories: [RESTConnectorFactory()], environment: [:])
            let logger = Logger(label: "test")
            try await rest.start(logger: logger)
            do {
                let bookings = (1...30).map { i in
                    ParseObject(objectId: "b\(i)", fields: ["room": .string("R\(i)"), "tickets": .array([
                        .pointer(className: "Ticket", objectId: String(i % 3 + 1)), .pointer(className: "Ticket", objectId: "7"),
                        .pointer(className: "Ticket", objectId: "999"),
                    ])])
                }
                let local = MemoryConnector(name: "local", collections: [FederationFixture.bookingSchema(connector: "local")], rows: ["Booking": bookings])
                let probe = SourceProbe()
                let gw = Gateway(config: GatewayConfig(), connectors: [local, CountingConnector(wrapping: rest, probe: probe)])
                upstream.clearLog()
                let rows = try await gw.find("Booking", try gw.parseFind("Booking", ["include": .string("tickets"), "limit": .int(30)]),
                                             caller: .anonymous, logger: logger).objects
                #expect(rows.count == 30)
                guard case .array(let tickets)? = rows[0].fields["tickets"] else { throw GatewayError(.internalServerError, "no tickets") }
                #expect(tickets.count == 2, "ticket 999 does not exist: removed")
                if case .object(let t)? = tickets.last { #expect(t["title"] == .string("ticket 7") && t["className"] == .string("Ticket")) }
                #expect(probe.reads == 5, "tickets 1, 2, 3, 7 and 999, each once: \(probe.reads)")
                #expect(Set(upstream.log) == ["GET /tickets/1", "GET /tickets/2", "GET /tickets/3", "GET /tickets/7", "GET /tickets/999"],
                        "\(upstream.log)")
            } catch {
                await rest.shutdown()
                throw error
            }
            await rest.shutdown()
        }
    }
}

import CausewayCore
import CausewayHTTP
@testable import CausewayPostgres
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

/// `X-Causeway-Explain: 1` with the master key logs the plan of the statement a find pushed down, on the
/// request's logger (so with its request id); without the master key the header does nothing.
@Suite struct PostgresExplainTests {
    /// Keeps the "postgres plan" lines with their metadata. A value type, as swift-log expects; copies share the record.
    struct PlanRecorder: LogHandler {
        final class Record: @unchecked Sendable {
            let lock = NSLock()
            var lines: [Logger.Metadata] = []
        }
        let record = Record()
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .info

        var lines: [Logger.Metadata] { record.lock.withLock { record.lines } }

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String, file: String, function: String, line: UInt) {
            guard message.description.hasPrefix("postgres plan") else { return }
            let all = self.metadata.merging(metadata ?? [:]) { $1 }
            record.lock.withLock { record.lines.append(all) }
        }
    }

    @Test func theMasterKeyGetsThePlanLogged() async throws {
        try await withPostgresFixture(setupSQL: """
            CREATE TABLE items (id bigint PRIMARY KEY, score integer);
            INSERT INTO items SELECT g, CASE WHEN g % 5 = 0 THEN NULL ELSE g END FROM generate_series(1, 2000) AS g;
            CREATE INDEX items_score ON items (score);
            ANALYZE items
            """) { fx in
            let connector = try await fx.connector("""
                  Item:
                    schema: SCHEMA
                    table: items
                    objectId: { column: id, type: integer }
                    fields:
                      score: { type: number }
                """)
            let recorder = PlanRecorder()
            let logger = Logger(label: "explain") { _ in recorder }
            var config = GatewayConfig()
            config.app.applicationId = "ex"
            config.app.masterKey = "master-secret"
            let app = CausewayApplication.build(configuration: LoadedConfiguration(gateway: config, connectors: [connector]), logger: logger)
            try await app.test(.router) { client in
                func find(_ headers: HTTPFields) async throws -> Int {
                    var h = headers
                    h[HTTPField.Name("X-Parse-Application-Id")!] = "ex"
                    h[HTTPField.Name("X-Parse-Request-Id")!] = "req-42"
                    let r = try await client.execute(uri: "/parse/classes/Item?order=-score&limit=5", method: .get, headers: h)
                    return Int(r.status.code)
                }
                #expect(try await find([HTTPField.Name("X-Causeway-Explain")!: "1"]) == 200)
                #expect(recorder.lines.isEmpty, "no plan without the master key")
                #expect(try await find([HTTPField.Name("X-Parse-Master-Key")!: "master-secret"]) == 200)
                #expect(recorder.lines.isEmpty, "no plan without the header")
                #expect(try await find([HTTPField.Name("X-Parse-Master-Key")!: "master-secret", HTTPField.Name("X-Causeway-Explain")!: "1"]) == 200)
                let line = try #require(recorder.lines.first)
                guard case .string(let plan)? = line["causeway.plan"], case .string(let sql)? = line["causeway.sql"] else {
                    Issue.record("no plan: \(line)")
                    return
                }
                #expect(sql.contains("UNION ALL") && sql.contains(#""score" IS NOT NULL"#), "the split statement: \(sql)")
                #expect(plan.contains("items_score"), "\(plan)")
                #expect(line["request.parse_id"] == .string("req-42"), "the line carries the request's id: \(line)")
            }
        }
    }
}

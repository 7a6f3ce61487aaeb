import CausewayCore
@testable import CausewaySQLite
import Foundation
import Logging
import Testing

/// A transactional batch on the embedded store holds its one writer; an in-memory database reads through that
/// writer too. A cached find by another request that is already waiting for the writer leads the cache's single
/// flight for its query; the same find inside the transaction must not wait for that flight (it would wait for
/// itself): reads inside a transaction bypass the caches and see the transaction's own writes.
@Suite struct SQLiteTransactionCacheTests {
    static let yaml = """
    kind: sqlite
    connection:
      path: ":memory:"
    collections:
      Item:
        table: items
        objectId: { column: id, type: string }
        fields:
          name: { type: string }
    """

    @Test(.timeLimit(.minutes(1))) func aFindInsideATransactionDoesNotJoinAFlightWaitingForItsWriter() async throws {
        let fx = try await SQLiteFixture(yaml: Self.yaml)
        var policy = CachePolicy()
        policy.ttlMs = 3_600_000
        let g = Gateway(config: GatewayConfig(), connectors: [fx.connector],
                        caches: CacheSet(policies: [fx.connector.name: policy], maxBytes: 1 << 20, metricsFactory: nil))
        do {
            _ = try await g.create("Item", body: ["name": .string("before")], caller: .master)
            let pool = try fx.connector.connections()
            let (started, startedInput) = AsyncStream<Void>.makeStream()
            let (proceed, proceedInput) = AsyncStream<Void>.makeStream()
            let logger = fx.logger
            let inside = Task {
                try await g.withTransaction(classNames: ["Item"]) { tg in
                    _ = try await tg.create("Item", body: ["name": .string("inside")], caller: .master)
                    startedInput.yield()
                    for await _ in proceed { break }
                    let found = try await tg.find("Item", try tg.parseFind("Item", ["order": .string("name")]), caller: .master, logger: logger)
                    return found.objects.compactMap { $0.fields["name"]?.stringValue }
                }
            }
            for await _ in started { break }
            // Another request's cached find: it leads the flight for this query and waits for the writer.
            let outside = Task { try await g.find("Item", try g.parseFind("Item", ["order": .string("name")]), caller: .master, logger: logger) }
            while pool.writersWaiting == 0 { await Task.yield() }
            proceedInput.yield()
            #expect(try await inside.value == ["before", "inside"], "the transaction reads its own write, not through the waiting flight")
            _ = try await outside.value  // answered once the transaction has committed
        } catch {
            await fx.close()
            throw error
        }
        await fx.close()
    }
}

import CausewayCore
import CausewaySQLite
import CausewayTesting
import Foundation
import Logging
import Testing

/// `GET /users` on the embedded store: what runs in SQLite agrees with the in-memory evaluator (Parse's semantics).
@Suite struct SQLiteUserQueryTests {
    @Test func userQueriesRunInTheStoreAgreeWithParseSemantics() async throws {
        let path = NSTemporaryDirectory() + "causeway-users-\(UUID().uuidString).sqlite"
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let store = SQLiteMetadataStore(path: path)
        try await store.start(logger: Logger(label: "test"))
        try await UserQueryConformance.seed(store)
        let problems = try await UserQueryConformance.check(store)
        await store.shutdown()
        #expect(problems.isEmpty, "\(problems.count) disagreements, first: \(problems.prefix(3))")
    }
}

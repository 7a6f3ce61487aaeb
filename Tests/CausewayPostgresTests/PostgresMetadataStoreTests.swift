import CausewayCore
import CausewayTesting
@testable import CausewayPostgres
import Foundation
import Logging
import PostgresNIO
import Testing

/// The PostgreSQL metadata store (#15): migrations under concurrent start, users and sessions through the
/// auth service, failed-login counters shared by two nodes, `check`'s report on the schema.
@Suite struct PostgresMetadataStoreTests {
    @Test func concurrentStartsMigrateOnceAndCheckReportsTheVersion() async throws {
        try await withPostgresFixture(setupSQL: "") { fx in
            let schema = fx.schemaName + "_meta"
            defer { Task { try? await fx.execute("DROP SCHEMA IF EXISTS \(schema) CASCADE") } }
            let missing = await fx.metadataStore(schema: schema).verify(logger: fx.logger)
            #expect(missing.count == 1 && missing[0].severity == .warning && missing[0].message.contains("missing"), "\(missing)")
            // Six nodes start at once on an empty database: one migrates, the others wait for its lock and find nothing to do.
            let stores = (0..<6).map { _ in fx.metadataStore(schema: schema) }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for s in stores { group.addTask { try await s.start(logger: fx.logger) } }
                try await group.waitForAll()
            }
            for s in stores { await s.shutdown() }
            #expect(try await fx.scalar("SELECT count(*)::text FROM \(schema).schema_migrations") == String(PostgresMetadataStore.schemaVersion))
            let current = await fx.metadataStore(schema: schema).verify(logger: fx.logger)
            #expect(current.map(\.severity) == [.ok], "\(current)")
            // A schema from a newer gateway: check says so and a node refuses to start on it.
            try await fx.execute("INSERT INTO \(schema).schema_migrations (version, name) VALUES (999, 'from the future')")
            let newer = await fx.metadataStore(schema: schema).verify(logger: fx.logger)
            #expect(newer.map(\.severity) == [.error] && newer[0].message.contains("newer"), "\(newer)")
            let late = fx.metadataStore(schema: schema)
            await #expect(throws: GatewayError.self) { try await late.start(logger: fx.logger) }
            await late.shutdown()
        }
    }

    @Test func adminSignInsAreSharedByTheNodesAndASchemaAtVersionOneIsUpgraded() async throws {
        try await withPostgresFixture(setupSQL: "") { fx in
            let schema = fx.schemaName + "_admin"
            defer { Task { try? await fx.execute("DROP SCHEMA IF EXISTS \(schema) CASCADE") } }
            // A schema as a gateway of version 1 left it: no admin sign-ins table, no code-point indexes. The next start adds them.
            let first = fx.metadataStore(schema: schema)
            try await first.start(logger: fx.logger)
            await first.shutdown()
            try await fx.execute("DROP TABLE \(schema).admin_sessions")
            for index in ["users_object_id_c", "users_username_c", "users_created_at"] { try await fx.execute("DROP INDEX \(schema).\(index)") }
            try await fx.execute("DELETE FROM \(schema).schema_migrations WHERE version >= 2")
            let a = fx.metadataStore(schema: schema, nodeId: "A"), b = fx.metadataStore(schema: schema, nodeId: "B")
            try await a.start(logger: fx.logger)
            try await b.start(logger: fx.logger)
            defer { Task { await a.shutdown(); await b.shutdown() } }
            #expect(try await fx.scalar("SELECT string_agg(version::text, ',' ORDER BY version) FROM \(schema).schema_migrations") == "1,2,3")
            // Written by one node, read and ended by the other.
            let now = ParseDate.now().millisecondsSince1970
            try await a.insertAdminSession(tokenHash: "h1", expiresAt: ParseDate(millisecondsSince1970: now + 60_000))
            try await a.insertAdminSession(tokenHash: "h2", expiresAt: ParseDate(millisecondsSince1970: now - 1))
            #expect(try await b.adminSessionExpiry(tokenHash: "h1")?.millisecondsSince1970 == now + 60_000)
            #expect(try await b.adminSessionExpiry(tokenHash: "nope") == nil)
            try await b.deleteAdminSession(tokenHash: "h1")
            #expect(try await a.adminSessionExpiry(tokenHash: "h1") == nil)
            // The periodic clean-up removes expired ones.
            _ = try await b.deleteExpiredSessions(before: .now())
            #expect(try await fx.scalar("SELECT count(*)::text FROM \(schema).admin_sessions") == "0")
        }
    }

    /// In a database whose collation is ICU's en-US (dictionary order: "_svc, alice, ALICE, Bob"), so that text
    /// compared or sorted without `COLLATE "C"` would disagree with Parse's code-point order.
    @Test func userQueriesRunInTheStoreAgreeWithParseSemantics() async throws {
        try await withPostgresFixture(setupSQL: "") { fx in
            let database = fx.schemaName + "_icu"
            try await fx.execute("CREATE DATABASE \(database) TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'")
            var settings = fx.storeSettings()
            settings.database = database
            let store = PostgresMetadataStore(settings: settings, schema: "causeway", nodeId: nil)
            do {
                try await store.start(logger: fx.logger)
                try await UserQueryConformance.seed(store)
                let problems = try await UserQueryConformance.check(store)
                #expect(problems.isEmpty, "\(problems.count) disagreements, first: \(problems.prefix(3))")
            } catch {
                Issue.record(error)
            }
            await store.shutdown()
            try await fx.execute("DROP DATABASE \(database) WITH (FORCE)")
        }
    }

    /// PostgreSQL text cannot hold NUL: a sign-up with one is a 142, a lookup finds nobody; never a 500.
    @Test func aNULInAUsernameIsAClearErrorNotAnInternalOne() async throws {
        try await withPostgresFixture(setupSQL: "") { fx in
            let node = try await fx.authNode(schema: fx.schemaName)
            defer { Task { await node.shutdown() } }
            do {
                _ = try await node.signUp(.init(username: "a\u{0}b", password: "correct horse", email: nil, attributes: [:]), installationId: nil)
                Issue.record("a NUL in a username was stored")
            } catch let e as GatewayError { #expect(e.code == .validationError, "\(e)") }
            #expect(try await node.store.user(username: "a\u{0}b") == nil)
            do {
                _ = try await node.logIn(username: "a\u{0}b", password: "x", address: nil, installationId: nil)
                Issue.record("a login with a NUL in the username succeeded")
            } catch let e as GatewayError { #expect(e.code == .objectNotFound, "\(e)") }
        }
    }

    /// With 20,000 users the planner has a choice: a lookup by name, a page in name order, the default page
    /// (objectId order) and the newest users each read an index, not the table.
    @Test func userQueriesUseTheIndexes() async throws {
        try await withPostgresFixture(setupSQL: "") { fx in
            let schema = fx.schemaName + "_uidx"
            defer { Task { try? await fx.execute("DROP SCHEMA IF EXISTS \(schema) CASCADE") } }
            let store = fx.metadataStore(schema: schema)
            try await store.start(logger: fx.logger)
            defer { Task { await store.shutdown() } }
            try await fx.execute("""
                INSERT INTO \(schema).users (object_id, username, email, provider, roles_refreshed_at, created_at, updated_at)
                SELECT md5(i::text), 'user' || i, CASE WHEN i % 3 = 0 THEN NULL ELSE 'u' || i || '@example.com' END, 'corp', 0, i, i
                FROM generate_series(1, 20000) AS i
                """)
            try await fx.execute("ANALYZE \(schema).users")
            func plan(_ query: UserQuery) async throws -> String {
                let select = store.findUsersStatements(query).select
                let rows = try await store.rows(PostgresQuery(unsafeSQL: "EXPLAIN " + select.sql, binds: select.binds))
                return try rows.map { try $0.decode(String.self) }.joined(separator: "\n")
            }
            let cases: [(String, UserQuery)] = [
                ("users_username_key", UserQuery(conditions: [.compare(.username, .equal, .text("user42"))], limit: 100)),
                ("users_username_c", UserQuery(sort: [.init(.username, descending: false)], limit: 100)),
                ("users_username_c", UserQuery(conditions: [.compare(.username, .greater, .text("user5"))], sort: [.init(.username, descending: false)], limit: 100)),
                ("users_object_id_c", UserQuery(limit: 100)),
                ("users_created_at", UserQuery(sort: [.init(.createdAt, descending: true)], limit: 100)),
            ]
            for (index, query) in cases {
                let text = try await plan(query)
                #expect(text.contains(index) && !text.contains("Seq Scan"), "\(query): \(text)")
            }
            // The answers themselves.
            #expect(try await store.findUsers(UserQuery(conditions: [.compare(.username, .equal, .text("user42"))], limit: 100)).users.map(\.username) == ["user42"])
            let page = try await store.findUsers(UserQuery(sort: [.init(.createdAt, descending: true)], limit: 3, count: true))
            #expect(page.users.map(\.username) == ["user20000", "user19999", "user19998"] && page.count == 20000)
        }
    }

    @Test func usersAndSessionsThroughTheAuthService() async throws {
        try await withPostgresFixture(setupSQL: "") { fx in
            let node = try await fx.authNode(schema: fx.schemaName)
            defer { Task { await node.shutdown() } }
            let (user, token) = try await node.signUp(.init(username: "ada", password: "correct horse", email: "ada@example.com", attributes: [:]), installationId: nil)
            // Only the token's hash is stored.
            #expect(try await fx.scalar("SELECT count(*)::text FROM \(fx.schemaName).sessions WHERE token_hash = '\(SessionToken.hash(token))'") == "1")
            #expect(try await fx.scalar("SELECT count(*)::text FROM \(fx.schemaName).sessions WHERE token_hash = '\(token)'") == "0")
            let (validated, _) = try await node.validate(token: token)
            #expect(validated.objectId == user.objectId && validated.email == "ada@example.com")
            await #expect(throws: GatewayError.self) {
                _ = try await node.signUp(.init(username: "ada", password: "another horse", email: nil, attributes: [:]), installationId: nil)
            }
            do {
                _ = try await node.signUp(.init(username: "bob", password: "another horse", email: "ada@example.com", attributes: [:]), installationId: nil)
                Issue.record("a taken email was accepted")
            } catch let e as GatewayError { #expect(e.code == .emailTaken) }
            let (_, second) = try await node.logIn(username: "ada", password: "correct horse", address: "10.0.0.1", installationId: "i1")
            try await node.logOut(token: token)
            await #expect(throws: GatewayError.self) { _ = try await node.validate(token: token) }
            _ = try await node.validate(token: second)
            #expect(try await node.store.usersWithSessions(now: .now()).map(\.username) == ["ada"])
            _ = try await node.logIn(username: "ada", password: "correct horse", address: "10.0.0.1", installationId: "i2")
            #expect(try await node.store.countUsersWithSessions(now: .now()) == 1, "users, not sessions: ada has two")
            #expect(try await node.store.countUsersWithSessions(now: ParseDate(millisecondsSince1970: Int64.max / 2)) == 0, "expired sessions do not count")
            try await node.deleteUser(validated)
            await #expect(throws: GatewayError.self) { _ = try await node.validate(token: second) }
        }
    }

    @Test func failedLoginsAreCountedAcrossNodes() async throws {
        try await withPostgresFixture(setupSQL: "") { fx in
            var settings = AuthSettings()
            settings.throttle = .init(maxFailures: 3, maxFailuresPerAddress: 1000, windowSeconds: 300)
            let a = try await fx.authNode(schema: fx.schemaName, settings: settings)
            let b = try await fx.authNode(schema: fx.schemaName, settings: settings)
            defer { Task { await a.shutdown(); await b.shutdown() } }
            _ = try await a.signUp(.init(username: "carol", password: "right password", email: nil, attributes: [:]), installationId: nil)
            func attempt(_ node: AuthService, _ name: String, _ password: String, address: String) async -> ParseErrorCode? {
                do { _ = try await node.logIn(username: name, password: password, address: address, installationId: nil); return nil } catch let e as GatewayError {
                    return e.code
                } catch { return .internalServerError }
            }
            // Spread over both nodes and from different addresses: the third failure is the last one allowed.
            #expect(await attempt(a, "carol", "guess 1", address: "10.0.0.1") == .objectNotFound)
            #expect(await attempt(b, "Carol", "guess 2", address: "10.0.0.2") == .objectNotFound)
            #expect(await attempt(a, "CORP\\carol", "guess 3", address: "10.0.0.3") == .objectNotFound)
            #expect(await attempt(b, "carol", "right password", address: "10.0.0.4") == .requestLimitExceeded)
            #expect(await attempt(a, "carol", "right password", address: "10.0.0.5") == .requestLimitExceeded)

            // The counter is one atomic upsert: 40 concurrent failures on two nodes count 40.
            let store = a.store as! PostgresMetadataStore
            let now = ParseDate.now()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for i in 0..<40 {
                    let s = (i % 2 == 0 ? a.store : b.store) as! PostgresMetadataStore
                    group.addTask { try await s.recordLoginFailure(keys: ["u:dave"], now: now, windowSeconds: 300) }
                }
                try await group.waitForAll()
            }
            #expect(try await store.loginFailures(keys: ["u:dave"])["u:dave"]?.failures == 40)
            // Past the window the count starts again; a success clears it everywhere.
            let later = ParseDate(millisecondsSince1970: now.millisecondsSince1970 + 301_000)
            try await store.recordLoginFailure(keys: ["u:dave"], now: later, windowSeconds: 300)
            #expect(try await store.loginFailures(keys: ["u:dave"])["u:dave"]?.failures == 1)
            try await a.throttle.admit(username: "carol", address: nil, now: ParseDate(millisecondsSince1970: ParseDate.now().millisecondsSince1970 + 301_000))
            await b.throttle.succeeded(username: "CAROL")
            #expect(await attempt(a, "carol", "right password", address: "10.0.0.6") == nil)
        }
    }
}

extension PostgresFixture {
    func storeSettings() -> PostgresConnectionSettings {
        var s = PostgresConnectionSettings()
        s.host = db.host
        s.port = db.port
        s.database = db.database
        s.user = db.user
        s.password = db.password
        s.poolSize = 2
        s.connectTimeoutMs = 15000  // 5 s once ran out with six stores connecting at once in a clean-clone run
        return s
    }

    func metadataStore(schema: String, nodeId: String? = nil) -> PostgresMetadataStore {
        PostgresMetadataStore(settings: storeSettings(), schema: schema, nodeId: nodeId)
    }

    /// An auth service with local accounts over a PostgreSQL store in `schema`, started.
    func authNode(schema: String, nodeId: String? = nil, settings: AuthSettings = AuthSettings()) async throws -> AuthService {
        let auth = AuthService(providers: [LocalIdentityProvider(minPasswordLength: 8, hashingThreads: 1)],
                               store: metadataStore(schema: schema, nodeId: nodeId), settings: settings)
        try await auth.start(logger: logger)
        return auth
    }
}

/// `metadataStore.postgres` in causeway.yaml (no server needed).
@Suite struct PostgresMetadataStoreConfigTests {
    func write(_ store: String) throws -> String {
        let dir = NSTemporaryDirectory() + "causeway-meta-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir + "/Connectors", withIntermediateDirectories: true)
        try """
            app: { applicationId: test }
            metadataStore:
            \(store)
            connectorsDirectory: Connectors
            """.write(toFile: dir + "/causeway.yaml", atomically: true, encoding: .utf8)
        return dir + "/causeway.yaml"
    }

    @Test func readsTheConnectorKeysPlusSchemaAndNodeId() throws {
        let path = try write("""
              postgres:
                host: db.example.com
                database: meta
                user: gw
                password: ${PGPASS}
                schema: gw_meta
                nodeId: node-1
            """)
        let loaded = try ConfigLoader.load(configPath: path, factories: [PostgresConnectorFactory()], environment: ["PGPASS": "secret"])
        #expect(loaded.gateway.metadataStoreKind == "postgres")
        let store = try #require(try PostgresMetadataStore.load(configPath: path, environment: ["PGPASS": "secret"]))
        #expect(store.schema == "gw_meta" && store.nodeId == "node-1")
        #expect(store.settings.host == "db.example.com" && store.settings.password == "secret" && store.settings.poolSize == 4)
    }

    @Test func badSettingsAreReportedWithTheirKey() throws {
        let both = try write("  sqlite: meta.sqlite\n  postgres: { database: d, user: u }")
        #expect(throws: ConfigErrors.self) { _ = try ConfigLoader.load(configPath: both, factories: []) }
        for (block, key) in [("  postgres: { database: d, user: u, schema: \"a\\\"b\" }", "schema"),
                             ("  postgres: { database: d, user: u, nodeId: \"no spaces\" }", "nodeId"),
                             ("  postgres: { database: d, user: u, colour: blue }", "colour"),
                             ("  postgres: { database: d }", "user")] {
            let path = try write(block)
            do {
                _ = try PostgresMetadataStore.load(configPath: path, environment: [:])
                Issue.record("accepted \(block)")
            } catch {
                #expect(error.errors.first?.location.keyPath.contains(key) == true, "\(block): \(error)")
            }
        }
    }
}

@testable import CausewayCore
@testable import CausewayHTTP
import CausewayHTTPTesting
import CausewaySQLite
import Foundation
import Logging
import Synchronization
import Testing

/// Admin-page sign-ins: kept where every node sharing the metadata store finds them (the page works behind a
/// round-robin load balancer), ended everywhere by a sign-out, and never older than eight hours.
@Suite struct AdminSessionsTests {
    /// A clock the test moves (milliseconds added to the real time).
    final class Clock: Sendable {
        let offsetMs = Mutex<Int64>(0)
        func advance(hours: Int64) { offsetMs.withLock { $0 += hours * 3_600_000 } }
        var now: @Sendable () -> ParseDate {
            { ParseDate(millisecondsSince1970: ParseDate.now().millisecondsSince1970 + self.offsetMs.withLock { $0 }) }
        }
    }

    func auth() async throws -> AuthService {
        let path = NSTemporaryDirectory() + "causeway-admin-\(UUID().uuidString).sqlite"
        let auth = AuthService(providers: [LocalIdentityProvider(minPasswordLength: 8, hashingThreads: 1)],
                               store: SQLiteMetadataStore(path: path), settings: AuthSettings())
        try await auth.start(logger: Logger(label: "test"))
        return auth
    }

    static let key = "the-master-key-0123"

    @Test func aMasterKeySignInIsKeptInTheStoreSoEveryNodeHonoursItAndASignOutEndsItEverywhere() async throws {
        let auth = try await auth()
        defer { Task { await auth.shutdown() } }
        let clock = Clock()
        let a = AdminSessions(auth: auth, logger: Logger(label: "test"), now: clock.now)
        let b = AdminSessions(auth: auth, logger: Logger(label: "test"), now: clock.now)
        let session = await a.createMaster(masterKey: Self.key)
        #expect(session.token.hasPrefix("a:") && session.token.count > 40)
        // Only a hash (of the token with the master key) is stored.
        let stored = AdminSessions.storedHash(session.token, masterKey: Self.key)
        #expect(try await auth.store.adminSessionExpiry(tokenHash: stored) != nil)
        #expect(try await auth.store.adminSessionExpiry(tokenHash: SessionToken.hash(session.token)) == nil)
        guard case .master(let onB)? = await b.resolve(session.token, masterKey: Self.key) else { Issue.record("node B does not honour A's sign-in"); return }
        #expect(onB.csrf == session.csrf, "both nodes compute the same CSRF token")
        #expect(await b.resolve("a:" + String(session.token.dropFirst(2).reversed()), masterKey: Self.key) == nil, "a made-up token is nobody")
        // A new master key (a rotated, leaked one) ends every sign-in made with the old one.
        #expect(await b.resolve(session.token, masterKey: "another-master-key") == nil)
        #expect(await b.resolve(session.token, masterKey: nil) == nil)
        await b.end(session.token, masterKey: Self.key)
        #expect(await a.resolve(session.token, masterKey: Self.key) == nil, "signed out on B, so also on A")
        // Eight hours after signing in, a sign-in is over on every node (and the store's clean-up removes it).
        let later = await a.createMaster(masterKey: Self.key)
        clock.advance(hours: 7)
        #expect(await b.resolve(later.token, masterKey: Self.key) != nil)
        clock.advance(hours: 1)
        #expect(await a.resolve(later.token, masterKey: Self.key) == nil)
        #expect(await b.resolve(later.token, masterKey: Self.key) == nil)
        _ = try await auth.store.deleteExpiredSessions(before: clock.now())
        #expect(try await auth.store.adminSessionExpiry(tokenHash: AdminSessions.storedHash(later.token, masterKey: Self.key)) == nil)
    }

    @Test func whileTheStoreCannotBeWrittenAMasterKeySignInHoldsOnItsNode() async throws {
        let auth = try await auth()
        let a = AdminSessions(auth: auth, logger: Logger(label: "test")), b = AdminSessions(auth: auth, logger: Logger(label: "test"))
        await auth.shutdown()  // the store is closed: writes and reads fail
        let session = await a.createMaster(masterKey: Self.key)
        #expect(await a.resolve(session.token, masterKey: Self.key) != nil)
        #expect(await b.resolve(session.token, masterKey: Self.key) == nil)
        await a.end(session.token, masterKey: Self.key)
        #expect(await a.resolve(session.token, masterKey: Self.key) == nil)
    }

    @Test func aUsersSignInIsASessionOfItsOwnForTheAdminPageOnly() async throws {
        let auth = try await auth()
        defer { Task { await auth.shutdown() } }
        let clock = Clock()
        let sessions = AdminSessions(auth: auth, logger: Logger(label: "test"), now: clock.now)
        let (user, apiToken) = try await auth.signUp(.init(username: "root", password: "long enough", email: nil, attributes: [:]), installationId: nil)
        let (_, adminToken) = try await auth.logIn(username: "root", password: "long enough", address: nil, installationId: nil, forAdminPage: true)
        // It opens the admin page, for eight hours (the store's expiry says so too); the Parse API refuses it.
        let record = try #require(try await auth.store.session(tokenHash: SessionToken.hash(adminToken)))
        #expect(record.action == SessionRecord.adminAction && record.expiresAt.millisecondsSince1970 - record.createdAt.millisecondsSince1970 == 8 * 3_600_000)
        await #expect(throws: GatewayError.self) { _ = try await auth.validate(token: adminToken) }
        let session = sessions.user(token: adminToken)
        guard case .user(let resolved, let who)? = await sessions.resolve(session.token, masterKey: nil) else { Issue.record("not resolved"); return }
        #expect(who.objectId == user.objectId && resolved.csrf == session.csrf && resolved.csrf != AdminSessions.csrf(for: apiToken))
        // An API token, of the same admin user, does not open the page, and signing out of the page leaves it alone.
        #expect(await sessions.resolve(apiToken, masterKey: nil) == nil)
        await sessions.end(apiToken, masterKey: nil)
        #expect(try await auth.validate(token: apiToken).0.objectId == user.objectId)
        // Signing out ends the admin session.
        await sessions.end(session.token, masterKey: nil)
        #expect(await sessions.resolve(session.token, masterKey: nil) == nil)
        #expect(try await auth.store.session(tokenHash: SessionToken.hash(adminToken)) == nil)
    }

    @Test func withoutAStoreMasterKeySignInsLiveInMemoryForEightHours() async throws {
        let clock = Clock()
        let sessions = AdminSessions(auth: nil, logger: Logger(label: "test"), now: clock.now)
        let session = await sessions.createMaster(masterKey: Self.key)
        #expect(await sessions.resolve(session.token, masterKey: Self.key) != nil)
        #expect(await AdminSessions(auth: nil, logger: Logger(label: "test"), now: clock.now).resolve(session.token, masterKey: Self.key) == nil,
                "another process does not know it")
        #expect(await sessions.resolve("r:0123456789abcdef0123456789abcdef", masterKey: Self.key) == nil, "no users, no Parse sessions")
        clock.advance(hours: 8)
        #expect(await sessions.resolve(session.token, masterKey: Self.key) == nil)
        let again = await sessions.createMaster(masterKey: Self.key)
        await sessions.end(again.token, masterKey: Self.key)
        #expect(await sessions.resolve(again.token, masterKey: Self.key) == nil)
    }

    /// Two gateways sharing one metadata store, as two nodes behind a load balancer: each request of one
    /// browser may reach either.
    @Test func thePageWorksWhicheverNodeEachRequestReaches() async throws {
        let nodeA = try AdminPageTests.app()
        var b = try AdminPageTests.app()
        b.configuration.gateway.metadataStorePath = nodeA.metadataStorePath
        let nodeB = b
        let form = AdminPageTests.form
        try await nodeA.run { a in
            try await nodeB.run { b in
                // The master key, signed in on A: B shows the page, A accepts B's form, a sign-out on B ends it on A.
                let (cookie, csrfA) = try await AdminPageTests.signInWithMasterKey(a)
                let pageB = try await b.request(.get, "/admin", headers: ["Cookie": cookie])
                #expect(pageB.status == 200 && pageB.text.contains("data-connector=\"store\""))
                #expect(AdminPageTests.csrf(pageB.text) == csrfA)
                let purged = try await a.request(.post, "/admin/purge", "connector=store&csrf=\(try #require(AdminPageTests.csrf(pageB.text)))",
                                                 headers: form.merging(["Cookie": cookie]) { $1 })
                #expect(purged.status == 303)
                #expect(try await b.request(.post, "/admin/logout", "", headers: form.merging(["Cookie": cookie]) { $1 }).status == 303)
                let afterA = try await a.request(.get, "/admin", headers: ["Cookie": cookie])
                #expect(afterA.status == 200 && afterA.text.contains("id=\"login-master\"") && !afterA.text.contains("data-connector"))
                // A member of the admin role, signed in on B: A shows the page as theirs.
                #expect(try await UserAPITests.signUp(a, "root", "long enough").status == 201)
                let login = try await b.request(.post, "/admin/login", "username=root&password=long+enough", headers: form)
                #expect(login.status == 303)
                let userCookie = try #require(AdminPageTests.cookie(login))
                let onA = try await a.request(.get, "/admin", headers: ["Cookie": userCookie])
                #expect(onA.status == 200 && onA.text.contains("signed in as root") && onA.text.contains("data-connector=\"store\""))
                // The cookie is not a Parse API session, and root's API session does not open the page.
                let adminToken = String(userCookie.dropFirst("causeway_admin=".count))
                let me = try await a.get("/parse/users/me", headers: ParseClient.standardHeaders.merging(["X-Parse-Session-Token": adminToken]) { $1 })
                #expect(me.status == 400 && me.code == 209, "\(me.status) \(me.text)")
                let apiLogin = try await a.request(.post, "/parse/login", #"{"username":"root","password":"long enough"}"#)
                let apiToken = try #require(apiLogin["sessionToken"]?.stringValue)
                let withApiToken = try await b.request(.get, "/admin", headers: ["Cookie": "causeway_admin=\(apiToken)"])
                #expect(withApiToken.status == 200 && withApiToken.text.contains("id=\"login-master\"") && !withApiToken.text.contains("data-connector"))
            }
        }
    }
}


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

    @Test func aMasterKeySignInIsKeptInTheStoreSoEveryNodeHonoursItAndASignOutEndsItEverywhere() async throws {
        let auth = try await auth()
        defer { Task { await auth.shutdown() } }
        let clock = Clock()
        let a = AdminSessions(auth: auth, now: clock.now), b = AdminSessions(auth: auth, now: clock.now)
        let session = try await a.createMaster()
        #expect(session.token.hasPrefix("a:") && session.token.count > 40 && session.parseToken == nil)
        // Only the hash is stored.
        #expect(try await auth.store.adminSessionExpiry(tokenHash: session.token) == nil)
        #expect(try await auth.store.adminSessionExpiry(tokenHash: SessionToken.hash(session.token)) != nil)
        guard case .master(let onB)? = await b.resolve(session.token) else { Issue.record("node B does not honour A's sign-in"); return }
        #expect(onB.csrf == session.csrf, "both nodes compute the same CSRF token")
        #expect(await b.resolve("a:" + String(session.token.dropFirst(2).reversed())) == nil, "a made-up token is nobody")
        await b.end(session.token)
        #expect(await a.resolve(session.token) == nil, "signed out on B, so also on A")
        // Eight hours after signing in, a sign-in is over on every node (and the store's clean-up removes it).
        let later = try await a.createMaster()
        clock.advance(hours: 7)
        #expect(await b.resolve(later.token) != nil)
        clock.advance(hours: 1)
        #expect(await a.resolve(later.token) == nil)
        #expect(await b.resolve(later.token) == nil)
        _ = try await auth.store.deleteExpiredSessions(before: clock.now())
        #expect(try await auth.store.adminSessionExpiry(tokenHash: SessionToken.hash(later.token)) == nil)
    }

    @Test func aUsersSignInIsTheirParseSessionForAtMostEightHours() async throws {
        let auth = try await auth()
        defer { Task { await auth.shutdown() } }
        let clock = Clock()
        let sessions = AdminSessions(auth: auth, now: clock.now)
        let (user, token) = try await auth.signUp(.init(username: "root", password: "long enough", email: nil, attributes: [:]), installationId: nil)
        let session = sessions.user(parseToken: token)
        guard case .user(let resolved, let who)? = await sessions.resolve(session.token) else { Issue.record("not resolved"); return }
        #expect(who.objectId == user.objectId && resolved.csrf == session.csrf && resolved.csrf != AdminSessions.csrf(for: "r:other"))
        // The Parse session lives on (its own lifetime), but not as an admin sign-in.
        clock.advance(hours: 8)
        #expect(await sessions.resolve(session.token) == nil)
        #expect(try await auth.validate(token: token).0.objectId == user.objectId)
        // Signing out of the page logs the Parse session out.
        await sessions.end(session.token)
        await #expect(throws: GatewayError.self) { _ = try await auth.validate(token: token) }
    }

    @Test func withoutAStoreMasterKeySignInsLiveInMemoryForEightHours() async throws {
        let clock = Clock()
        let sessions = AdminSessions(auth: nil, now: clock.now)
        let session = try await sessions.createMaster()
        #expect(await sessions.resolve(session.token) != nil)
        #expect(await AdminSessions(auth: nil, now: clock.now).resolve(session.token) == nil, "another process does not know it")
        #expect(await sessions.resolve("r:0123456789abcdef0123456789abcdef") == nil, "no users, no Parse sessions")
        clock.advance(hours: 8)
        #expect(await sessions.resolve(session.token) == nil)
        let again = try await sessions.createMaster()
        await sessions.end(again.token)
        #expect(await sessions.resolve(again.token) == nil)
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
            }
        }
    }
}


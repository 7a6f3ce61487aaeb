import CausewayCore
import CausewaySQLite
import Foundation
import Logging
import Synchronization
import Testing

/// A directory double whose answers the test changes.
final class StubDirectory: IdentityProvider {
    let name = "stub"
    let kind = "ldap"
    let allowsSignUp = false
    let userFields = ["department"]
    struct State { var roles: Set<String> = ["Staff"]; var exists = true; var reachable = true; var refreshes = 0 }
    let state = Mutex(State())

    func start(logger: Logger) async throws {}
    func shutdown() async {}
    func authenticate(username: String, password: String, store: any MetadataStore) async throws -> AuthenticationOutcome {
        let s = state.withLock { $0 }
        guard s.reachable else { throw GatewayError(.connectionFailed, "down") }
        guard s.exists, username == "pat" else { return .unknownUser }
        guard password == "right" else { return .rejected }
        return .authenticated(VerifiedIdentity(provider: name, username: username, externalId: "uuid-1", roles: s.roles))
    }
    func refresh(_ user: UserRecord) async throws -> VerifiedIdentity? {
        let s = state.withLock { $0.refreshes += 1; return $0 }
        guard s.reachable else { throw GatewayError(.connectionFailed, "down") }
        guard s.exists else { return nil }
        return VerifiedIdentity(provider: name, username: user.username, externalId: "uuid-1", roles: s.roles)
    }
    func verify(logger: Logger) async -> [CheckFinding] { [] }
}

@Suite struct AuthServiceTests {
    func service(_ directory: StubDirectory, refreshSeconds: Int = 300) async throws -> AuthService {
        var settings = AuthSettings()
        settings.roleRefreshSeconds = refreshSeconds
        settings.throttle = .init(maxFailures: 3, maxFailuresPerAddress: 5, windowSeconds: 60)
        let path = NSTemporaryDirectory() + "causeway-auth-\(UUID().uuidString).sqlite"
        let auth = AuthService(providers: [directory], store: SQLiteMetadataStore(path: path), settings: settings)
        try await auth.start(logger: Logger(label: "test"))
        return auth
    }

    @Test func expiredSessionsAreInvalid() async throws {
        let auth = try await service(StubDirectory())
        let (user, token) = try await auth.logIn(username: "pat", password: "right", address: nil, installationId: nil)
        #expect(try await auth.validate(token: token).0.objectId == user.objectId)
        let expired = SessionRecord(objectId: "s1", tokenHash: SessionToken.hash("r:old"), userId: user.objectId, action: "login",
                                    authProvider: "stub", installationId: nil, createdAt: ParseDate(millisecondsSince1970: 0),
                                    expiresAt: ParseDate(millisecondsSince1970: ParseDate.now().millisecondsSince1970 - 1))
        try await auth.store.insertSession(expired)
        _ = try await auth.logIn(username: "pat", password: "right", address: nil, installationId: nil)
        #expect(try await auth.store.countUsersWithSessions(now: .now()) == 1, "one user with two live sessions and an expired one")
        #expect(try await auth.store.usersWithSessions(now: .now()).count == 1)
        await #expect(throws: GatewayError.self) { try await auth.validate(token: "r:old") }
        await #expect(throws: GatewayError.self) { try await auth.validate(token: "r:never-issued") }
        await auth.shutdown()
    }

    @Test func roleRefreshFollowsTheDirectory() async throws {
        let directory = StubDirectory()
        let auth = try await service(directory, refreshSeconds: 1)
        let (_, token) = try await auth.logIn(username: "pat", password: "right", address: nil, installationId: nil)
        #expect(try await auth.validate(token: token).0.roles == ["Staff"])
        let later = ParseDate(millisecondsSince1970: ParseDate.now().millisecondsSince1970 + 5000)

        // Unreachable: roles stay as they were and the session keeps working.
        directory.state.withLock { $0.reachable = false; $0.roles = [] }
        await auth.refreshRoles(now: later)
        #expect(try await auth.validate(token: token).0.roles == ["Staff"])

        // Reachable with other groups: the new roles apply.
        directory.state.withLock { $0.reachable = true; $0.roles = ["Staff", "Lead"] }
        await auth.refreshRoles(now: later)
        #expect(try await auth.validate(token: token).0.roles == ["Lead", "Staff"])

        // Gone from the directory: the sessions end.
        directory.state.withLock { $0.exists = false }
        await auth.refreshRoles(now: ParseDate(millisecondsSince1970: later.millisecondsSince1970 + 5000))
        await #expect(throws: GatewayError.self) { try await auth.validate(token: token) }
        await auth.shutdown()
    }

    @Test func unreachableDirectoryIsADistinctRetryableError() async throws {
        let directory = StubDirectory()
        let auth = try await service(directory)
        directory.state.withLock { $0.reachable = false }
        do {
            _ = try await auth.logIn(username: "pat", password: "right", address: nil, installationId: nil)
            Issue.record("login succeeded")
        } catch let error as GatewayError {
            #expect(error.code == .connectionFailed && error.httpStatus == 503)
        }
        await auth.shutdown()
    }

    @Test func throttlingPerUsernameAndPerAddress() async throws {
        let auth = try await service(StubDirectory())
        func attempt(_ user: String, _ password: String, _ address: String) async -> Int { await Self.attempt(auth, user, password, address) }
        for _ in 0..<3 { #expect(await attempt("pat", "wrong", "10.0.0.1") == 101) }
        #expect(await attempt("pat", "right", "10.0.0.2") == 155)  // the username is blocked from anywhere
        // One address guessing many usernames is blocked after maxFailuresPerAddress.
        for i in 0..<5 { #expect(await attempt("user\(i)", "x", "10.0.0.9") == 101) }
        #expect(await attempt("other", "x", "10.0.0.9") == 155)
        #expect(await attempt("other", "x", "10.0.0.8") == 101)
        await auth.shutdown()
    }

    /// Another spelling of a throttled account is throttled too: case, AD down-level and UPN forms.
    @Test func throttlingFollowsTheAccountNotItsSpelling() async throws {
        let auth = try await service(StubDirectory())
        func attempt(_ user: String, _ password: String, _ address: String) async -> Int { await Self.attempt(auth, user, password, address) }
        for _ in 0..<3 { #expect(await attempt("pat", "wrong", "10.0.1.1") == 101) }
        for (i, spelling) in ["Pat", "PAT", " pat ", "CORP\\pat", "pat@corp.example.com", "CORP\\Pat@corp.example.com"].enumerated() {
            #expect(await attempt(spelling, "right", "10.0.2.\(i)") == 155, "\(spelling)")
        }
        #expect(LoginThrottle.account("Bob") == LoginThrottle.account("corp\\BOB") && LoginThrottle.account("bob@x") == "bob")
        #expect(LoginThrottle.account("@handle") == "@handle", "a leading @ is part of the name")
        await auth.shutdown()
    }

    /// A login's Parse error code (0 on success).
    static func attempt(_ auth: AuthService, _ user: String, _ password: String, _ address: String) async -> Int {
        do { _ = try await auth.logIn(username: user, password: password, address: address, installationId: nil); return 0 } catch let e as GatewayError {
            return e.code.rawValue
        } catch { return -1 }
    }

    @Test func passwordHashesAreSaltedAndVerified() throws {
        let hasher = PasswordHasher()
        let a = try hasher.hash("correct horse"), b = try hasher.hash("correct horse")
        #expect(a != b && a.hasPrefix("pbkdf2-sha256$210000$"))
        #expect(hasher.verify("correct horse", against: a) && !hasher.verify("correct horsE", against: a))
        #expect(!hasher.verify("x", against: "pbkdf2-sha256$1000$AAAA$AAAA"))  // below the floor: never accepted
        let token = SessionToken.make()
        #expect(token.count == 34 && SessionToken.hash(token).count == 64 && SessionToken.make() != token)
    }
}

import Logging
import Synchronization

/// Users and sessions: sign-up, login against the identity providers in order, session validation,
/// logout, and the periodic re-reading of directory roles.
///
/// Validating a session token reads only the metadata store (through a short-lived in-memory copy), never a
/// directory, so sessions keep working while a directory is down. Nothing here logs a password or a token.
public final class AuthService: Sendable {
    public let providers: [any IdentityProvider]
    public let store: any MetadataStore
    public let settings: AuthSettings
    public let throttle: LoginThrottle
    /// Logouts and user changes, for long-lived consumers of sessions (LiveQuery).
    public let sessionEvents = SessionEvents()
    let cache = Mutex(SessionCache())
    /// Told of every session end and user change (cluster coherence, `AuthService+Cluster.swift`).
    let sessionObserver = Mutex<(@Sendable (SessionEvent) -> Void)?>(nil)
    /// Whether validated sessions are reused from memory; off while a cluster node cannot hear the others.
    let reusesSessions = Atomic<Bool>(true)
    private let loggerBox = Mutex(Logger(label: "causeway.auth"))
    /// How long a validated session is reused without reading the store again.
    static let cacheSeconds: Int64 = 5

    struct CachedSession {
        var user: UserRecord
        var session: SessionRecord
        var loadedAt: ParseDate
    }

    /// Validated sessions by token hash, with an index by user so that a user's change drops theirs only.
    struct SessionCache {
        var byHash: [String: CachedSession] = [:]
        var byUser: [String: Set<String>] = [:]
        /// Bumped by every removal: a validation that read the store before a removal does not cache its answer.
        var generation: UInt64 = 0

        mutating func remove(_ hash: String) {
            generation &+= 1
            guard let old = byHash.removeValue(forKey: hash) else { return }
            byUser[old.user.objectId]?.remove(hash)
            if byUser[old.user.objectId]?.isEmpty == true { byUser[old.user.objectId] = nil }
        }

        mutating func insert(_ hash: String, _ entry: CachedSession) {
            if byHash.count > 50_000 { self = SessionCache() }
            byHash[hash] = entry
            byUser[entry.user.objectId, default: []].insert(hash)
        }

        mutating func removeUser(_ userId: String) {
            generation &+= 1
            for hash in byUser.removeValue(forKey: userId) ?? [] { byHash[hash] = nil }
        }
    }

    public init(providers: [any IdentityProvider], store: any MetadataStore, settings: AuthSettings) {
        self.providers = providers
        self.store = store
        self.settings = settings
        // A store that keeps failure counters (PostgreSQL) shares them between gateway nodes.
        self.throttle = LoginThrottle(policy: settings.throttle, shared: store as? any SharedLoginCounters)
    }

    var logger: Logger { loggerBox.withLock { $0 } }

    public func start(logger: Logger) async throws {
        loggerBox.withLock { $0 = logger }
        try await store.start(logger: logger)
        for provider in providers { try await provider.start(logger: logger) }
    }

    public func shutdown() async {
        for provider in providers.reversed() { await provider.shutdown() }
        await store.shutdown()
    }

    /// User fields any provider fills in (queryable on `_User`).
    public var userFields: [String] {
        var seen: [String] = []
        for p in providers { for f in p.userFields where !seen.contains(f) { seen.append(f) } }
        return seen
    }

    public var signUpProvider: LocalIdentityProvider? {
        providers.lazy.compactMap { $0 as? LocalIdentityProvider }.first { $0.allowsSignUp }
    }

    // MARK: Sign-up and login

    public struct SignUp: Sendable {
        public var username: String
        public var password: String
        public var email: String?
        public var attributes: [String: String]
        public init(username: String, password: String, email: String?, attributes: [String: String]) {
            self.username = username
            self.password = password
            self.email = email
            self.attributes = attributes
        }
    }

    public func signUp(_ request: SignUp, installationId: String?) async throws -> (UserRecord, String) {
        guard let provider = signUpProvider else {
            throw GatewayError(.operationForbidden, "Sign-up is disabled on this server; accounts come from the directory.")
        }
        try provider.checkPasswordPolicy(request.password)
        if try await store.user(username: request.username) != nil {
            throw GatewayError(.usernameTaken, "Account already exists for this username.")
        }
        let now = ParseDate.now()
        let user = UserRecord(objectId: ObjectIdGenerator.make(), username: request.username, email: request.email,
                              provider: provider.name, passwordHash: try await provider.hashPassword(request.password),
                              attributes: request.attributes, roles: provider.roles(for: request.username),
                              rolesRefreshedAt: now, createdAt: now, updatedAt: now)
        try await store.insertUser(user)
        let token = try await openSession(for: user, action: "signup", installationId: installationId)
        logger.info("user signed up", metadata: ["causeway.user": .string(user.objectId), "causeway.provider": .string(provider.name)])
        return (user, token)
    }

    /// Checks the password with each provider in order. The same 101 answer whether the username is unknown
    /// or the password is wrong; 155 when throttled; 100 (retryable) when a directory that might know the
    /// user could not be asked.
    /// `forAdminPage`: the session is an admin-page sign-in (`SessionRecord.adminAction`, 8 hours), which the Parse
    /// API refuses and only `validateAdmin` accepts.
    public func logIn(username: String, password: String, address: String?, installationId: String?,
                      forAdminPage: Bool = false) async throws -> (UserRecord, String) {
        try await throttle.admit(username: username, address: address)
        var unreachable: GatewayError?
        for provider in providers {
            let outcome: AuthenticationOutcome
            do {
                outcome = try await provider.authenticate(username: username, password: password, store: store)
            } catch let error as GatewayError where error.code == .connectionFailed || error.code == .timeout {
                logger.warning("identity provider unreachable", metadata: ["causeway.provider": .string(provider.name), "error": .string(String(reflecting: error))])
                unreachable = error
                continue
            }
            switch outcome {
            case .unknownUser:
                continue
            case .rejected:
                await throttle.failed(username: username, address: address, logger: logger)
                logger.notice("login failed", metadata: ["causeway.provider": .string(provider.name), "causeway.username": .string(LogText.clean(username, limit: 128))])
                throw GatewayError.invalidCredentials()
            case .refused(let reason):
                await throttle.failed(username: username, address: address, logger: logger)
                logger.notice("login refused", metadata: ["causeway.provider": .string(provider.name), "causeway.username": .string(LogText.clean(username, limit: 128)), "reason": .string(reason)])
                throw GatewayError(.operationForbidden, reason)
            case .authenticated(let identity):
                await throttle.succeeded(username: username)
                let user = try await upsert(identity)
                let token = try await openSession(for: user, action: forAdminPage ? SessionRecord.adminAction : "login", installationId: installationId)
                logger.info("login", metadata: ["causeway.user": .string(user.objectId), "causeway.provider": .string(provider.name)])
                return (user, token)
            }
        }
        if let unreachable {
            throw GatewayError(.connectionFailed, "The directory cannot be reached; try again shortly.", detail: String(reflecting: unreachable))
        }
        await throttle.failed(username: username, address: address, logger: logger)
        throw GatewayError.invalidCredentials()
    }

    /// Creates the `_User` on a directory user's first login, refreshes attributes and roles afterwards.
    func upsert(_ identity: VerifiedIdentity) async throws -> UserRecord {
        let now = ParseDate.now()
        if var user = try await store.user(username: identity.username) {
            guard user.provider == identity.provider else {
                throw GatewayError(.usernameTaken, "Account already exists for this username.",
                                   detail: "username '\(identity.username)' belongs to provider \(user.provider), not \(identity.provider)")
            }
            apply(identity, to: &user, now: now)
            try await store.updateUser(user)
            invalidate(userId: user.objectId)
            return user
        }
        var user = UserRecord(objectId: ObjectIdGenerator.make(), username: identity.username, provider: identity.provider,
                              rolesRefreshedAt: now, createdAt: now, updatedAt: now)
        apply(identity, to: &user, now: now)
        try await store.insertUser(user)
        return user
    }

    private func apply(_ identity: VerifiedIdentity, to user: inout UserRecord, now: ParseDate) {
        let roles = identity.roles.sorted()
        if identity.email != nil { user.email = identity.email }
        if identity.externalId != nil { user.externalId = identity.externalId }
        if user.roles != roles || user.attributes != identity.attributes { user.updatedAt = now }
        user.attributes = identity.attributes
        user.roles = roles
        user.rolesRefreshedAt = now
    }

    func openSession(for user: UserRecord, action: String, installationId: String?) async throws -> String {
        let lifetime = action == SessionRecord.adminAction ? min(SessionRecord.adminLifetimeSeconds, settings.sessionLifetimeSeconds) : settings.sessionLifetimeSeconds
        let token = SessionToken.make()
        let now = ParseDate.now()
        let session = SessionRecord(objectId: ObjectIdGenerator.make(), tokenHash: SessionToken.hash(token), userId: user.objectId,
                                    action: action, authProvider: user.provider == "local" ? "password" : user.provider,
                                    installationId: installationId, createdAt: now,
                                    expiresAt: ParseDate(millisecondsSince1970: now.millisecondsSince1970 + Int64(lifetime) * 1000))
        try await store.insertSession(session)
        return token
    }

    // MARK: Sessions

    /// The user and session behind a token of the Parse API, or 209 (also for an admin-page sign-in's token).
    public func validate(token: String) async throws -> (UserRecord, SessionRecord) {
        let (user, session) = try await validateAny(token: token)
        guard session.action != SessionRecord.adminAction else { throw GatewayError(.invalidSessionToken, "Invalid session token") }
        return (user, session)
    }

    /// The user and session behind an admin-page sign-in's token, or 209 (also for a Parse API token).
    public func validateAdmin(token: String) async throws -> (UserRecord, SessionRecord) {
        let (user, session) = try await validateAny(token: token)
        guard session.action == SessionRecord.adminAction else { throw GatewayError(.invalidSessionToken, "Invalid session token") }
        return (user, session)
    }

    private func validateAny(token: String) async throws -> (UserRecord, SessionRecord) {
        let hash = SessionToken.hash(token)
        let now = ParseDate.now()
        let reuse = reusesSessions.load(ordering: .relaxed)
        if reuse, let hit = cache.withLock({ $0.byHash[hash] }), now.millisecondsSince1970 - hit.loadedAt.millisecondsSince1970 < AuthService.cacheSeconds * 1000,
           now < hit.session.expiresAt {
            return (hit.user, hit.session)
        }
        let generation = cache.withLock { $0.generation }
        guard let session = try await store.session(tokenHash: hash), now < session.expiresAt,
              let user = try await store.user(objectId: session.userId) else {
            cache.withLock { $0.remove(hash) }
            throw GatewayError(.invalidSessionToken, "Invalid session token")
        }
        if reuse {
            cache.withLock { c in
                if c.generation == generation { c.insert(hash, CachedSession(user: user, session: session, loadedAt: now)) }
            }
        }
        return (user, session)
    }

    /// The caller a user acts as.
    public func caller(for user: UserRecord) -> Caller {
        Caller(user: .init(objectId: user.objectId, username: user.username), roles: Set(user.roles), attributes: user.attributes)
    }

    public func logOut(token: String) async throws {
        let hash = SessionToken.hash(token)
        cache.withLock { $0.remove(hash) }
        try await store.deleteSession(tokenHash: hash)
        sessionEvents.publish(.ended(tokenHash: hash))
        // Again: a validation that read the session before it was deleted must not keep it.
        cache.withLock { $0.remove(hash) }
        announce(.sessionEnded(tokenHash: hash))
    }

    /// Drops cached sessions of a user (after their roles or account changed).
    public func invalidate(userId: String) {
        cache.withLock { $0.removeUser(userId) }
        sessionEvents.publish(.userChanged(userId: userId))
        announce(.userChanged(userId: userId))
    }

    public func deleteUser(_ user: UserRecord) async throws {
        try await store.deleteSessions(userId: user.objectId)
        try await store.deleteUser(objectId: user.objectId)
        invalidate(userId: user.objectId)
    }

    // MARK: Role refresh

    /// Re-reads roles of directory users with live sessions whose roles are older than `roleRefreshSeconds`.
    /// A user whose entry is gone loses their sessions; an unreachable directory leaves roles as they were.
    public func refreshRoles(now: ParseDate = .now()) async {
        let due: [UserRecord]
        do {
            _ = try await store.deleteExpiredSessions(before: now)
            due = try await store.usersWithSessions(now: now).filter {
                now.millisecondsSince1970 - $0.rolesRefreshedAt.millisecondsSince1970 >= Int64(settings.roleRefreshSeconds) * 1000
            }
        } catch {
            logger.error("cannot read sessions for the role refresh", metadata: ["error": .string(String(describing: error))])
            return
        }
        for var user in due {
            guard let provider = providers.first(where: { $0.name == user.provider }), provider.kind != "local" else { continue }
            do {
                if let identity = try await provider.refresh(user) {
                    apply(identity, to: &user, now: now)
                    try await store.updateUser(user)
                } else {
                    logger.notice("directory account gone or no longer allowed to log in; sessions revoked", metadata: ["causeway.user": .string(user.objectId)])
                    try await store.deleteSessions(userId: user.objectId)
                }
                invalidate(userId: user.objectId)
            } catch {
                logger.warning("role refresh failed; keeping the previous roles", metadata: [
                    "causeway.user": .string(user.objectId), "causeway.provider": .string(provider.name), "error": .string(String(describing: error)),
                ])
            }
        }
    }

    /// Re-reads directory roles every quarter of `roleRefreshSeconds` (at most every minute) until cancelled.
    func refreshRolesPeriodically() async {
        let interval = Duration.seconds(max(1, min(settings.roleRefreshSeconds / 4, 60)))
        while !Task.isCancelled {
            do { try await Task.sleep(for: interval) } catch { return }
            await refreshRoles()
        }
    }
}

extension GatewayError {
    public static func invalidCredentials() -> GatewayError { GatewayError(.objectNotFound, "Invalid username/password.") }
}

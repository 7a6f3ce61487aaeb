import Logging
import NIOPosix

/// Accounts kept in the gateway's metadata store, with Parse sign-up and PBKDF2 password hashes.
/// The embedded demo uses it, so it runs without a directory.
public final class LocalIdentityProvider: IdentityProvider {
    public let name: String
    public let kind = "local"
    public let allowsSignUp: Bool
    public let userFields: [String]
    /// Roles by username, and roles every local user has.
    let rolesByUser: [String: [String]]
    let defaultRoles: [String]
    let minPasswordLength: Int
    let hasher: PasswordHasher
    /// Threads for PBKDF2 (`hashingThreads`): started by `start`, stopped by `shutdown`.
    let hashing: NIOThreadPool
    /// Verified when the username is unknown, so that an unknown user costs as much time as a wrong password.
    private let decoyHash: String

    public init(name: String = "local", allowsSignUp: Bool = true, userFields: [String] = [], rolesByUser: [String: [String]] = [:],
                defaultRoles: [String] = [], minPasswordLength: Int = 8, passwordHashRounds: Int = PasswordHasher.minimumRounds,
                hashingThreads: Int = 2) {
        self.name = name
        self.allowsSignUp = allowsSignUp
        self.userFields = userFields
        self.rolesByUser = rolesByUser
        self.defaultRoles = defaultRoles
        self.minPasswordLength = minPasswordLength
        self.hasher = PasswordHasher(rounds: passwordHashRounds)
        self.hashing = NIOThreadPool(numberOfThreads: max(1, hashingThreads))
        self.decoyHash = (try? hasher.hash("causeway decoy password")) ?? ""
    }

    public func start(logger: Logger) async throws { hashing.start() }
    public func shutdown() async { try? await hashing.shutdownGracefully() }

    public func roles(for username: String) -> [String] {
        Array(Set(defaultRoles + (rolesByUser[username] ?? []))).sorted()
    }

    /// Every role this provider can give.
    public var allRoleNames: Set<String> { Set(defaultRoles + rolesByUser.values.flatMap { $0 }) }

    public func checkPasswordPolicy(_ password: String) throws(GatewayError) {
        if password.count < minPasswordLength {
            throw GatewayError(.validationError, "The password must have at least \(minPasswordLength) characters.")
        }
    }

    public func hashPassword(_ password: String) async throws -> String {
        let hasher = self.hasher
        return try await hashing.runBlocking("password hashing") { try hasher.hash(password) }
    }

    func verify(_ password: String, against stored: String) async throws -> Bool {
        let hasher = self.hasher
        return try await hashing.runBlocking("password hashing") { hasher.verify(password, against: stored) }
    }

    public func authenticate(username: String, password: String, store: any MetadataStore) async throws -> AuthenticationOutcome {
        guard let user = try await store.user(username: username), user.provider == name, let stored = user.passwordHash else {
            _ = try await verify(password, against: decoyHash)
            return .unknownUser
        }
        guard try await verify(password, against: stored) else { return .rejected }
        return .authenticated(VerifiedIdentity(provider: name, username: user.username, email: user.email,
                                               attributes: user.attributes, roles: Set(roles(for: user.username))))
    }

    public func refresh(_ user: UserRecord) async throws -> VerifiedIdentity? {
        VerifiedIdentity(provider: name, username: user.username, email: user.email, attributes: user.attributes, roles: Set(roles(for: user.username)))
    }

    public func verify(logger: Logger) async -> [CheckFinding] { [] }
}

/// Reads `kind: local` entries of `identityProviders`.
public struct LocalIdentityProviderFactory: IdentityProviderFactory {
    public let kind = "local"
    public init() {}

    public func makeProvider(name: String, reader r: YAMLReader, baseDirectory: String) throws(ConfigError) -> any IdentityProvider {
        let signUp = try r.bool("signUp", default: true)
        let fields = try r.optionalStringList("fields") ?? []
        for f in fields where !CollectionSchemaReader.isValidFieldName(f) || ["username", "email", "password", "authProvider"].contains(f) {
            throw r.error("fields", "'\(f)' cannot be a user field (letters, digits and _; not username, email, password or authProvider)")
        }
        var byUser: [String: [String]] = [:]
        if let rolesReader = try r.optionalChild("roles") {
            for name in rolesReader.keys { byUser[name] = try rolesReader.optionalStringList(name) ?? [] }
            try rolesReader.finish()
        }
        let defaults = try r.optionalStringList("defaultRoles") ?? []
        let minLength = try r.int("minPasswordLength", default: 8, range: 1...1024)
        let rounds = try r.int("passwordHashRounds", default: PasswordHasher.minimumRounds, range: PasswordHasher.minimumRounds...10_000_000)
        let threads = try r.int("hashingThreads", default: 2, range: 1...64)
        try r.finish()
        return LocalIdentityProvider(name: name, allowsSignUp: signUp, userFields: fields, rolesByUser: byUser, defaultRoles: defaults,
                                     minPasswordLength: minLength, passwordHashRounds: rounds, hashingThreads: threads)
    }
}

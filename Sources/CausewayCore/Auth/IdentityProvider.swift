import Logging

/// A source of user identities: the embedded user table (`local`) or a directory (`ldap`).
///
/// Providers are tried in configured order on each login. Implementations that block (libldap) run
/// their calls on their own threads, never on the caller's.
public protocol IdentityProvider: Sendable {
    var name: String { get }
    var kind: String { get }
    /// Whether `POST /users` may create accounts in this provider.
    var allowsSignUp: Bool { get }
    /// User fields this provider fills in (besides `username` and `email`), all strings.
    var userFields: [String] { get }

    func start(logger: Logger) async throws
    func shutdown() async

    /// Checks a username and password. Throws `GatewayError(.connectionFailed)` when the provider cannot
    /// be asked (directory unreachable), so that the caller can report a retryable error.
    func authenticate(username: String, password: String, store: any MetadataStore) async throws -> AuthenticationOutcome

    /// Reads the user's roles and attributes again (no password). `nil` when the entry no longer exists.
    func refresh(_ user: UserRecord) async throws -> VerifiedIdentity?

    /// Connects and reports problems for `causeway check`; changes nothing.
    func verify(logger: Logger) async -> [CheckFinding]
}

public enum AuthenticationOutcome: Sendable {
    case authenticated(VerifiedIdentity)
    /// The provider does not know this username: the next provider is asked.
    case unknownUser
    /// The provider knows the username and the password is wrong (or the provider cannot tell the two apart).
    case rejected
    /// The credentials are right but the account may not log in (disabled, locked, expired password).
    case refused(String)
}

/// Who a provider says the user is.
public struct VerifiedIdentity: Sendable, Equatable {
    public var provider: String
    public var username: String
    /// A stable link to the directory entry (`entryUUID`, `objectGUID`), when the provider has one.
    public var externalId: String?
    public var email: String?
    public var attributes: [String: String]
    public var roles: Set<String>

    public init(provider: String, username: String, externalId: String? = nil, email: String? = nil,
                attributes: [String: String] = [:], roles: Set<String> = []) {
        self.provider = provider
        self.username = username
        self.externalId = externalId
        self.email = email
        self.attributes = attributes
        self.roles = roles
    }
}

/// Builds identity providers of one kind from their entry in `causeway.yaml`.
public protocol IdentityProviderFactory: Sendable {
    var kind: String { get }
    /// `reader` is the provider's entry; `name` and `kind` are already consumed.
    func makeProvider(name: String, reader: YAMLReader, baseDirectory: String) throws(ConfigError) -> any IdentityProvider
}

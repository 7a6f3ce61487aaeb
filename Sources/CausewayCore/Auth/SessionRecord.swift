/// A `_Session`. The token itself is never stored, only its SHA-256.
public struct SessionRecord: Sendable, Equatable {
    public var objectId: String
    public var tokenHash: String
    public var userId: String
    /// `login` or `signup`; `admin` for a sign-in to the admin page (`SessionRecord.adminAction`), which the
    /// Parse API refuses.
    public var action: String
    public var authProvider: String
    public var installationId: String?
    public var createdAt: ParseDate
    public var expiresAt: ParseDate

    public init(objectId: String, tokenHash: String, userId: String, action: String, authProvider: String,
                installationId: String?, createdAt: ParseDate, expiresAt: ParseDate) {
        self.objectId = objectId
        self.tokenHash = tokenHash
        self.userId = userId
        self.action = action
        self.authProvider = authProvider
        self.installationId = installationId
        self.createdAt = createdAt
        self.expiresAt = expiresAt
    }

    /// The action of admin-page sign-ins: good for the admin page only, for at most `adminLifetimeSeconds`.
    public static let adminAction = "admin"
    public static let adminLifetimeSeconds = 8 * 3600
}

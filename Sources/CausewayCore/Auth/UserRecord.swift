/// A `_User` as the metadata store keeps it.
public struct UserRecord: Sendable, Equatable {
    public var objectId: String
    public var username: String
    public var email: String?
    /// The identity provider that owns the account (`local`, or a directory's name).
    public var provider: String
    /// The directory entry's stable id (`entryUUID`, `objectGUID`), for directory users.
    public var externalId: String?
    /// `pbkdf2-sha256$…` for local users; never for directory users.
    public var passwordHash: String?
    public var attributes: [String: String]
    public var roles: [String]
    public var rolesRefreshedAt: ParseDate
    public var createdAt: ParseDate
    public var updatedAt: ParseDate

    public init(objectId: String, username: String, email: String? = nil, provider: String, externalId: String? = nil,
                passwordHash: String? = nil, attributes: [String: String] = [:], roles: [String] = [],
                rolesRefreshedAt: ParseDate, createdAt: ParseDate, updatedAt: ParseDate) {
        self.objectId = objectId
        self.username = username
        self.email = email
        self.provider = provider
        self.externalId = externalId
        self.passwordHash = passwordHash
        self.attributes = attributes
        self.roles = roles
        self.rolesRefreshedAt = rolesRefreshedAt
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// The user as Parse returns it (never the password hash).
    public func parseObject(includeEmail: Bool) -> ParseObject {
        var fields: [String: ParseValue] = ["username": .string(username), "authProvider": .string(provider)]
        if includeEmail, let email { fields["email"] = .string(email) }
        for (k, v) in attributes { fields[k] = .string(v) }
        return ParseObject(objectId: objectId, createdAt: createdAt, updatedAt: updatedAt, fields: fields)
    }
}

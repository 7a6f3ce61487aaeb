/// Who is making a request, as established by the HTTP layer.
public struct Caller: Sendable {
    public struct User: Sendable, Hashable {
        public var objectId: String
        public var username: String
        public init(objectId: String, username: String) {
            self.objectId = objectId
            self.username = username
        }
    }

    public var isMaster: Bool
    public var user: User?
    public var roles: Set<String>
    /// The user's attributes from their identity provider (`department`, …), for row-level rules.
    public var attributes: [String: String]

    public init(isMaster: Bool = false, user: User? = nil, roles: Set<String> = [], attributes: [String: String] = [:]) {
        self.isMaster = isMaster
        self.user = user
        self.roles = roles
        self.attributes = attributes
    }

    public static let anonymous = Caller()
    public static let master = Caller(isMaster: true)
}

/// One change to an object: made through this gateway, announced by another node, or seen in a source.
/// Realtime subscriptions (LiveQuery) and cache coherence across nodes consume these from a `ChangeFeed`.
public struct ObjectChange: Sendable, Equatable {
    public enum Kind: String, Sendable { case create, update, delete }

    /// Where the change was observed.
    public enum Origin: Sendable, Equatable {
        /// A write through this gateway process.
        case local
        /// Another gateway node announced it (cluster coherence); `node` is its id.
        case node(String)
        /// The source itself reported it (a PostgreSQL trigger, a poll of a REST or SQLite source).
        case source
    }

    public var kind: Kind
    public var className: String
    /// The connector that serves `className`.
    public var connector: String
    public var objectId: String
    /// The object as stored after the write, when known (create, and update when the gateway read it back).
    public var object: ParseObject?
    /// The object before the write, when known (update and delete under rules, or when a consumer asked for images).
    public var original: ParseObject?
    public var origin: Origin

    public init(kind: Kind, className: String, connector: String, objectId: String,
                object: ParseObject? = nil, original: ParseObject? = nil, origin: Origin = .local) {
        self.kind = kind
        self.className = className
        self.connector = connector
        self.objectId = objectId
        self.object = object
        self.original = original
        self.origin = origin
    }
}

/// `liveQuery:` in `causeway.yaml`: Parse LiveQuery over WebSocket on the gateway's own port (off when absent).
///
/// ```yaml
/// liveQuery:
///   classes: [Workstation]          # classes clients may subscribe to
///   path: /parse                     # where the WebSocket upgrade is accepted (default: the mount path)
///   maxClients: 10000                # connections per node; more are refused
///   maxSubscriptionsPerClient: 100
///   sendQueueSize: 256               # messages waiting for a client; a client that falls further behind is closed
///   sendQueueBytes: 4194304          # and at most this many bytes of them
///   pingIntervalSeconds: 30          # WebSocket ping; no pong before the next ping closes the connection
///   maxMessageBytes: 65536           # largest message a client may send
///   rememberedObjectsBytes: 16777216 # last images of objects subscribers see (routes deletes announced without the object)
///   rememberedObjectsPerSubscription: 1000  # objects read when a subscription starts on a trigger-fed class
///   feedBufferBytes: 67108864       # changes waiting for the hub's fan-out (also at most 100,000 of them)
/// ```
public struct LiveQuerySettings: Sendable, Equatable {
    public var classes: [String] = []
    public var path: String?
    public var maxClients = 10_000
    public var maxSubscriptionsPerClient = 100
    public var sendQueueSize = 256
    /// The most bytes of messages waiting for one client (besides `sendQueueSize`); beyond it the client is
    /// closed as a slow client. A single larger message still goes to a client whose queue is empty.
    public var sendQueueBytes = 4 << 20
    public var pingIntervalSeconds = 30
    public var maxMessageBytes = 65_536
    /// Memory (bytes, as encoded JSON) for the last known images of objects that subscribers see, so that a
    /// delete or update announced without the object before it (PostgreSQL triggers, other nodes) reaches the
    /// subscribers who saw it; least recently used images go first (0: none kept).
    public var rememberedObjectsBytes = 16 << 20
    /// How many matching objects a new subscription on such a class reads (master key) to remember them.
    public var rememberedObjectsPerSubscription = 1000
    /// The most bytes of changes (`ObjectChange.approximateBytes`, images included) waiting for the hub's fan-out;
    /// beyond it (or beyond 100,000 changes) further changes are dropped for LiveQuery and counted.
    public var feedBufferBytes = 64 << 20

    public init(classes: [String] = []) { self.classes = classes }

    /// Reads the `liveQuery` section (nil when absent: LiveQuery is off).
    public static func read(_ r: YAMLReader?) throws(ConfigError) -> LiveQuerySettings? {
        guard let r else { return nil }
        var s = LiveQuerySettings()
        s.classes = try r.optionalStringList("classes") ?? []
        if s.classes.isEmpty { throw r.error("classes", "list the classes clients may subscribe to, e.g. classes: [Workstation]") }
        for name in s.classes where !CollectionSchemaReader.isValidClassName(name) {
            throw r.error("classes", "'\(name)' is not a class name")
        }
        if let path = try r.optionalString("path") {
            guard path.hasPrefix("/"), !path.contains(" "), !path.contains("?") else {
                throw r.error("path", "expected a path starting with '/', found '\(path)'")
            }
            s.path = path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path
        }
        s.maxClients = try r.int("maxClients", default: s.maxClients, range: 1...1_000_000)
        s.maxSubscriptionsPerClient = try r.int("maxSubscriptionsPerClient", default: s.maxSubscriptionsPerClient, range: 1...100_000)
        s.sendQueueSize = try r.int("sendQueueSize", default: s.sendQueueSize, range: 1...1_000_000)
        s.sendQueueBytes = try r.int("sendQueueBytes", default: s.sendQueueBytes, range: (64 << 10)...(1 << 30))
        s.pingIntervalSeconds = try r.int("pingIntervalSeconds", default: s.pingIntervalSeconds, range: 0...3600)
        s.maxMessageBytes = try r.int("maxMessageBytes", default: s.maxMessageBytes, range: 1024...16_777_216)
        s.rememberedObjectsBytes = try r.int("rememberedObjectsBytes", default: s.rememberedObjectsBytes, range: 0...(1 << 34))
        s.rememberedObjectsPerSubscription = try r.int("rememberedObjectsPerSubscription", default: s.rememberedObjectsPerSubscription,
                                                       range: 0...10_000)
        s.feedBufferBytes = try r.int("feedBufferBytes", default: s.feedBufferBytes, range: (1 << 20)...(1 << 34))
        try r.finish()
        return s
    }
}

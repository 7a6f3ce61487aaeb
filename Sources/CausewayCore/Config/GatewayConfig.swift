import Foundation

/// `Config/causeway.yaml`: everything about the gateway itself.
public struct GatewayConfig: Sendable {
    public struct Server: Sendable {
        public var host = "127.0.0.1"
        public var port = 1337
        /// Where the Parse API is mounted, e.g. `/parse`.
        public var mountPath = "/parse"
        /// The externally visible URL of the mount path, used in `Location` headers.
        public var publicURL: String?
        /// How long the server waits at start for every connector's first start attempt before it listens
        /// anyway (connectors still down then answer 100 and show in `/health` until they come up).
        public var startupWaitSeconds = 15
        /// On SIGTERM: how long readiness fails before the listener closes (load balancers notice), then how
        /// long in-flight requests may take before they are cancelled and the sources closed (Docs/deployment.md).
        public var shutdownDelaySeconds = 0
        public var drainSeconds = 10
        /// A connection with no request in progress for this long is closed (also one that never sends a
        /// request); WebSocket (LiveQuery) connections keep themselves alive with pings instead.
        public var idleTimeoutSeconds = 60
        /// Load balancers whose `X-Forwarded-For` names the client (`TrustedProxies`); empty: the header is ignored.
        public var trustedProxies = TrustedProxies()
        public init() {}
    }

    public struct App: Sendable {
        public var applicationId = ""
        /// Configured client keys by header: clientKey, javascriptKey, restAPIKey, dotNetKey.
        public var clientKeys: [String: String] = [:]
        public var masterKey: String?
        /// Addresses and CIDR blocks allowed to use the master key; empty means any.
        public var masterKeyIPs = IPAddressList()
        public init() {}
    }

    public struct Limits: Sendable {
        public var maxBodyBytes = 1_048_576
        public var defaultLimit = 100
        public var maxLimit = 1000
        /// The largest `skip` a find accepts (`limits.maxSkip`): keeps offsets and `skip + limit` far from
        /// overflow in every connector, and very deep offsets (slow in every source) out.
        public var maxSkip = 10_000_000
        public var maxBatchRequests = 50
        /// Bounds on `where` clauses (`maxWhereConditions`, `maxWhereDepth`, `maxWhereListValues`).
        public var whereClause = WhereLimits()
        /// How long one request may spend evaluating conditions and sorting in memory (`evaluationSeconds`).
        public var evaluationBudget: Duration = .seconds(5)
        /// Federation (`include`, sub-queries): see Docs/federation.md.
        public var federation = FederationLimits()
        public init() {}
    }

    public var server = Server()
    public var app = App()
    /// The embedded metadata store (users, sessions, roles): a SQLite file.
    public var metadataStorePath = "data/metadata.sqlite"
    /// `sqlite` (embedded, the default) or `postgres` (shared by several gateway nodes; its settings are read
    /// by the PostgreSQL module from `metadataStore.postgres`).
    public var metadataStoreKind = "sqlite"
    public var limits = Limits()
    public var auth = AuthSettings()
    /// Process-wide cap on cached bytes across connectors (`cache.maxBytes`).
    public var cacheMaxBytes = 256 * 1024 * 1024
    public var metrics = Metrics()
    /// The operator page (`admin:`).
    public var admin = AdminSettings()
    /// Parse LiveQuery (nil: off).
    public var liveQuery: LiveQuerySettings?

    /// `/metrics` (Prometheus text format).
    public struct Metrics: Sendable {
        public var enabled = true
        public var path = "/metrics"
        /// `Authorization: Bearer <token>` opens it; so does the master key.
        public var bearerToken: String?
        /// Client addresses and CIDR blocks allowed without a token.
        public var allowedIPs = IPAddressList()
        public init() {}
    }
    public var logLevel = "info"
    /// `logging.format`: `text` (default) or `json` (one object per line).
    public var logFormat = LogFormat.text
    /// Directory holding one YAML file per connector.
    public var connectorsDirectory = "Connectors"
    /// Where this configuration came from.
    public var file = ""

    public init() {}

    public static let logLevels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]

    /// Reads and validates `causeway.yaml`. Relative paths are resolved against the file's directory.
    public static func read(_ r: YAMLReader, baseDirectory: String) throws(ConfigError) -> GatewayConfig {
        var providers: [any IdentityProvider] = []
        return try read(r, baseDirectory: baseDirectory, identityFactories: [LocalIdentityProviderFactory()], providers: &providers)
    }

    /// Reads `causeway.yaml` including its `identityProviders`, built by the factory for each entry's kind.
    public static func read(_ r: YAMLReader, baseDirectory: String, identityFactories: [any IdentityProviderFactory],
                            providers: inout [any IdentityProvider]) throws(ConfigError) -> GatewayConfig {
        var c = GatewayConfig()
        c.file = r.file
        if let s = try r.optionalChild("server") {
            c.server.host = try s.optionalString("host") ?? c.server.host
            c.server.port = try s.int("port", default: c.server.port, range: 0...65535)
            if let mount = try s.optionalString("mountPath") {
                guard mount.hasPrefix("/"), !mount.contains(" "), !mount.contains("?") else {
                    throw s.error("mountPath", "expected a path starting with '/', found '\(mount)'")
                }
                c.server.mountPath = mount.count > 1 && mount.hasSuffix("/") ? String(mount.dropLast()) : mount
            }
            c.server.startupWaitSeconds = try s.int("startupWaitSeconds", default: c.server.startupWaitSeconds, range: 0...3600)
            c.server.shutdownDelaySeconds = try s.int("shutdownDelaySeconds", default: c.server.shutdownDelaySeconds, range: 0...600)
            c.server.drainSeconds = try s.int("drainSeconds", default: c.server.drainSeconds, range: 0...3600)
            c.server.idleTimeoutSeconds = try s.int("idleTimeoutSeconds", default: c.server.idleTimeoutSeconds, range: 1...3600)
            c.server.trustedProxies = TrustedProxies(try s.ipAddressList("trustedProxies"))
            c.server.publicURL = try s.optionalString("publicURL")
            if let url = c.server.publicURL, !(url.hasPrefix("http://") || url.hasPrefix("https://")) {
                throw s.error("publicURL", "expected an http:// or https:// URL, found '\(url)'")
            }
            try s.finish()
        }
        let app = try r.child("app")
        c.app.applicationId = try app.string("applicationId")
        if c.app.applicationId.isEmpty { throw app.error("applicationId", "must not be empty") }
        for key in ["clientKey", "javascriptKey", "restAPIKey", "dotNetKey"] {
            if let v = try app.optionalString(key), !v.isEmpty { c.app.clientKeys[key] = v }
        }
        if let master = try app.optionalString("masterKey"), !master.isEmpty {
            if master.count < 12 { throw app.error("masterKey", "must be at least 12 characters long") }
            c.app.masterKey = master
        }
        c.app.masterKeyIPs = try app.ipAddressList("masterKeyIps")
        try app.finish()
        if let m = try r.optionalChild("metadataStore") {
            if m.has("postgres") {
                // Checked as a mapping here; its keys are read by CausewayPostgres (PostgresMetadataStore+Config).
                _ = try m.child("postgres")
                if m.has("sqlite") { throw m.error("postgres", "choose one metadata store: sqlite or postgres, not both") }
                c.metadataStoreKind = "postgres"
            } else {
                let path = try m.string("sqlite")
                c.metadataStorePath = standardized(path.hasPrefix("/") ? path : baseDirectory + "/" + path)
            }
            try m.finish()
        } else {
            c.metadataStorePath = standardized(baseDirectory + "/../data/metadata.sqlite")
        }
        for entry in try r.optionalList("identityProviders") ?? [] {
            let kind = try entry.string("kind")
            let name = try entry.optionalString("name") ?? kind
            guard let factory = identityFactories.first(where: { $0.kind == kind }) else {
                throw entry.error("kind", "unknown identity provider kind '\(kind)' (expected one of: \(identityFactories.map(\.kind).joined(separator: ", ")))")
            }
            guard CollectionSchemaReader.isValidClassName(name.replacingOccurrences(of: "-", with: "_")) else {
                throw entry.error("name", "provider names use letters, digits, - and _, found '\(name)'")
            }
            if providers.contains(where: { $0.name == name }) {
                throw entry.error("name", "another identity provider is already named '\(name)'")
            }
            providers.append(try factory.makeProvider(name: name, reader: entry, baseDirectory: baseDirectory))
        }
        if let cache = try r.optionalChild("cache") {
            if let text = try cache.optionalString("maxBytes") {
                guard let bytes = CachePolicy.bytes(text), bytes >= 0 else { throw cache.error("maxBytes", "expected a size such as 268435456, 64MiB or 1GiB, found '\(text)'") }
                c.cacheMaxBytes = bytes
            }
            try cache.finish()
        }
        if let m = try r.optionalChild("metrics") {
            c.metrics.enabled = try m.bool("enabled", default: true)
            if let path = try m.optionalString("path") {
                guard path.hasPrefix("/") else { throw m.error("path", "must start with /") }
                c.metrics.path = path
            }
            if let token = try m.optionalString("bearerToken"), !token.isEmpty {
                guard token.count >= 16 else { throw m.error("bearerToken", "use at least 16 characters") }
                c.metrics.bearerToken = token
            }
            c.metrics.allowedIPs = try m.ipAddressList("allowedIPs")
            try m.finish()
        }
        if let a = try r.optionalChild("admin") { c.admin = try AdminSettings.read(a, mountPath: c.server.mountPath) }
        c.auth = try AuthSettings.read(sessions: try r.optionalChild("sessions"), throttle: try r.optionalChild("loginThrottle"))
        if let l = try r.optionalChild("limits") {
            c.limits.maxBodyBytes = try l.int("maxBodyBytes", default: c.limits.maxBodyBytes, range: 1024...1_073_741_824)
            c.limits.defaultLimit = try l.int("defaultLimit", default: c.limits.defaultLimit, range: 1...100_000)
            c.limits.maxLimit = try l.int("maxLimit", default: c.limits.maxLimit, range: 1...1_000_000)
            c.limits.maxSkip = try l.int("maxSkip", default: c.limits.maxSkip, range: 0...1_000_000_000)
            c.limits.maxBatchRequests = try l.int("maxBatchRequests", default: c.limits.maxBatchRequests, range: 1...10_000)
            c.limits.evaluationBudget = .seconds(try l.int("evaluationSeconds", default: 5, range: 1...3600))
            c.limits.whereClause.maxConditions = try l.int("maxWhereConditions", default: c.limits.whereClause.maxConditions, range: 1...100_000)
            c.limits.whereClause.maxDepth = try l.int("maxWhereDepth", default: c.limits.whereClause.maxDepth, range: 1...64)
            c.limits.whereClause.maxListValues = try l.int("maxWhereListValues", default: c.limits.whereClause.maxListValues, range: 1...1_000_000)
            try c.limits.federation.read(l)
            if c.limits.defaultLimit > c.limits.maxLimit {
                throw l.error("defaultLimit", "must not exceed maxLimit (\(c.limits.maxLimit))")
            }
            try l.finish()
        }
        if let log = try r.optionalChild("logging") {
            if let level = try log.optionalString("level") {
                guard GatewayConfig.logLevels.contains(level) else {
                    throw log.error("level", "expected one of \(GatewayConfig.logLevels.joined(separator: ", ")), found '\(level)'")
                }
                c.logLevel = level
            }
            if let format = try log.optionalString("format") {
                guard let parsed = LogFormat(rawValue: format) else {
                    throw log.error("format", "expected one of \(LogFormat.allCases.map(\.rawValue).joined(separator: ", ")), found '\(format)'")
                }
                c.logFormat = parsed
            }
            try log.finish()
        }
        c.liveQuery = try LiveQuerySettings.read(try r.optionalChild("liveQuery"))
        let dir = try r.optionalString("connectorsDirectory") ?? "../Connectors"
        c.connectorsDirectory = standardized(dir.hasPrefix("/") ? dir : baseDirectory + "/" + dir)
        try r.finish()
        return c
    }
}

/// `a/b/../c` → `a/c`, for paths shown in messages.
func standardized(_ path: String) -> String {
    (path as NSString).standardizingPath
}

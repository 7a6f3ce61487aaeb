import CausewayCore
import Foundation

/// A `kind: rest` connector file. Reference: Docs/connectors/rest.md.
struct RESTSettings: Sendable {
    enum Auth: Sendable {
        case none
        case header(name: String, value: String)
        case basic(user: String, password: String)
        case bearer(String)
        /// OAuth2 client credentials: a token fetched from `tokenURL`, cached, refreshed before it expires.
        case oauth2(tokenURL: String, clientId: String, clientSecret: String, scope: String?)
    }

    enum ForwardedIdentity: String, Sendable, CaseIterable { case username, objectId }

    var baseURL: String
    var auth = Auth.none
    var caFile: String?
    var clientCertificateFile: String?
    var clientKeyFile: String?
    var insecureSkipVerify = false
    /// Header carrying the calling user's identity to the API (nil: not sent).
    var forwardIdentityHeader: String?
    var forwardIdentityValue = ForwardedIdentity.username
    var connectTimeoutMs = 5_000
    var requestTimeoutMs = 15_000
    var retries = 2
    var retryBackoffMs = 200
    var maxConcurrency = 16
    var maxResponseBytes = 16 * 1024 * 1024
    var circuitBreaker = RESTCircuitBreaker.Settings()

    static func read(_ r: YAMLReader, baseDirectory: String) throws(ConfigError) -> RESTSettings {
        let c = try r.child("connection")
        let base = try c.collect { () throws(ConfigError) -> String in
            let base = try c.string("baseURL")
            guard let url = URL(string: base), let scheme = url.scheme, ["http", "https"].contains(scheme.lowercased()), url.host != nil else {
                throw c.error("baseURL", "expected an http:// or https:// URL, found '\(base)'")
            }
            return base
        } ?? "http://invalid.invalid"  // reported; reading goes on to find the file's other problems
        var s = RESTSettings(baseURL: base.hasSuffix("/") ? String(base.dropLast()) : base)
        _ = try c.collect { () throws(ConfigError) in try readAuth(c, into: &s) }
        _ = try c.collect { () throws(ConfigError) in try readTLS(c, baseDirectory: baseDirectory, into: &s) }
        _ = try c.collect { () throws(ConfigError) in try readLimits(c, into: &s) }
        try c.finish()
        return s
    }

    private static func readAuth(_ c: YAMLReader, into s: inout RESTSettings) throws(ConfigError) {
        if let a = try c.optionalChild("auth") {
            let kind = try a.string("type")
            switch kind {
            case "none": s.auth = .none
            case "header": s.auth = .header(name: try a.string("name"), value: try a.string("value"))
            case "basic": s.auth = .basic(user: try a.string("user"), password: try a.string("password"))
            case "bearer": s.auth = .bearer(try a.string("token"))
            case "oauth2":
                let tokenURL = try a.string("tokenURL")
                guard tokenURL.hasPrefix("http://") || tokenURL.hasPrefix("https://") else { throw a.error("tokenURL", "expected an http(s) URL") }
                s.auth = .oauth2(tokenURL: tokenURL, clientId: try a.string("clientId"), clientSecret: try a.string("clientSecret"),
                                 scope: try a.optionalString("scope"))
            default: throw a.error("type", "expected none, header, basic, bearer or oauth2, found '\(kind)'")
            }
            try a.finish()
        }
    }

    private static func readTLS(_ c: YAMLReader, baseDirectory: String, into s: inout RESTSettings) throws(ConfigError) {
        if let t = try c.optionalChild("tls") {
            if let ca = try t.optionalString("caFile") {
                let path = ca.hasPrefix("/") ? ca : baseDirectory + "/" + ca
                guard FileManager.default.isReadableFile(atPath: path) else { throw t.error("caFile", "cannot read \(path)") }
                s.caFile = path
            }
            for key in ["clientCertificate", "clientKey"] {
                guard let given = try t.optionalString(key) else { continue }
                let path = given.hasPrefix("/") ? given : baseDirectory + "/" + given
                guard FileManager.default.isReadableFile(atPath: path) else { throw t.error(key, "cannot read \(path)") }
                if key == "clientKey" { s.clientKeyFile = path } else { s.clientCertificateFile = path }
            }
            if (s.clientCertificateFile == nil) != (s.clientKeyFile == nil) {
                throw t.error("clientCertificate", "give both clientCertificate and clientKey")
            }
            s.insecureSkipVerify = try t.bool("insecureSkipVerify", default: false)
            try t.finish()
        }
    }

    private static func readLimits(_ c: YAMLReader, into s: inout RESTSettings) throws(ConfigError) {
        // One key at a time, so a bad value is reported and the keys after it are still read (and known).
        if let f = try c.collect({ () throws(ConfigError) in try c.optionalChild("forwardIdentity") }), let f {
            _ = try c.collect { () throws(ConfigError) in
                s.forwardIdentityHeader = try f.string("header")
                s.forwardIdentityValue = try f.choice("value", default: .username, ForwardedIdentity.self)!
                try f.finish()
            }
        }
        if let v = try c.collect({ () throws(ConfigError) in try c.int("connectTimeoutSeconds", default: 5, range: 1...300) }) { s.connectTimeoutMs = v * 1000 }
        if let v = try c.collect({ () throws(ConfigError) in try c.int("requestTimeoutSeconds", default: 15, range: 1...600) }) { s.requestTimeoutMs = v * 1000 }
        if let v = try c.collect({ () throws(ConfigError) in try c.int("retries", default: 2, range: 0...10) }) { s.retries = v }
        if let v = try c.collect({ () throws(ConfigError) in try c.int("retryBackoffMilliseconds", default: 200, range: 0...60_000) }) { s.retryBackoffMs = v }
        if let v = try c.collect({ () throws(ConfigError) in try c.int("maxConcurrency", default: 16, range: 1...1024) }) { s.maxConcurrency = v }
        _ = try c.collect { () throws(ConfigError) in
            if let text = try c.optionalString("maxResponseBytes") {
                guard let b = CachePolicy.bytes(text), b >= 1024 else { throw c.error("maxResponseBytes", "expected a size such as 16MiB, found '\(text)'") }
                s.maxResponseBytes = b
            }
        }
        _ = try c.collect { () throws(ConfigError) in
            if let b = try c.optionalChild("circuitBreaker") {
                s.circuitBreaker.failureThreshold = try b.int("failures", default: 5, range: 0...1000)
                s.circuitBreaker.coolDown = .seconds(try b.int("coolDownSeconds", default: 30, range: 1...3600))
                if let path = try b.optionalString("healthPath") {
                    guard path.hasPrefix("/") else { throw b.error("healthPath", "paths start with / (they are appended to baseURL)") }
                    s.circuitBreaker.healthPath = path
                }
                try b.finish()
            }
        }
    }
}

import CausewayCore
import NIOSSL
import PostgresNIO

/// The `connection:` block of a `kind: postgres` connector.
struct PostgresConnectionSettings: Sendable {
    enum TLSMode: String, Sendable, CaseIterable {
        case disable
        /// Encrypt, but do not verify the server's certificate.
        case require
        /// Encrypt and verify the certificate chain against `caFile` and the host name.
        case verifyFull = "verify-full"
    }

    var host = "127.0.0.1"
    var port = 5432
    var database = "postgres"
    var user = "postgres"
    var password: String?
    var tls = TLSMode.disable
    var caFile: String?
    var poolSize = 10
    var statementTimeoutMs = 10_000
    var connectTimeoutMs = 5_000

    static func read(_ r: YAMLReader, baseDirectory: String) throws(ConfigError) -> PostgresConnectionSettings {
        var s = PostgresConnectionSettings()
        s.host = try r.optionalString("host") ?? s.host
        s.port = try r.int("port", default: s.port, range: 1...65535)
        s.database = try r.string("database")
        s.user = try r.string("user")
        s.password = try r.optionalString("password")
        s.tls = try r.choice("tls", default: .disable, TLSMode.self)!
        if let ca = try r.optionalString("caFile") {
            s.caFile = ca.hasPrefix("/") ? ca : baseDirectory + "/" + ca
        }
        if s.tls == .verifyFull, s.caFile == nil {
            throw r.error("tls", "verify-full needs caFile (the certificate authority that signed the server's certificate)")
        }
        s.poolSize = try r.int("poolSize", default: s.poolSize, range: 1...1000)
        s.statementTimeoutMs = try r.int("statementTimeoutMs", default: s.statementTimeoutMs, range: 0...86_400_000)
        s.connectTimeoutMs = try r.int("connectTimeoutMs", default: s.connectTimeoutMs, range: 100...600_000)
        try r.finish()
        return s
    }

    func clientConfiguration(connectorName: String) throws -> PostgresClient.Configuration {
        let tlsConfig: PostgresClient.Configuration.TLS
        switch tls {
        case .disable:
            tlsConfig = .disable
        case .require:
            var t = TLSConfiguration.makeClientConfiguration()
            t.certificateVerification = .none
            tlsConfig = .require(t)
        case .verifyFull:
            var t = TLSConfiguration.makeClientConfiguration()
            t.certificateVerification = .fullVerification
            t.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile!))
            tlsConfig = .require(t)
        }
        var c = PostgresClient.Configuration(host: host, port: port, username: user, password: password, database: database, tls: tlsConfig)
        c.options.maximumConnections = poolSize
        c.options.connectTimeout = .milliseconds(connectTimeoutMs)
        c.options.additionalStartupParameters = [("statement_timeout", String(statementTimeoutMs)), ("application_name", "causeway/\(connectorName)")]
        return c
    }
}

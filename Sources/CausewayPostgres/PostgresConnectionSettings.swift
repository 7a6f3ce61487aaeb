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
    var transactionPoolSize = 4
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
        s.transactionPoolSize = try r.int("transactionPoolSize", default: s.transactionPoolSize, range: 1...1000)
        s.statementTimeoutMs = try r.int("statementTimeoutMs", default: s.statementTimeoutMs, range: 0...86_400_000)
        s.connectTimeoutMs = try r.int("connectTimeoutMs", default: s.connectTimeoutMs, range: 100...600_000)
        try r.finish()
        return s
    }

    /// The TLS settings, or nil when TLS is off.
    func tlsConfiguration() throws -> TLSConfiguration? {
        switch tls {
        case .disable:
            return nil
        case .require:
            var t = TLSConfiguration.makeClientConfiguration()
            t.certificateVerification = .none
            return t
        case .verifyFull:
            var t = TLSConfiguration.makeClientConfiguration()
            t.certificateVerification = .fullVerification
            t.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile!))
            return t
        }
    }

    /// Session settings; `application_name` is `causeway/<connector>` on the statement connections and
    /// `causeway/<connector>/tx` on the client's (transactions, introspection), as pg_stat_activity shows.
    func startupParameters(connectorName: String, role: String? = nil) -> [(String, String)] {
        [("statement_timeout", String(statementTimeoutMs)), ("application_name", "causeway/\(connectorName)" + (role.map { "/" + $0 } ?? ""))]
    }

    /// The pooled client used for transactions and introspection (at most `transactionPoolSize` connections,
    /// opened when needed).
    func clientConfiguration(connectorName: String) throws -> PostgresClient.Configuration {
        var c = PostgresClient.Configuration(host: host, port: port, username: user, password: password, database: database,
                                             tls: try tlsConfiguration().map { .require($0) } ?? .disable)
        c.options.maximumConnections = transactionPoolSize
        c.options.minimumConnections = 0
        c.options.connectTimeout = .milliseconds(connectTimeoutMs)
        c.options.additionalStartupParameters = startupParameters(connectorName: connectorName, role: "tx")
        return c
    }

    /// The configuration of each of the `poolSize` connections that serve statements.
    func connectionConfiguration(connectorName: String) throws -> PostgresConnection.Configuration {
        let tlsMode: PostgresConnection.Configuration.TLS = try tlsConfiguration().map { .require(try NIOSSLContext(configuration: $0)) } ?? .disable
        var c = PostgresConnection.Configuration(host: host, port: port, username: user, password: password, database: database, tls: tlsMode)
        c.options.connectTimeout = .milliseconds(Int64(connectTimeoutMs))
        c.options.additionalStartupParameters = startupParameters(connectorName: connectorName)
        return c
    }
}

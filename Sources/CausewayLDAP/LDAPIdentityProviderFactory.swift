import CausewayCore
import Foundation

/// Reads `kind: ldap` entries of `identityProviders`.
public struct LDAPIdentityProviderFactory: IdentityProviderFactory {
    public let kind = "ldap"
    public init() {}

    public func makeProvider(name: String, reader: YAMLReader, baseDirectory: String) throws(ConfigError) -> any IdentityProvider {
        var settings = try LDAPSettings.read(reader)
        func absolute(_ path: String?) -> String? {
            guard let path else { return nil }
            return path.hasPrefix("/") ? path : baseDirectory + "/" + path
        }
        settings.caFile = absolute(settings.caFile)
        settings.clientCertificateFile = absolute(settings.clientCertificateFile)
        settings.clientKeyFile = absolute(settings.clientKeyFile)
        for (key, path) in [("caFile", settings.caFile), ("clientCertificate", settings.clientCertificateFile), ("clientKey", settings.clientKeyFile)] {
            if let path, !FileManager.default.isReadableFile(atPath: path) { throw reader.error(key, "cannot read \(path)") }
        }
        try reader.finish()
        return LDAPIdentityProvider(name: name, settings: settings)
    }
}

import CausewayCore
import Foundation

/// One directory's configuration (an `identityProviders` entry of kind `ldap`). Reference: Docs/auth.md.
struct LDAPSettings: Sendable {
    enum BindStrategy: String, Sendable, CaseIterable {
        /// Find the entry with a service account, then bind as its DN.
        case searchThenBind
        /// Bind as a DN built from a template.
        case directBind
        /// Active Directory: bind as `username@suffix`.
        case userPrincipalName
        /// Active Directory: bind as `DOMAIN\username`.
        case downLevel
    }
    enum StartTLS: String, Sendable, CaseIterable { case off, required }

    var urls: [String]
    var startTLS = StartTLS.off
    var caFile: String?
    var clientCertificateFile: String?
    var clientKeyFile: String?
    var verifyCertificates = true
    var connectTimeoutMs = 5000
    var operationTimeoutMs = 5000
    var threads = 4
    /// How long a URL that failed is passed over (failover).
    var failoverBackoffSeconds = 30

    var strategy = BindStrategy.searchThenBind
    var serviceDN: String?
    var servicePassword: String?
    var baseDN: String?
    var userFilter = "(&(objectClass=person)(uid={username}))"
    var dnTemplate: String?
    var upnSuffix: String?
    var domain: String?
    /// Attribute whose value becomes the Parse username (default: the name as typed).
    var usernameAttribute: String?
    /// `entryUUID` (OpenLDAP) or `objectGUID` (Active Directory).
    var idAttribute = "entryUUID"
    var emailAttribute: String? = "mail"
    /// Parse user field → directory attribute.
    var attributes: [String: String] = [:]

    var memberOfAttribute: String?
    var groupBaseDN: String?
    var groupFilter: String?
    var nestedGroups = false
    /// `groups.nestedMethod`: nested groups from the entry's `tokenGroups` (security groups only), or
    /// (`inChain`) always from the 1.2.840.113556.1.4.1941 search (also distribution groups; slower).
    var useTokenGroups = true
    /// How long a SID → group answer is reused by logins (the role refresh always asks the directory).
    var sidCacheSeconds = 60
    var pageSize = 500
    var maxEntries = 10_000
    /// Group DN or CN (lowercased) → role names.
    var roleMap: [String: [String]] = [:]
    var unmappedGroupsByCN = false
    var defaultRoles: [String] = []

    var usesTLS: Bool { startTLS == .required || urls.contains { $0.lowercased().hasPrefix("ldaps://") } }
    var hasServiceAccount: Bool { serviceDN != nil && !(servicePassword ?? "").isEmpty }

    /// `DC=corp,DC=example,DC=com` → `corp.example.com` (the AD domain's DNS name), from `bind.baseDN`.
    var dnsDomain: String? {
        guard let base = baseDN else { return nil }
        let labels = base.split(separator: ",").compactMap { rdn -> String? in
            let parts = rdn.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, parts[0].trimmingCharacters(in: .whitespaces).lowercased() == "dc" else { return nil }
            return parts[1].trimmingCharacters(in: .whitespaces)
        }
        return labels.isEmpty ? nil : labels.joined(separator: ".")
    }

    static func read(_ r: YAMLReader) throws(ConfigError) -> LDAPSettings {
        guard let urls = try r.optionalStringList("urls"), !urls.isEmpty else { throw r.error("urls", "missing key 'urls': list the directory URLs (ldap:// or ldaps://), tried in order") }
        for url in urls where !(url.lowercased().hasPrefix("ldap://") || url.lowercased().hasPrefix("ldaps://")) {
            throw r.error("urls", "'\(url)' is not an ldap:// or ldaps:// URL")
        }
        var s = LDAPSettings(urls: urls)
        s.startTLS = try r.choice("startTLS", default: .off, StartTLS.self)!
        s.caFile = try r.optionalString("caFile")
        s.clientCertificateFile = try r.optionalString("clientCertificate")
        s.clientKeyFile = try r.optionalString("clientKey")
        s.verifyCertificates = try r.bool("verifyCertificates", default: true)
        s.connectTimeoutMs = try r.int("connectTimeoutSeconds", default: 5, range: 1...300) * 1000
        s.operationTimeoutMs = try r.int("timeoutSeconds", default: 5, range: 1...300) * 1000
        s.threads = try r.int("threads", default: 4, range: 1...64)
        s.failoverBackoffSeconds = try r.int("failoverBackoffSeconds", default: 30, range: 1...3600)
        s.usernameAttribute = try r.optionalString("usernameAttribute")
        s.idAttribute = try r.optionalString("idAttribute") ?? s.idAttribute
        s.emailAttribute = try r.optionalString("emailAttribute") ?? s.emailAttribute
        if let a = try r.optionalChild("attributes") {
            for key in a.keys {
                guard CollectionSchemaReader.isValidFieldName(key), !["username", "email", "password", "authProvider"].contains(key) else {
                    throw a.error(key, "'\(key)' cannot be a user field (letters, digits and _; not username, email, password or authProvider)")
                }
                s.attributes[key] = try a.string(key)
            }
            try a.finish()
        }

        let b = try r.child("bind")
        s.strategy = try b.choice("strategy", default: .searchThenBind, BindStrategy.self)!
        s.serviceDN = try b.optionalString("serviceDN")
        s.servicePassword = try b.optionalString("servicePassword")
        s.baseDN = try b.optionalString("baseDN")
        s.userFilter = try b.optionalString("filter") ?? s.userFilter
        s.dnTemplate = try b.optionalString("dnTemplate")
        s.upnSuffix = try b.optionalString("upnSuffix")
        s.domain = try b.optionalString("domain")
        switch s.strategy {
        case .searchThenBind:
            guard s.serviceDN != nil else { throw b.error("serviceDN", "missing key 'serviceDN': searchThenBind needs a service account DN") }
            guard !(s.servicePassword ?? "").isEmpty else { throw b.error("servicePassword", "missing key 'servicePassword': give the service account's password with ${ENV} or ${file:…}") }
            guard s.baseDN != nil else { throw b.error("baseDN", "missing key 'baseDN': where to search for users") }
            guard s.userFilter.contains("{username}") else { throw b.error("filter", "the filter must contain {username}") }
        case .directBind:
            guard let t = s.dnTemplate, t.contains("{username}") else { throw b.error("dnTemplate", "missing key 'dnTemplate': directBind needs a DN template containing {username}") }
        case .userPrincipalName:
            guard s.upnSuffix != nil else { throw b.error("upnSuffix", "missing key 'upnSuffix': userPrincipalName binds as username@upnSuffix") }
            guard s.baseDN != nil else { throw b.error("baseDN", "missing key 'baseDN': where to find the user's entry after the bind") }
        case .downLevel:
            guard s.domain != nil else { throw b.error("domain", "missing key 'domain': downLevel binds as DOMAIN\\username") }
            guard s.baseDN != nil else { throw b.error("baseDN", "missing key 'baseDN': where to find the user's entry after the bind") }
        }
        try b.finish()

        if let g = try r.optionalChild("groups") {
            s.memberOfAttribute = try g.optionalString("memberOfAttribute")
            if let search = try g.optionalChild("search") {
                s.groupBaseDN = try search.string("baseDN")
                s.groupFilter = try search.string("filter")
                guard s.groupFilter!.contains("{dn}") || s.groupFilter!.contains("{username}") else {
                    throw search.error("filter", "the group filter must contain {dn} (member DN) or {username} (memberUid)")
                }
                try search.finish()
            }
            s.nestedGroups = try g.bool("nested", default: false)
            if s.nestedGroups && s.groupBaseDN == nil {
                throw g.error("nested", "nested groups need groups.search.baseDN (searched with the 1.2.840.113556.1.4.1941 rule)")
            }
            let method = try g.optionalString("nestedMethod") ?? "tokenGroups"
            guard ["tokenGroups", "inChain"].contains(method) else {
                throw g.error("nestedMethod", "expected 'tokenGroups' or 'inChain', found '\(method)'")
            }
            s.useTokenGroups = method == "tokenGroups"
            s.sidCacheSeconds = try g.int("sidCacheSeconds", default: 60, range: 0...86_400)
            s.pageSize = try g.int("pageSize", default: 500, range: 0...10_000)
            s.maxEntries = try g.int("maxGroups", default: 10_000, range: 1...1_000_000)
            if let roles = try g.optionalChild("roles") {
                for key in roles.keys {
                    s.roleMap[key.lowercased()] = try roles.optionalStringList(key) ?? []
                }
                try roles.finish()
            }
            let rule = try g.optionalString("unmappedGroups") ?? "ignore"
            guard ["ignore", "cn"].contains(rule) else { throw g.error("unmappedGroups", "expected 'ignore' or 'cn', found '\(rule)'") }
            s.unmappedGroupsByCN = rule == "cn"
            s.defaultRoles = try g.optionalStringList("defaultRoles") ?? []
            try g.finish()
        }
        return s
    }
}

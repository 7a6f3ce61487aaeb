import CausewayCore
import CLDAP
import Logging
import NIOPosix
import Synchronization

/// Logs users in against an LDAP directory or Active Directory with OpenLDAP's libldap.
///
/// libldap blocks, so every directory call runs on this provider's own threads (`threads` in the
/// configuration: an `NIOThreadPool` that `start` starts and `shutdown` stops) with a timeout, never on an
/// event loop or a Swift concurrency thread. Service-account connections are pooled; each user bind uses a
/// connection of its own that is closed afterwards.
/// Usernames are escaped before they enter a filter (RFC 4515) or a DN (RFC 4514), and an empty password is
/// refused before any bind (an empty simple bind succeeds anonymously on many servers).
public final class LDAPIdentityProvider: IdentityProvider {
    public let name: String
    public let kind = "ldap"
    public let allowsSignUp = false
    let settings: LDAPSettings
    let threads: NIOThreadPool
    private let idle = Mutex<[PooledConnection]>([])
    private let loggerBox = Mutex(Logger(label: "causeway.ldap"))

    init(name: String, settings: LDAPSettings) {
        self.name = name
        self.settings = settings
        self.threads = NIOThreadPool(numberOfThreads: max(1, settings.threads))
    }

    public var userFields: [String] { settings.attributes.keys.sorted() }
    var logger: Logger { loggerBox.withLock { $0 } }

    public func start(logger: Logger) async throws {
        loggerBox.withLock { $0 = logger }
        threads.start()
    }

    public func shutdown() async {
        let connections = idle.withLock { c -> [PooledConnection] in defer { c = [] }; return c }
        _ = try? await threads.runIfActive { for c in connections { c.connection.close() } }
        try? await threads.shutdownGracefully()
    }

    // MARK: Login

    public func authenticate(username: String, password: String, store: any MetadataStore) async throws -> AuthenticationOutcome {
        guard !password.isEmpty else { return .rejected }
        guard LDAPIdentityProvider.isAcceptable(username) else { return .rejected }
        return try await directory { try self.authenticateBlocking(username, password) }
    }

    /// Usernames with control characters (NUL would cut a C string) or absurd lengths never reach the directory.
    static func isAcceptable(_ username: String) -> Bool {
        !username.isEmpty && username.utf8.count <= 256 && !username.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F }
    }

    private func authenticateBlocking(_ username: String, _ password: String) throws -> AuthenticationOutcome {
        switch settings.strategy {
        case .searchThenBind:
            let entries = try withService { c in
                try c.search(base: self.settings.baseDN!, scope: .subtree, filter: self.userFilter(username),
                             attributes: self.entryAttributes, pageSize: 0, limit: 2)
            }
            guard let entry = entries.first else { return .unknownUser }
            guard entries.count == 1 else {
                logger.warning("the user filter matches several entries; refusing the login", metadata: ["causeway.provider": .string(name)])
                return .rejected
            }
            let connection = try LDAPConnection(settings)
            defer { connection.close() }
            let result = try connection.bind(dn: entry.dn, password: password)
            guard result.succeeded else { return outcome(of: result) }
            let identity = try withService { c in try self.identity(entry, typed: username, groupsVia: c) }
            return .authenticated(identity)
        case .directBind:
            let dn = LDAPEscaping.fill(settings.dnTemplate!, ["username": username], escape: LDAPEscaping.dnValue)
            let connection = try LDAPConnection(settings)
            defer { connection.close() }
            let result = try connection.bind(dn: dn, password: password)
            guard result.succeeded else { return outcome(of: result) }
            guard let entry = try connection.search(base: dn, scope: .base, filter: "(objectClass=*)", attributes: entryAttributes,
                                                    pageSize: 0, limit: 1).first else { return .rejected }
            return .authenticated(try identity(entry, typed: username, groupsVia: connection))
        case .userPrincipalName, .downLevel:
            let bindName = settings.strategy == .userPrincipalName ? "\(username)@\(settings.upnSuffix!)" : "\(settings.domain!)\\\(username)"
            let connection = try LDAPConnection(settings)
            defer { connection.close() }
            let result = try connection.bind(dn: bindName, password: password)
            guard result.succeeded else { return outcome(of: result) }
            guard let entry = try connection.search(base: settings.baseDN!, scope: .subtree, filter: adFilter(username),
                                                    attributes: entryAttributes, pageSize: 0, limit: 2).first else { return .rejected }
            return .authenticated(try identity(entry, typed: username, groupsVia: connection))
        }
    }

    func userFilter(_ username: String) -> String {
        LDAPEscaping.fill(settings.userFilter, ["username": username], escape: LDAPEscaping.filterValue)
    }

    func adFilter(_ username: String) -> String {
        settings.strategy == .userPrincipalName
            ? "(userPrincipalName=\(LDAPEscaping.filterValue("\(username)@\(settings.upnSuffix!)")))"
            : "(sAMAccountName=\(LDAPEscaping.filterValue(username)))"
    }

    /// What a failed bind means: Active Directory's `data NNN` sub-codes and OpenLDAP's password-policy
    /// control say why a correct password is refused; anything else is a wrong username or password.
    func outcome(of result: LDAPConnection.BindResult) -> AuthenticationOutcome {
        if let policy = result.policyError {
            switch policy {
            case 0: return .refused("The password has expired; change it in the directory, then log in again.")
            case 1: return .refused("The account is locked; ask IT to unlock it or wait for the lockout to end.")
            case 2: return .refused("The password must be changed before the first login; change it in the directory.")
            default: break
            }
        }
        if let reason = LDAPIdentityProvider.activeDirectoryReason(result.diagnostic) { return reason }
        return .rejected
    }

    static func activeDirectoryReason(_ diagnostic: String?) -> AuthenticationOutcome? {
        guard let d = diagnostic?.lowercased(), let range = d.range(of: "data ") else { return nil }
        let code = d[range.upperBound...].prefix { $0.isHexDigit }
        switch code {
        case "525": return .unknownUser
        case "52e": return .rejected
        case "530": return .refused("The account may not log in at this time of day.")
        case "531": return .refused("The account may not log in from this workstation.")
        case "532", "773": return .refused("The password has expired; change it in the directory, then log in again.")
        case "533": return .refused("The account is disabled.")
        case "701": return .refused("The account has expired.")
        case "775": return .refused("The account is locked; ask IT to unlock it or wait for the lockout to end.")
        default: return nil
        }
    }

    // MARK: Identity, groups and roles

    var entryAttributes: [String] {
        var list = [settings.idAttribute, "cn"]
        for a in [settings.usernameAttribute, settings.emailAttribute, settings.memberOfAttribute].compactMap({ $0 }) + settings.attributes.values.sorted()
        where !list.contains(a) { list.append(a) }
        return list
    }

    func identity(_ entry: LDAPEntry, typed username: String, groupsVia connection: LDAPConnection) throws -> VerifiedIdentity {
        let canonical = settings.usernameAttribute.flatMap { entry.string($0) } ?? username
        var attributes: [String: String] = [:]
        for (field, attribute) in settings.attributes { attributes[field] = entry.string(attribute) }
        let groups = try groups(of: entry, username: canonical, via: connection)
        return VerifiedIdentity(provider: name, username: canonical, externalId: externalId(entry),
                                email: settings.emailAttribute.flatMap { entry.string($0) }, attributes: attributes, roles: roles(for: groups))
    }

    func externalId(_ entry: LDAPEntry) -> String? {
        if settings.idAttribute.lowercased() == "objectguid" {
            guard let b = entry.raw(settings.idAttribute), b.count == 16 else { return nil }
            // objectGUID is little-endian in its first three fields.
            let order = [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15]
            let hex = order.map { String(b[$0], radix: 16).leftPadded(2) }
            return hex[0..<4].joined() + "-" + hex[4..<6].joined() + "-" + hex[6..<8].joined() + "-" + hex[8..<10].joined() + "-" + hex[10..<16].joined()
        }
        return entry.string(settings.idAttribute)
    }

    /// Group DNs with their CNs, from the `memberOf` attribute, a group search and nested membership.
    func groups(of entry: LDAPEntry, username: String, via connection: LDAPConnection) throws -> [String: String?] {
        var groups: [String: String?] = [:]
        if let attribute = settings.memberOfAttribute {
            for dn in entry.strings(attribute) { groups[dn] = LDAPIdentityProvider.firstCN(dn) }
        }
        if let base = settings.groupBaseDN, let template = settings.groupFilter {
            let filter = LDAPEscaping.fill(template, ["dn": entry.dn, "username": username], escape: LDAPEscaping.filterValue)
            for g in try connection.search(base: base, scope: .subtree, filter: filter, attributes: ["cn"], pageSize: settings.pageSize, limit: settings.maxEntries) {
                groups[g.dn] = g.string("cn") ?? LDAPIdentityProvider.firstCN(g.dn)
            }
        }
        if settings.nestedGroups, let base = settings.groupBaseDN {
            let filter = "(member:1.2.840.113556.1.4.1941:=\(LDAPEscaping.filterValue(entry.dn)))"
            for g in try connection.search(base: base, scope: .subtree, filter: filter, attributes: ["cn"], pageSize: settings.pageSize, limit: settings.maxEntries) {
                groups[g.dn] = g.string("cn") ?? LDAPIdentityProvider.firstCN(g.dn)
            }
        }
        return groups
    }

    func roles(for groups: [String: String?]) -> Set<String> {
        var roles = Set(settings.defaultRoles)
        for (dn, cn) in groups {
            if let mapped = settings.roleMap[dn.lowercased()] ?? cn.flatMap({ settings.roleMap[$0.lowercased()] }) {
                roles.formUnion(mapped)
            } else if settings.unmappedGroupsByCN, let cn {
                roles.insert(cn)
            }
        }
        return roles
    }

    /// `cn=Admins,ou=groups,…` → `Admins`.
    static func firstCN(_ dn: String) -> String? {
        guard let rdn = dn.split(separator: ",").first, rdn.lowercased().hasPrefix("cn=") else { return nil }
        return String(rdn.dropFirst(3)).replacingOccurrences(of: "\\", with: "")
    }

    // MARK: Refresh (no password)

    public func refresh(_ user: UserRecord) async throws -> VerifiedIdentity? {
        guard settings.hasServiceAccount else {
            throw GatewayError(.connectionFailed, "Directory \(name) has no service account (bind.serviceDN) to re-read roles with.")
        }
        return try await directory {
            try self.withService { c -> VerifiedIdentity? in
                let entries: [LDAPEntry]
                switch self.settings.strategy {
                case .searchThenBind:
                    entries = try c.search(base: self.settings.baseDN!, scope: .subtree, filter: self.userFilter(user.username),
                                           attributes: self.entryAttributes, pageSize: 0, limit: 2)
                case .directBind:
                    let dn = LDAPEscaping.fill(self.settings.dnTemplate!, ["username": user.username], escape: LDAPEscaping.dnValue)
                    entries = try c.search(base: dn, scope: .base, filter: "(objectClass=*)", attributes: self.entryAttributes, pageSize: 0, limit: 1)
                case .userPrincipalName, .downLevel:
                    entries = try c.search(base: self.settings.baseDN!, scope: .subtree, filter: self.adFilter(user.username),
                                           attributes: self.entryAttributes, pageSize: 0, limit: 2)
                }
                guard entries.count == 1, let entry = entries.first else { return nil }
                if let id = user.externalId, let now = self.externalId(entry), id != now { return nil }  // same name, another person
                return try self.identity(entry, typed: user.username, groupsVia: c)
            }
        }
    }

    // MARK: Check

    /// `causeway check` verifies providers it never starts: the check brings a thread of its own.
    public func verify(logger: Logger) async -> [CheckFinding] {
        let thread = NIOThreadPool(numberOfThreads: 1)
        thread.start()
        let findings = await verify(on: thread)
        try? await thread.shutdownGracefully()
        return findings
    }

    private func verify(on thread: NIOThreadPool) async -> [CheckFinding] {
        let subject = "\(name) (\(settings.urls.joined(separator: ", ")))"
        do {
            return try await directory(on: thread) { () -> [CheckFinding] in
                var findings: [CheckFinding] = []
                if !self.settings.verifyCertificates {
                    findings.append(CheckFinding(.warning, subject, "verifyCertificates is false: the directory's certificate is not checked"))
                }
                if self.settings.usesTLS == false {
                    findings.append(CheckFinding(.warning, subject, "passwords travel unencrypted: use ldaps:// or startTLS: required"))
                }
                if self.settings.hasServiceAccount {
                    try self.withService { c in
                        if let base = self.settings.baseDN {
                            _ = try c.search(base: base, scope: .base, filter: "(objectClass=*)", attributes: ["1.1"], pageSize: 0, limit: 1)
                        }
                        if let base = self.settings.groupBaseDN {
                            _ = try c.search(base: base, scope: .base, filter: "(objectClass=*)", attributes: ["1.1"], pageSize: 0, limit: 1)
                        }
                    }
                    findings.append(CheckFinding(.ok, subject, "service account bound; base DNs found"))
                } else {
                    let c = try LDAPConnection(self.settings)
                    c.close()
                    findings.append(CheckFinding(.ok, subject, "reachable (no service account configured; roles are read at login only)"))
                }
                return findings
            }
        } catch {
            // Findings are for the operator: with the error's detail (the directory's own diagnostic).
            return [CheckFinding(.error, subject, String(reflecting: error))]
        }
    }

    // MARK: Plumbing

    /// Runs blocking directory work on the provider's threads (or `pool`); connection problems become a
    /// retryable 100 (also when the threads are not running: not started, or shut down).
    func directory<T: Sendable>(on pool: NIOThreadPool? = nil, _ body: @escaping @Sendable () throws -> T) async throws -> T {
        do {
            return try await (pool ?? threads).runBlocking("directory \(name)", body)
        } catch let error as LDAPError where error.isConnectionProblem {
            throw GatewayError(.connectionFailed, "The directory \(name) cannot be reached.", detail: error.description)
        } catch let error as LDAPError {
            throw GatewayError(.internalServerError, "Internal server error.", detail: "directory \(name): \(error.description)")
        }
    }

    /// A connection bound as the service account, from the pool (or a new one). Broken ones are dropped.
    func withService<T>(_ body: (LDAPConnection) throws -> T) throws -> T {
        let pooled: PooledConnection
        if let reused = idle.withLock({ $0.popLast() }) {
            pooled = reused
        } else {
            let c = try LDAPConnection(settings)
            if let dn = settings.serviceDN, let password = settings.servicePassword, !password.isEmpty {
                let result = try c.bind(dn: dn, password: password)
                guard result.succeeded else {
                    throw LDAPError(code: result.code, "the service account \(dn) cannot bind: \(result.diagnostic ?? String(cString: ldap_err2string(result.code)))")
                }
            }
            pooled = PooledConnection(connection: c)
        }
        do {
            let value = try body(pooled.connection)
            pooled.markUsed()
            idle.withLock { if $0.count < settings.threads { $0.append(pooled) } }
            return value
        } catch let error as LDAPError where error.isConnectionProblem {
            pooled.connection.close()
            // A pooled connection may have gone stale (server restarted): retry once on a new one.
            if !pooled.fresh { return try withService(body) }
            throw error
        }
    }
}

/// A service connection in the idle pool. Only one thread uses it at a time (taken out while in use).
final class PooledConnection: @unchecked Sendable {
    let connection: LDAPConnection
    private(set) var fresh = true
    init(connection: LDAPConnection) { self.connection = connection }
    func markUsed() { fresh = false }
}

extension String {
    func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: "0", count: width - count) + self }
}

import CausewayCore
import CLDAP
import Foundation
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
    let servers: DirectoryServers
    private let loggerBox = Mutex(Logger(label: "causeway.ldap"))
    /// Active Directory nested groups: SID → group under `groups.search.baseDN` (see `tokenGroupsGroups`).
    let sidCache: SIDCache
    /// Nested-group work done so far (tests check which strategy ran): base reads of `tokenGroups`,
    /// `objectSid` searches that resolved SIDs, and 1.2.840.113556.1.4.1941 (in-chain) searches.
    let tokenGroupsReads = Atomic<Int>(0)
    let sidSearches = Atomic<Int>(0)
    let inChainSearches = Atomic<Int>(0)
    private let fallbackLogged = Atomic<Bool>(false)
    /// SIDs per `(|(objectSid=…)…)` search.
    static let sidBatch = 200

    init(name: String, settings: LDAPSettings) {
        self.name = name
        self.settings = settings
        self.threads = NIOThreadPool(numberOfThreads: max(1, settings.threads))
        self.servers = DirectoryServers(urls: settings.urls, backoff: .seconds(settings.failoverBackoffSeconds))
        self.sidCache = SIDCache(ttl: .seconds(settings.sidCacheSeconds))
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

    private func authenticateBlocking(_ typed: String, _ password: String) throws -> AuthenticationOutcome {
        switch settings.strategy {
        case .searchThenBind:
            let found = try withService { c -> (String, [LDAPEntry])? in
                guard let username = self.accountName(typed, activeDirectory: c.isActiveDirectory) else { return nil }
                return (username, try c.search(base: self.settings.baseDN!, scope: .subtree, filter: self.userFilter(username),
                                               attributes: self.entryAttributes, pageSize: 0, limit: 2))
            }
            guard let (username, entries) = found, let entry = entries.first else { return .unknownUser }
            guard entries.count == 1 else {
                logger.warning("the user filter matches several entries; refusing the login", metadata: ["causeway.provider": .string(name)])
                return .rejected
            }
            let result = try withUser { c in try c.bind(dn: entry.dn, password: password) }
            guard result.succeeded else { return outcome(of: result) }
            let identity = try withService { c in try self.identity(entry, typed: username, groupsVia: c) }
            return .authenticated(identity)
        case .directBind:
            return try withUser { c -> AuthenticationOutcome in
                guard let username = self.accountName(typed, activeDirectory: c.isActiveDirectory) else { return .unknownUser }
                let dn = LDAPEscaping.fill(self.settings.dnTemplate!, ["username": username], escape: LDAPEscaping.dnValue)
                let result = try c.bind(dn: dn, password: password)
                guard result.succeeded else { return self.outcome(of: result) }
                return .authenticated(try self.directBindIdentity(dn: dn, username: username, userConnection: c))
            }
        case .userPrincipalName, .downLevel:
            return try withUser { c -> AuthenticationOutcome in
                guard let username = self.accountName(typed, activeDirectory: true) else { return .unknownUser }
                let bindName = self.settings.strategy == .userPrincipalName ? "\(username)@\(self.settings.upnSuffix!)" : "\(self.settings.domain!)\\\(username)"
                let result = try c.bind(dn: bindName, password: password)
                guard result.succeeded else { return self.outcome(of: result) }
                guard let entry = try c.search(base: self.settings.baseDN!, scope: .subtree, filter: self.adFilter(username),
                                               attributes: self.entryAttributes, pageSize: 0, limit: 2).first else {
                    self.logger.warning("bound as \(bindName), but the user's own connection finds no entry under bind.baseDN; refusing the login",
                                        metadata: ["causeway.provider": .string(self.name)])
                    return .rejected
                }
                return .authenticated(try self.identity(entry, typed: username, groupsVia: c))
            }
        }
    }

    /// After a direct bind: the entry read with the service account when one is configured (389 and
    /// OpenLDAP often hide an entry from its own user), else with the user's own connection; when neither can
    /// read it, the identity carries only what the bind proved (the name), and the log says which step failed.
    private func directBindIdentity(dn: String, username: String, userConnection c: LDAPConnection) throws -> VerifiedIdentity {
        let read = { (connection: LDAPConnection) throws -> LDAPEntry? in
            try connection.search(base: dn, scope: .base, filter: "(objectClass=*)", attributes: self.entryAttributes, pageSize: 0, limit: 1).first
        }
        if settings.hasServiceAccount {
            let viaService = try withService { s -> VerifiedIdentity? in
                guard let entry = try read(s) else { return nil }
                return try self.identity(entry, typed: username, groupsVia: s)
            }
            if let viaService { return viaService }
            logger.warning("direct bind succeeded, but the service account cannot read the entry; trying the user's own connection",
                           metadata: ["causeway.provider": .string(name), "causeway.dn": .string(LogText.clean(dn, limit: 256))])
        }
        if let entry = try read(c) { return try identity(entry, typed: username, groupsVia: c) }
        logger.warning("direct bind succeeded, but the user cannot read their own entry (directory ACLs); logging in with the bound name only: no attributes, id or memberOf groups",
                       metadata: ["causeway.provider": .string(name), "causeway.dn": .string(LogText.clean(dn, limit: 256))])
        return try identity(LDAPEntry(dn: dn, values: [:]), typed: username, groupsVia: c)
    }

    /// The account name in what was typed. On Active Directory, `CORP\alice` and `alice@corp.example.com`
    /// name the account `alice` when the domain is this directory's (`bind.domain`, or the first label of
    /// `bind.baseDN`'s DNS name) or the suffix is (`bind.upnSuffix`, or the DNS name of `bind.baseDN`);
    /// another domain or suffix is not this directory's user (nil). Elsewhere the name is used as typed.
    func accountName(_ typed: String, activeDirectory: Bool) -> String? {
        guard activeDirectory else { return typed }
        let dns = settings.dnsDomain?.lowercased()
        if let slash = typed.firstIndex(of: "\\") {
            let domain = typed[..<slash].lowercased()
            let name = String(typed[typed.index(after: slash)...])
            let ours = [settings.domain?.lowercased(), dns, dns?.split(separator: ".").first.map(String.init)].compactMap { $0 }
            guard !name.isEmpty, ours.contains(domain) else { return nil }
            return name
        }
        if let at = typed.lastIndex(of: "@") {
            let suffix = typed[typed.index(after: at)...].lowercased()
            let name = String(typed[..<at])
            let ours = [settings.upnSuffix?.lowercased(), dns].compactMap { $0 }
            guard !name.isEmpty, ours.contains(suffix) else { return nil }
            return name
        }
        return typed
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
        case "532": return .refused("The password has expired; change it in the directory, then log in again.")
        case "773": return .refused("The password must be changed; change it in the directory, then log in again.")
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

    func identity(_ entry: LDAPEntry, typed username: String, groupsVia connection: LDAPConnection, freshGroups: Bool = false) throws -> VerifiedIdentity {
        let canonical = settings.usernameAttribute.flatMap { entry.string($0) } ?? username
        var attributes: [String: String] = [:]
        for (field, attribute) in settings.attributes { attributes[field] = entry.string(attribute) }
        let groups = try groups(of: entry, username: canonical, via: connection, fresh: freshGroups)
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
    /// Nested membership comes from the entry's `tokenGroups` (one base read, then the SIDs resolved to groups
    /// under `groups.search.baseDN`, cached; `fresh` skips the cache, as the role refresh does), or, when the
    /// entry has no readable `tokenGroups`, from a 1.2.840.113556.1.4.1941 (in-chain) search under that base.
    func groups(of entry: LDAPEntry, username: String, via connection: LDAPConnection, fresh: Bool = false) throws -> [String: String?] {
        var groups: [String: String?] = [:]
        if let attribute = settings.memberOfAttribute {
            for dn in entry.strings(attribute) { groups[dn] = LDAPIdentityProvider.firstCN(dn) }
        }
        if let base = settings.groupBaseDN, let template = settings.groupFilter {
            let filter = LDAPEscaping.fill(template, ["dn": entry.dn, "username": username], escape: LDAPEscaping.filterValue)
            for g in try connection.search(base: base, scope: .subtree, filter: filter, attributes: ["cn"], pageSize: settings.pageSize, limit: settings.maxEntries) {
                groups[g.dn] = .some(g.string("cn") ?? LDAPIdentityProvider.firstCN(g.dn))
            }
        }
        if settings.nestedGroups, let base = settings.groupBaseDN {
            guard connection.isActiveDirectory else { throw LDAPIdentityProvider.nestedNeedsAD(connection.url) }
            if settings.useTokenGroups, let nested = try tokenGroupsGroups(entry, base: base, via: connection, fresh: fresh) {
                for g in nested { groups[g.dn] = .some(g.cn) }
            } else {
                inChainSearches.add(1, ordering: .relaxed)
                let filter = "(member:1.2.840.113556.1.4.1941:=\(LDAPEscaping.filterValue(entry.dn)))"
                for g in try connection.search(base: base, scope: .subtree, filter: filter, attributes: ["cn"], pageSize: settings.pageSize, limit: settings.maxEntries) {
                    groups[g.dn] = .some(g.string("cn") ?? LDAPIdentityProvider.firstCN(g.dn))
                }
            }
        }
        return groups
    }

    /// The groups under `base` that the entry is in, directly or through nesting, from its `tokenGroups`: a
    /// constructed attribute (every security group in the user's token, transitively; AD returns it only to
    /// a base-scope read of the entry), whose SIDs are resolved with `(|(objectSid=…)…)` searches under
    /// `base`, `sidBatch` SIDs at a time, and cached (`groups.sidCacheSeconds`). nil when the entry has no
    /// readable `tokenGroups` (the caller then uses the in-chain search, and the log says so once).
    /// tokenGroups lists security groups only: distribution groups never carry roles this way.
    func tokenGroupsGroups(_ entry: LDAPEntry, base: String, via c: LDAPConnection, fresh: Bool) throws -> [SIDCache.Group]? {
        guard !entry.dn.isEmpty else { return nil }
        let read: [LDAPEntry]
        do {
            read = try c.search(base: entry.dn, scope: .base, filter: "(objectClass=*)", attributes: ["tokenGroups"], pageSize: 0, limit: 1)
        } catch where error.isConnectionProblem {
            throw error
        } catch {
            logTokenGroupsFallback(error.description)
            return nil
        }
        tokenGroupsReads.add(1, ordering: .relaxed)
        guard let tokens = read.first?.values["tokengroups"], !tokens.isEmpty else {
            logTokenGroupsFallback("the entry's tokenGroups attribute is empty or not readable by this connection")
            return nil
        }
        var binary: [String: [UInt8]] = [:]
        for t in tokens {
            guard let sid = SID.string(t) else {
                logTokenGroupsFallback("tokenGroups holds a value that is not a SID")
                return nil
            }
            binary[sid] = t
        }
        var known = fresh ? [:] : sidCache.lookup(Array(binary.keys))
        let missing = binary.keys.filter { !known.keys.contains($0) }.sorted()
        var answers: [String: SIDCache.Group?] = [:]
        for start in stride(from: 0, to: missing.count, by: LDAPIdentityProvider.sidBatch) {
            let batch = Array(missing[start..<min(start + LDAPIdentityProvider.sidBatch, missing.count)])
            for sid in batch { answers[sid] = .some(nil) }  // not found under base: not one of ours
            sidSearches.add(1, ordering: .relaxed)
            for g in try c.search(base: base, scope: .subtree, filter: SID.filter(batch.map { binary[$0]! }), attributes: ["cn", "objectSid"],
                                  pageSize: settings.pageSize, limit: settings.maxEntries) {
                guard let sid = g.raw("objectSid").flatMap(SID.string), answers.keys.contains(sid) else { continue }
                answers[sid] = .some(SIDCache.Group(dn: g.dn, cn: g.string("cn") ?? LDAPIdentityProvider.firstCN(g.dn)))
            }
        }
        sidCache.store(answers)
        known.merge(answers) { _, new in new }
        let groups = known.values.compactMap { $0 }
        if groups.count > settings.maxEntries {
            throw LDAPError(code: LDAP_SIZELIMIT_EXCEEDED, "\(entry.dn) is in more than \(settings.maxEntries) groups under \(base) (groups.maxGroups)")
        }
        return groups
    }

    private func logTokenGroupsFallback(_ reason: String) {
        let first = !fallbackLogged.exchange(true, ordering: .relaxed)
        let message: Logger.Message = "tokenGroups is not available for nested groups; using the slower in-chain (1.2.840.113556.1.4.1941) search"
        let metadata: Logger.Metadata = ["causeway.provider": .string(name), "reason": .string(LogText.clean(reason, limit: 256))]
        if first { logger.warning(message, metadata: metadata) } else { logger.debug(message, metadata: metadata) }
    }

    /// `groups.nested` on a directory that is not Active Directory: OpenLDAP and 389 do not know the
    /// 1.2.840.113556.1.4.1941 rule, and their answer (no match, no error) would silently drop nested roles.
    static func nestedNeedsAD(_ url: String) -> LDAPError {
        LDAPError(code: LDAP_INAPPROPRIATE_MATCHING,
                  "groups.nested: true needs Active Directory (the 1.2.840.113556.1.4.1941 matching rule), but \(url) is not Active Directory"
                  + " (its root DSE does not list capability \(LDAPConnection.activeDirectoryCapability)); use groups.search for this directory's groups")
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

    /// Attributes that say whether an account may still log in (read at each refresh; directories ignore
    /// the ones they do not know).
    static let accountStateAttributes = ["userAccountControl", "msDS-User-Account-Control-Computed", "lockoutTime", "accountExpires",
                                         "pwdAccountLockedTime", "nsAccountLock"]

    public func refresh(_ user: UserRecord) async throws -> VerifiedIdentity? {
        guard settings.hasServiceAccount else {
            throw GatewayError(.connectionFailed, "Directory \(name) has no service account (bind.serviceDN) to re-read roles with.")
        }
        return try await directory {
            try self.withService { c -> VerifiedIdentity? in
                let entries: [LDAPEntry]
                let attributes = self.entryAttributes + LDAPIdentityProvider.accountStateAttributes.filter { !self.entryAttributes.contains($0) }
                switch self.settings.strategy {
                case .searchThenBind:
                    entries = try c.search(base: self.settings.baseDN!, scope: .subtree, filter: self.userFilter(user.username),
                                           attributes: attributes, pageSize: 0, limit: 2)
                case .directBind:
                    let dn = LDAPEscaping.fill(self.settings.dnTemplate!, ["username": user.username], escape: LDAPEscaping.dnValue)
                    entries = try c.search(base: dn, scope: .base, filter: "(objectClass=*)", attributes: attributes, pageSize: 0, limit: 1)
                case .userPrincipalName, .downLevel:
                    entries = try c.search(base: self.settings.baseDN!, scope: .subtree, filter: self.adFilter(user.username),
                                           attributes: attributes, pageSize: 0, limit: 2)
                }
                guard entries.count == 1, let entry = entries.first else { return nil }
                if let id = user.externalId, let now = self.externalId(entry), id != now { return nil }  // same name, another person
                if let reason = LDAPIdentityProvider.accountBlock(entry) {
                    self.logger.notice("directory account may no longer log in; its sessions end", metadata: [
                        "causeway.provider": .string(self.name), "causeway.user": .string(user.objectId), "reason": .string(reason),
                    ])
                    return nil
                }
                // Fresh SID lookups: a renamed, moved or new group shows at the role refresh, whatever the cache holds.
                return try self.identity(entry, typed: user.username, groupsVia: c, freshGroups: true)
            }
        }
    }

    /// Why an account may no longer log in, from its entry, or nil: Active Directory's `userAccountControl`
    /// (ACCOUNTDISABLE 0x2), lockout (`msDS-User-Account-Control-Computed` LOCKOUT 0x10 when the server
    /// computes it, which also knows when a lockout has ended; else `lockoutTime` > 0) and `accountExpires`
    /// in the past; OpenLDAP's password policy `pwdAccountLockedTime`; 389's `nsAccountLock: true`.
    static func accountBlock(_ entry: LDAPEntry, now: Date = Date()) -> String? {
        let uac = entry.string("userAccountControl").flatMap { Int64($0) } ?? 0
        if uac & 0x2 != 0 { return "account disabled (userAccountControl)" }
        if let computed = entry.string("msDS-User-Account-Control-Computed").flatMap({ Int64($0) }) {
            if computed & 0x10 != 0 { return "account locked (msDS-User-Account-Control-Computed)" }
        } else if let lockout = entry.string("lockoutTime").flatMap({ Int64($0) }), lockout > 0 {
            return "account locked (lockoutTime)"
        } else if uac & 0x10 != 0 {
            return "account locked (userAccountControl)"
        }
        if let expires = entry.string("accountExpires").flatMap({ Int64($0) }), expires != 0, expires != Int64.max {
            // A FILETIME: 100 ns since 1601-01-01.
            let seconds = Double(expires) / 10_000_000 - 11_644_473_600
            if seconds < now.timeIntervalSince1970 { return "account expired (accountExpires)" }
        }
        if entry.string("pwdAccountLockedTime") != nil { return "account locked (pwdAccountLockedTime)" }
        if entry.string("nsAccountLock")?.lowercased() == "true" { return "account locked (nsAccountLock)" }
        return nil
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
        var findings: [CheckFinding] = []
        if !settings.verifyCertificates {
            findings.append(CheckFinding(.warning, subject, "verifyCertificates is false: the directory's certificate is not checked"))
        }
        if settings.usesTLS == false {
            findings.append(CheckFinding(.warning, subject, "passwords travel unencrypted: use ldaps:// or startTLS: required"))
        }
        // Each URL on its own: failover hides a dead or misconfigured one from logins, not from the check.
        var working = 0
        for url in settings.urls {
            do {
                let activeDirectory = try await directory(on: thread) { () -> Bool in
                    let c = try LDAPConnection(url: url, settings: self.settings)
                    defer { c.close() }
                    return c.isActiveDirectory
                }
                working += 1
                if settings.nestedGroups && !activeDirectory {
                    findings.append(CheckFinding(.error, "\(name) (\(url))", LDAPIdentityProvider.nestedNeedsAD(url).message))
                }
            } catch {
                findings.append(CheckFinding(settings.urls.count > 1 ? .warning : .error, "\(name) (\(url))", String(reflecting: error)))
            }
        }
        if working == 0 {
            if settings.urls.count > 1 { findings.append(CheckFinding(.error, subject, "no URL of this directory answers")) }
            return findings
        }
        do {
            let tokenGroupsReadable = try await directory(on: thread) { () -> Bool in
                var readable = true
                if self.settings.hasServiceAccount {
                    try self.withService { c in
                        if let base = self.settings.baseDN {
                            _ = try c.search(base: base, scope: .base, filter: "(objectClass=*)", attributes: ["1.1"], pageSize: 0, limit: 1)
                        }
                        if let base = self.settings.groupBaseDN {
                            _ = try c.search(base: base, scope: .base, filter: "(objectClass=*)", attributes: ["1.1"], pageSize: 0, limit: 1)
                            if self.settings.nestedGroups && c.isActiveDirectory {
                                // The rule itself, once, for a DN that is in no group.
                                let filter = "(member:1.2.840.113556.1.4.1941:=\(LDAPEscaping.filterValue(self.settings.serviceDN!)))"
                                _ = try c.search(base: base, scope: .subtree, filter: filter, attributes: ["1.1"], pageSize: self.settings.pageSize, limit: self.settings.maxEntries)
                                if self.settings.useTokenGroups {
                                    // The service account's own tokenGroups: readable here means readable for the users it reads.
                                    let own = try? c.search(base: self.settings.serviceDN!, scope: .base, filter: "(objectClass=*)", attributes: ["tokenGroups"],
                                                            pageSize: 0, limit: 1)
                                    readable = !(own?.first?.values["tokengroups"] ?? []).isEmpty
                                }
                            }
                        }
                    }
                }
                return readable
            }
            if !tokenGroupsReadable {
                findings.append(CheckFinding(.warning, subject, "the service account cannot read tokenGroups: nested groups use the slower in-chain search"))
            }
            findings.append(CheckFinding(.ok, subject, settings.hasServiceAccount ? "service account bound; base DNs found"
                                                       : "reachable (no service account configured; roles are read at login only)"))
        } catch {
            // Findings are for the operator: with the error's detail (the directory's own diagnostic).
            findings.append(CheckFinding(.error, subject, String(reflecting: error)))
        }
        return findings
    }

    // MARK: Plumbing

    /// Runs blocking directory work on the provider's threads (or `pool`). Connection problems become a
    /// retryable 100 (also when the threads are not running: not started, or shut down); anything else the
    /// directory refuses (a misconfiguration such as a bad filter or `groups.nested` on OpenLDAP) becomes 108
    /// with a message that names the directory: a login never answers 500.
    func directory<T: Sendable>(on pool: NIOThreadPool? = nil, _ body: @escaping @Sendable () throws -> T) async throws -> T {
        do {
            return try await (pool ?? threads).runBlocking("directory \(name)", body)
        } catch let error as LDAPError where error.isConnectionProblem {
            let what = error.certificateProblem ? "certificate problem" : "unreachable"
            throw GatewayError(.connectionFailed, "The directory \(name) cannot be reached.", detail: "\(what): \(error.description)")
        } catch let error as LDAPError {
            throw GatewayError(.commandUnavailable, "The directory \(name) cannot be used for this request; an administrator can see why in the log or with causeway check.",
                               detail: "directory \(name): \(error.description)")
        }
    }

    /// A new connection to the first URL that answers, healthy URLs first (failover). A URL that fails is
    /// passed over for `failoverBackoffSeconds`.
    func connect() throws(LDAPError) -> LDAPConnection {
        var last: LDAPError?
        for url in servers.ordered() {
            do {
                let c = try LDAPConnection(url: url, settings: settings)
                servers.succeeded(url)
                return c
            } catch where error.isConnectionProblem {
                markFailed(url, error)
                last = error
            }
        }
        throw last ?? LDAPError(code: LDAP_SERVER_DOWN, "no directory URL configured")
    }

    private func markFailed(_ url: String, _ error: LDAPError) {
        servers.failed(url, reason: error.message)
        logger.warning("directory URL failed; other URLs are tried first for \(settings.failoverBackoffSeconds) s", metadata: [
            "causeway.provider": .string(name), "causeway.url": .string(url), "error": .string(error.description),
        ])
    }

    /// A user's own connection (binds as them), closed afterwards. When the server stops answering during
    /// the work, its URL is passed over and the work is retried once on the next URL.
    func withUser<T>(_ body: (LDAPConnection) throws -> T) throws -> T {
        var attempt = 0
        while true {
            attempt += 1
            let c = try connect()
            defer { c.close() }
            do {
                return try body(c)
            } catch let error as LDAPError where error.isConnectionProblem {
                markFailed(c.url, error)
                if attempt >= 2 || settings.urls.count < 2 { throw error }
            }
        }
    }

    /// A connection bound as the service account, from the pool (or a new one). Broken ones are dropped,
    /// and so are pooled connections to a URL that is no longer the preferred one (it came back).
    func withService<T>(_ body: (LDAPConnection) throws -> T) throws -> T {
        var attempt = 0
        while true {
            attempt += 1
            let preferred = servers.preferred
            var reused = idle.withLock { $0.popLast() }
            if let r = reused, r.connection.url != preferred {
                r.connection.close()
                reused = nil
            }
            let pooled: PooledConnection
            if let reused {
                pooled = reused
            } else {
                let c = try connect()
                if let dn = settings.serviceDN, let password = settings.servicePassword, !password.isEmpty {
                    let result = try c.bind(dn: dn, password: password)
                    guard result.succeeded else {
                        c.close()
                        throw LDAPError(code: result.code, "the service account \(dn) cannot bind on \(c.url): \(result.diagnostic ?? String(cString: ldap_err2string(result.code)))")
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
                // A pooled connection may have gone stale (server restarted): retry on a new one. A new one
                // that fails passes its URL over; the work is retried once on the next URL.
                if pooled.fresh { markFailed(pooled.connection.url, error) }
                if attempt >= 3 || (pooled.fresh && settings.urls.count < 2) { throw error }
            } catch {
                pooled.connection.close()
                throw error
            }
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

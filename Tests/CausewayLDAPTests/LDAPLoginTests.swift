import CausewayCore
import CausewayHTTPTesting
@testable import CausewayLDAP
import CausewayTesting
import Foundation
import Logging
import Testing

/// The test directory that `scripts/ldap.sh start` launches (see the seed there).
struct TestDirectory {
    let url: String, ldapsURL: String, caFile: String, otherCAFile: String, base: String
    let adminDN: String, adminPassword: String, readerDN: String, readerPassword: String, log: String, dir: String

    static func fromEnvironment() throws -> TestDirectory {
        let e = ProcessInfo.processInfo.environment
        guard let url = e["CAUSEWAY_TEST_LDAP_URL"], let ldaps = e["CAUSEWAY_TEST_LDAPS_URL"], let base = e["CAUSEWAY_TEST_LDAP_BASE"],
              let reader = e["CAUSEWAY_TEST_LDAP_READER_DN"], let readerPassword = e["CAUSEWAY_TEST_LDAP_READER_PASSWORD"],
              let dir = e["CAUSEWAY_TEST_LDAP_DIR"] else { throw MissingDirectory() }
        return TestDirectory(url: url, ldapsURL: ldaps, caFile: e["CAUSEWAY_TEST_LDAP_CA_FILE"] ?? "", otherCAFile: e["CAUSEWAY_TEST_LDAP_OTHER_CA_FILE"] ?? "",
                             base: base, adminDN: e["CAUSEWAY_TEST_LDAP_ADMIN_DN"] ?? "", adminPassword: e["CAUSEWAY_TEST_LDAP_ADMIN_PASSWORD"] ?? "",
                             readerDN: reader, readerPassword: readerPassword, log: e["CAUSEWAY_TEST_LDAP_LOG"] ?? "", dir: dir)
    }

    struct MissingDirectory: Error, CustomStringConvertible {
        var description: String {
            "CAUSEWAY_TEST_LDAP_* is not set: the LDAP tests need the slapd that scripts/test.sh starts (scripts/ldap.sh start, then source the env file it prints)"
        }
    }

    var environment: [String: String] { ["LDAP_READER_PASSWORD": readerPassword] }

    /// The identity provider kinds a test app reads: the gateway's own accounts and directories.
    static let identityFactories: [any IdentityProviderFactory] = [LocalIdentityProviderFactory(), LDAPIdentityProviderFactory()]

    static let defaultGroups = """
        groups:
          memberOfAttribute: memberOf
          search:
            baseDN: ou=groups,dc=causeway,dc=test
            filter: "(|(&(objectClass=groupOfUniqueNames)(uniqueMember={dn}))(&(objectClass=posixGroup)(memberUid={username})))"
          roles:
            "cn=admins,ou=groups,dc=causeway,dc=test": Admin
            engineering: Engineer
            sales: [Sales, CRM]
            vpn: VPN
          defaultRoles: [Employee]
    """

    /// An `identityProviders` block with one directory.
    func identity(bind: String? = nil, urls: [String]? = nil, tls: String = "", groups: String = TestDirectory.defaultGroups,
                  sessions: String = "") -> String {
        let bindBlock = bind ?? """
            bind:
              strategy: searchThenBind
              serviceDN: \(readerDN)
              servicePassword: ${LDAP_READER_PASSWORD}
              baseDN: ou=people,\(base)
              filter: "(&(objectClass=inetOrgPerson)(uid={username}))"
        """
        return """
        identityProviders:
          - name: corp
            kind: ldap
            urls: [\((urls ?? [url]).joined(separator: ", "))]
            timeoutSeconds: 3
            connectTimeoutSeconds: 2
            usernameAttribute: uid
            attributes: { department: departmentNumber, displayName: cn }
        \(tls)
        \(bindBlock)
        \(groups)
        loginThrottle: { maxFailuresPerUser: 50, maxFailuresPerAddress: 1000 }
        \(sessions)
        """
    }

    /// BIND and SRCH operations slapd has logged so far (stats log level).
    func operations() throws -> Int {
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").filter { $0.contains(" BIND ") || $0.contains(" SRCH ") }.count
    }

    /// `scripts/ldap.sh pause|resume` on this directory.
    func script(_ command: String) throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        #expect(spawn(["/bin/bash", root.path + "/scripts/ldap.sh", command], environment: ["CAUSEWAY_LDAP_DIR": dir]) == 0,
                "scripts/ldap.sh \(command)")
    }

    /// ldapmodify as the directory's admin.
    func modify(_ ldif: String) throws {
        let file = NSTemporaryDirectory() + "causeway-ldif-\(UUID().uuidString)"
        try ldif.write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        #expect(spawn(["/usr/bin/ldapmodify", "-x", "-H", url, "-D", adminDN, "-w", adminPassword, "-f", file]) == 0, "ldapmodify")
    }

    func spawn(_ arguments: [String], environment: [String: String] = [:]) -> Int32 {
        spawnAndWait(arguments, environment: environment)
    }
}

/// The signed-in user's roles, as `_Role` answers them (shared by the slapd and Active Directory suites).
func roles(_ c: ParseClient, _ token: String) async throws -> Set<String> {
    let me = try await c.get("/parse/users/me", headers: ParseClient.session(token))
    let id = me["objectId"]?.stringValue ?? ""
    let r = try await c.find("_Role", ["where": #"{"users":{"__type":"Pointer","className":"_User","objectId":"\#(id)"}}"#, "limit": "1000"],
                             headers: ParseClient.session(token))
    return Set(r.ids())
}

/// Logins against a real OpenLDAP slapd. Serialized: one test stops the server for a while.
@Suite(.serialized) struct LDAPLoginTests {
    let d: TestDirectory
    init() throws { d = try TestDirectory.fromEnvironment() }

    func app(_ identity: String) throws -> ParseTestApp {
        try ParseTestApp(environment: d.environment, identity: identity, identityFactories: TestDirectory.identityFactories)
    }

    @Test func searchThenBindMapsGroupsAndAttributes() async throws {
        try await app(d.identity()).run { c async throws in
            let alice = try await c.logIn("alice", "alice-secret")
            #expect(alice.status == 200)
            #expect(alice["username"]?.stringValue == "alice" && alice["email"]?.stringValue == "alice@causeway.test")
            #expect(alice["department"]?.stringValue == "Engineering" && alice["displayName"]?.stringValue == "Alice Able")
            #expect(alice["authProvider"]?.stringValue == "corp")
            let aliceToken = alice["sessionToken"]?.stringValue ?? ""
            // memberOf (admins by DN, engineering by CN) and the posixGroup search (vpn by memberUid).
            #expect(try await roles(c, aliceToken) == ["Admin", "Engineer", "VPN", "Employee"])
            let bob = try await c.token("bob", "bob-secret")
            // groupOfUniqueNames found by the group search; one group can give several roles.
            #expect(try await roles(c, bob) == ["Sales", "CRM", "VPN", "Employee"])
            // Roles decide class permissions: Private's find needs role:Admin.
            #expect(try await c.get("/parse/classes/Private", headers: ParseClient.session(aliceToken)).status == 200)
            #expect(try await c.get("/parse/classes/Private", headers: ParseClient.session(bob)).code == 119)
            // A second login refreshes the same user (no duplicate).
            let again = try await c.logIn("alice", "alice-secret")
            #expect(again["objectId"] == alice["objectId"])
        }
    }

    @Test func wrongUnknownAndEmptyCredentials() async throws {
        let app = try app(d.identity())
        let provider = try #require(app.configuration.identityProviders.first as? LDAPIdentityProvider)
        try await app.run { c async throws in
            let wrong = try await c.logIn("alice", "not-her-password")
            let unknown = try await c.logIn("zed", "alice-secret")
            #expect(wrong.status == 404 && wrong.code == 101 && wrong.text == unknown.text)
            #expect(try await c.logIn("alice", "").code == 201)
            // The provider refuses an empty password itself, before any bind reaches the directory.
            let before = try d.operations()
            let outcome = try await provider.authenticate(username: "alice", password: "", store: SQLiteMetadataStoreStub())
            guard case .rejected = outcome else { Issue.record("empty password: \(outcome)"); return }
            #expect(try d.operations() == before)
        }
    }

    @Test func injectionAttemptsMatchNobody() async throws {
        try await app(d.identity()).run { c async throws in
            for attempt in ["*", "al*", "alice)(uid=*", "*)(|(uid=*", "alice)", "(uid=alice)", "alice\u{0}", "alice\u{0}x", "\\2a", "alice*"] {
                let r = try await c.logIn(attempt, "alice-secret")
                #expect(r.code == 101, "username \(attempt.debugDescription) → \(r.text)")
            }
            #expect(try await c.logIn("alice", "alice-secret").status == 200)
        }
        #expect(LDAPEscaping.filterValue("*)(uid=*") == "\\2a\\29\\28uid=\\2a")
        #expect(LDAPEscaping.filterValue("a\u{0}b\\c") == "a\\00b\\5cc")
        #expect(LDAPEscaping.dnValue("o'neil, jr") == "o'neil\\, jr")
        #expect(LDAPEscaping.dnValue(" #x=1+2;") == "\\ #x\\=1\\+2\\;")
    }

    @Test func directBindEscapesTheDN() async throws {
        let bind = """
            bind:
              strategy: directBind
              dnTemplate: "uid={username},ou=people,\(d.base)"
        """
        try await app(d.identity(bind: bind)).run { c async throws in
            let token = try await c.token("alice", "alice-secret")
            #expect(try await roles(c, token).contains("Admin"))
            #expect(try await c.logIn("alice", "nope").code == 101)
            #expect(try await c.logIn("alice,ou=people", "alice-secret").code == 101)
        }
        let byCN = """
            bind:
              strategy: directBind
              dnTemplate: "cn={username},ou=people,\(d.base)"
        """
        try await app(d.identity(bind: byCN)).run { c async throws in
            #expect(try await c.logIn("o'neil, jr", "oneil-secret").status == 200)
        }
    }

    @Test func startTLSAndLDAPSVerifyTheCertificate() async throws {
        try await app(d.identity(tls: "    startTLS: required\n    caFile: \(d.caFile)")).run { c async throws in
            #expect(try await c.logIn("alice", "alice-secret").status == 200)
        }
        try await app(d.identity(urls: [d.ldapsURL], tls: "    caFile: \(d.caFile)")).run { c async throws in
            #expect(try await c.logIn("bob", "bob-secret").status == 200)
        }
        try await app(d.identity(tls: "    startTLS: required\n    caFile: \(d.otherCAFile)")).run { c async throws in
            let r = try await c.logIn("alice", "alice-secret")
            #expect(r.status == 503 && r.code == 100 && r.errorMessage.contains("directory cannot be reached"))
        }
    }

    @Test func disabledExpiredAndLockedAccountsAreRefusedClearly() async throws {
        try await app(d.identity()).run { c async throws in
            let expired = try await c.logIn("carol", "carol-secret")
            #expect(expired.code == 119 && expired.errorMessage.contains("password has expired"))
            for _ in 0..<2 { _ = try await c.logIn("dave", "wrong-password") }
            let locked = try await c.logIn("dave", "dave-secret")
            #expect(locked.code == 119 && locked.errorMessage.contains("locked"))
        }
        // Active Directory's sub-codes in the diagnostic message of result 49.
        let ad = { (text: String) -> String in
            switch LDAPIdentityProvider.activeDirectoryReason(text) {
            case .refused(let m)?: return m
            case .rejected?: return "rejected"
            case .unknownUser?: return "unknown"
            default: return "none"
            }
        }
        #expect(ad("80090308: LdapErr: DSID-0C09042A, comment: AcceptSecurityContext error, data 52e, v3839") == "rejected")
        #expect(ad("80090308: LdapErr: DSID-0C09042A, comment: AcceptSecurityContext error, data 533, v3839") == "The account is disabled.")
        #expect(ad("… data 775, v4563").contains("locked"))
        #expect(ad("… data 532, v4563").contains("password has expired") && ad("… data 773, v4563").contains("password must be changed"))
        #expect(ad("… data 701, v4563") == "The account has expired.")
        #expect(ad("… data 525, v4563") == "unknown")
        #expect(ad("Invalid credentials") == "none")
    }

    @Test func groupSearchesArePaged() async throws {
        let groups = """
            groups:
              search:
                baseDN: ou=groups,\(d.base)
                filter: "(&(objectClass=groupOfNames)(member={dn}))"
              pageSize: 200
              unmappedGroups: cn
        """
        try await app(d.identity(groups: groups)).run { c async throws in
            // pat is in 1,200 groups; slapd answers at most 500 entries per unpaged search.
            let token = try await c.token("pat", "pat-secret")
            let id = try await c.get("/parse/users/me", headers: ParseClient.session(token))["objectId"]?.stringValue ?? ""
            let pointer = #"{"__type":"Pointer","className":"_User","objectId":"\#(id)"}"#
            let all = try await c.find("_Role", ["where": #"{"users":\#(pointer)}"#, "count": "1", "limit": "0"], headers: ParseClient.session(token))
            #expect(all["count"] == .int(1200))
            let some = try await c.find("_Role", ["where": #"{"users":\#(pointer),"name":{"$in":["team-0001","team-0600","team-1200","admins"]}}"#],
                                        headers: ParseClient.session(token))
            #expect(Set(some.ids()) == ["team-0001", "team-0600", "team-1200"])
        }
    }

    @Test func anUnreachableDirectoryFailsLoginsButNotSessions() async throws {
        try await app(d.identity()).run { c async throws in
            let token = try await c.token("alice", "alice-secret")
            try d.script("pause")
            let r = try await c.logIn("bob", "bob-secret")
            #expect(r.status == 503 && r.code == 100 && r.errorMessage == "The directory cannot be reached; try again shortly.")
            #expect(try await c.get("/parse/users/me", headers: ParseClient.session(token)).status == 200)
            #expect(try await c.get("/parse/classes/Private", headers: ParseClient.session(token)).status == 200)
            try d.script("resume")
            #expect(try await c.logIn("bob", "bob-secret").status == 200)
            // The pooled service connection died with the old server; the next search recovers on a new one.
            #expect(try await c.logIn("alice", "alice-secret").status == 200)
        }
    }

    @Test func urlsAreTriedInOrder() async throws {
        try await app(d.identity(urls: ["ldap://127.0.0.1:1", d.url])).run { c async throws in
            #expect(try await c.logIn("alice", "alice-secret").status == 200)
        }
    }

    @Test func removedGroupMembershipEndsAccessWithinTheRefreshInterval() async throws {
        try await app(d.identity(sessions: "sessions: { roleRefreshSeconds: 1 }")).run { c async throws in
            let token = try await c.token("bob", "bob-secret")
            #expect(try await roles(c, token).contains("VPN"))
            try d.modify("dn: cn=vpn,ou=groups,\(d.base)\nchangetype: modify\ndelete: memberUid\nmemberUid: bob\n")
            defer { try? d.modify("dn: cn=vpn,ou=groups,\(d.base)\nchangetype: modify\nadd: memberUid\nmemberUid: bob\n") }
            var current: Set<String> = []
            for _ in 0..<40 {
                try await Task.sleep(for: .milliseconds(250))
                current = try await roles(c, token)
                if !current.contains("VPN") { break }
            }
            #expect(current == ["Sales", "CRM", "Employee"])
        }
    }

    @Test func authenticatedRequestsNeverAskTheDirectory() async throws {
        try await app(d.identity()).run { c async throws in
            let before = try d.operations()
            let token = try await c.token("alice", "alice-secret")
            // Log lines may trail the answer a little.
            try await Task.sleep(for: .milliseconds(300))
            let afterLogin = try d.operations()
            #expect(afterLogin > before)
            for _ in 0..<50 {
                #expect(try await c.get("/parse/classes/Workstation?limit=1", headers: ParseClient.session(token)).status == 200)
                #expect(try await c.get("/parse/users/me", headers: ParseClient.session(token)).status == 200)
            }
            try await Task.sleep(for: .milliseconds(300))
            #expect(try d.operations() == afterLogin)
        }
    }

    @Test func checkReportsTheDirectory() async throws {
        let good = try app(d.identity())
        let findings = await good.configuration.identityProviders[0].verify(logger: .init(label: "test"))
        #expect(!findings.contains { $0.severity == .error })
        #expect(findings.contains { $0.message.contains("unencrypted") })
        let bad = try ParseTestApp(environment: ["LDAP_READER_PASSWORD": "wrong"], identity: d.identity(), identityFactories: TestDirectory.identityFactories)
        let problems = await bad.configuration.identityProviders[0].verify(logger: .init(label: "test"))
        #expect(problems.contains { $0.severity == .error && $0.message.contains("cannot bind") })
    }

    @Test func aServerThatNeverAnswersIsLeftForTheNextURL() async throws {
        let hole = try BlackHole()
        defer { hole.close() }
        let app = try app(d.identity(urls: [hole.url, d.url], tls: "    failoverBackoffSeconds: 60"))
        let provider = try #require(app.configuration.identityProviders.first as? LDAPIdentityProvider)
        let clock = ManualClock()
        provider.servers.setClock { clock.now.offset }
        try await app.run { c async throws in
            #expect(try await c.logIn("alice", "alice-secret").status == 200)
            #expect(hole.accepted == 1)
            // Left after the connect timeout (2 s), not after an operation timeout; then passed over.
            let failure = try #require(provider.servers.failure(hole.url))
            #expect(failure.reason.contains("no answer within the connect timeout (2 s)"), "\(failure.reason)")
            #expect(provider.servers.ordered() == [d.url, hole.url])
            #expect(try await c.logIn("bob", "bob-secret").status == 200)
            #expect(try await c.logIn("alice", "alice-secret").status == 200)
            #expect(hole.accepted == 1)
            // After the back-off the first URL is tried again (and, still silent, passed over again).
            clock.advance(by: .seconds(61))
            #expect(provider.servers.failure(hole.url) == nil && provider.servers.ordered().first == hole.url)
            #expect(try await c.logIn("alice", "alice-secret").status == 200)
            #expect(hole.accepted == 2)
            #expect(provider.servers.failure(hole.url) != nil)
        }
    }

    @Test func aLockedAccountLosesItsSessionsAtTheNextRefresh() async throws {
        try await app(d.identity(sessions: "sessions: { roleRefreshSeconds: 1 }")).run { c async throws in
            let eve = try await c.token("eve", "eve-secret")
            let bob = try await c.token("bob", "bob-secret")
            let lock = "dn: uid=eve,ou=people,\(d.base)\nchangetype: modify\nadd: pwdAccountLockedTime\npwdAccountLockedTime: 000001010000Z\n"
            try d.modify(lock)
            defer { try? d.modify("dn: uid=eve,ou=people,\(d.base)\nchangetype: modify\ndelete: pwdAccountLockedTime\n") }
            var me = try await c.get("/parse/users/me", headers: ParseClient.session(eve))
            for _ in 0..<40 where me.status == 200 {
                try await Task.sleep(for: .milliseconds(250))
                me = try await c.get("/parse/users/me", headers: ParseClient.session(eve))
            }
            #expect(me.code == 209)
            #expect(try await c.get("/parse/users/me", headers: ParseClient.session(bob)).status == 200)
            let again = try await c.logIn("eve", "eve-secret")
            #expect(again.code == 119 && again.errorMessage.contains("locked"))
        }
    }

    @Test func nestedGroupsNeedActiveDirectory() async throws {
        let groups = """
            groups:
              search:
                baseDN: ou=groups,\(d.base)
                filter: "(member={dn})"
              nested: true
        """
        let app = try app(d.identity(groups: groups))
        let findings = await app.configuration.identityProviders[0].verify(logger: .init(label: "test"))
        #expect(findings.contains { $0.severity == .error && $0.message.contains("groups.nested: true needs Active Directory") }, "\(findings)")
        try await app.run { c async throws in
            // OpenLDAP answers the 1.2.840.113556.1.4.1941 rule with no match and no error: silently missing roles.
            let r = try await c.logIn("alice", "alice-secret")
            #expect(r.status == 400 && r.code == 108 && r.errorMessage.contains("The directory corp cannot be used"), "\(r.text)")
        }
    }

    @Test func directBindReadsTheEntryWithTheServiceAccountOrDegrades() async throws {
        let withService = """
            bind:
              strategy: directBind
              dnTemplate: "uid={username},ou=people,\(d.base)"
              serviceDN: \(d.readerDN)
              servicePassword: ${LDAP_READER_PASSWORD}
        """
        try await app(d.identity(bind: withService)).run { c async throws in
            // hana cannot read her own entry; the service account can.
            let hana = try await c.logIn("hana", "hana-secret")
            #expect(hana.status == 200 && hana["department"]?.stringValue == "Research" && hana["displayName"]?.stringValue == "Hana Hidden")
            let alice = try await c.token("alice", "alice-secret")
            #expect(try await roles(c, alice) == ["Admin", "Engineer", "VPN", "Employee"])
            #expect(try await c.logIn("hana", "wrong").code == 101)
        }
        let alone = """
            bind:
              strategy: directBind
              dnTemplate: "uid={username},ou=people,\(d.base)"
        """
        try await app(d.identity(bind: alone)).run { c async throws in
            // Without a service account: the bind proved the name; what the entry holds stays unknown.
            let hana = try await c.logIn("hana", "hana-secret")
            #expect(hana.status == 200 && hana["username"]?.stringValue == "hana" && hana["department"] == nil)
            let token = hana["sessionToken"]?.stringValue ?? ""
            #expect(try await roles(c, token) == ["Employee"])
        }
    }

    @Test func certificateFailuresSayCertificate() async throws {
        let app = try app(d.identity(urls: [d.ldapsURL], tls: "    caFile: \(d.otherCAFile)"))
        let findings = await app.configuration.identityProviders[0].verify(logger: .init(label: "test"))
        #expect(findings.contains { $0.severity == .error && $0.message.contains("certificate problem with \(d.ldapsURL)") }, "\(findings)")
        let startTLS = try self.app(d.identity(tls: "    startTLS: required\n    caFile: \(d.otherCAFile)"))
        let more = await startTLS.configuration.identityProviders[0].verify(logger: .init(label: "test"))
        #expect(more.contains { $0.severity == .error && $0.message.contains("certificate problem with \(d.url)") }, "\(more)")
        try await app.run { c async throws in
            let r = try await c.logIn("alice", "alice-secret")
            #expect(r.status == 503 && r.code == 100)
        }
    }

    @Test func accountStatesFromTheEntry() {
        func entry(_ values: [String: String]) -> LDAPEntry {
            LDAPEntry(dn: "cn=x", values: Dictionary(uniqueKeysWithValues: values.map { ($0.key.lowercased(), [Array($0.value.utf8)]) }))
        }
        let block = { (values: [String: String]) in LDAPIdentityProvider.accountBlock(entry(values)) }
        #expect(block(["userAccountControl": "512", "accountExpires": "9223372036854775807", "lockoutTime": "0"]) == nil)
        #expect(block(["userAccountControl": "514"])?.contains("disabled") == true)
        #expect(block(["userAccountControl": "512", "msDS-User-Account-Control-Computed": "16"])?.contains("locked") == true)
        // The server's computed flag knows that a lockout has ended; without it, lockoutTime > 0 counts.
        #expect(block(["msDS-User-Account-Control-Computed": "0", "lockoutTime": "134406363687782960"]) == nil)
        #expect(block(["lockoutTime": "134406363687782960"])?.contains("locked") == true)
        #expect(block(["accountExpires": "116444736000000000"])?.contains("expired") == true)
        #expect(block(["accountExpires": "0"]) == nil)
        #expect(block(["accountExpires": "\(Int64(Date().addingTimeInterval(86_400).timeIntervalSince1970 + 11_644_473_600) * 10_000_000)"]) == nil)
        #expect(block(["pwdAccountLockedTime": "000001010000Z"])?.contains("locked") == true)
        #expect(block(["nsAccountLock": "TRUE"])?.contains("locked") == true)
        #expect(block(["nsAccountLock": "false"]) == nil)
    }

    @Test func typedDomainsAndSuffixesOnActiveDirectoryOnly() {
        var settings = LDAPSettings(urls: ["ldap://127.0.0.1"])
        settings.baseDN = "DC=corp,DC=example,DC=com"
        let p = LDAPIdentityProvider(name: "ad", settings: settings)
        #expect(p.accountName("CORP\\alice", activeDirectory: true) == "alice")
        #expect(p.accountName("corp.example.com\\alice", activeDirectory: true) == "alice")
        #expect(p.accountName("alice@Corp.Example.com", activeDirectory: true) == "alice")
        #expect(p.accountName("alice", activeDirectory: true) == "alice")
        #expect(p.accountName("OTHER\\alice", activeDirectory: true) == nil)
        #expect(p.accountName("alice@other.example", activeDirectory: true) == nil)
        #expect(p.accountName("CORP\\", activeDirectory: true) == nil)
        // Elsewhere a name is what was typed (uid may well be an e-mail address).
        #expect(p.accountName("alice@corp.example.com", activeDirectory: false) == "alice@corp.example.com")
        settings.domain = "CORPNET"
        settings.upnSuffix = "corp.example.org"
        let q = LDAPIdentityProvider(name: "ad", settings: settings)
        #expect(q.accountName("corpnet\\bob", activeDirectory: true) == "bob" && q.accountName("bob@corp.example.org", activeDirectory: true) == "bob")
    }

    @Test func configurationErrorsNameTheKey() throws {
        let missing = """
        identityProviders:
          - kind: ldap
            urls: [\(d.url)]
            bind:
              strategy: searchThenBind
              baseDN: ou=people,\(d.base)
        """
        #expect(throws: ConfigErrors.self) { try ParseTestApp(identity: missing, identityFactories: TestDirectory.identityFactories) }
        do { _ = try ParseTestApp(identity: missing, identityFactories: TestDirectory.identityFactories) } catch let e as ConfigErrors {
            #expect(e.errors.first?.description.contains("identityProviders[0].bind: missing key 'serviceDN'") == true, "\(e.errors)")
        } catch {}
        let strategy = missing.replacingOccurrences(of: "searchThenBind", with: "guess")
        do { _ = try ParseTestApp(identity: strategy, identityFactories: TestDirectory.identityFactories) } catch let e as ConfigErrors {
            #expect(e.errors.first?.description.contains("expected one of searchThenBind, directBind, userPrincipalName, downLevel") == true)
        } catch {}
        let method = """
        identityProviders:
          - kind: ldap
            urls: [\(d.url)]
            bind:
              strategy: directBind
              dnTemplate: "uid={username},ou=people,\(d.base)"
            groups:
              search: { baseDN: "ou=groups,\(d.base)", filter: "(member={dn})" }
              nested: true
              nestedMethod: guess
        """
        #expect(throws: ConfigErrors.self) { try ParseTestApp(identity: method, identityFactories: TestDirectory.identityFactories) }
        do { _ = try ParseTestApp(identity: method, identityFactories: TestDirectory.identityFactories) } catch let e as ConfigErrors {
            #expect(e.errors.first?.description.contains("expected 'tokenGroups' or 'inChain', found 'guess'") == true, "\(e.errors)")
        } catch {}
    }
}

/// The LDAP provider never consults the store; a store that fails loudly if it is used.
struct SQLiteMetadataStoreStub: MetadataStore {
    func start(logger: Logger) async throws {}
    func shutdown() async {}
    func user(objectId: String) async throws -> UserRecord? { nil }
    func user(username: String) async throws -> UserRecord? { nil }
    func allUsers() async throws -> [UserRecord] { [] }
    func findUsers(_ query: UserQuery) async throws -> UserQueryResult { UserQueryResult(users: [], count: nil) }
    func roleNames() async throws -> [String] { [] }
    func insertUser(_ user: UserRecord) async throws {}
    func updateUser(_ user: UserRecord) async throws {}
    func deleteUser(objectId: String) async throws {}
    func insertSession(_ session: SessionRecord) async throws {}
    func session(tokenHash: String) async throws -> SessionRecord? { nil }
    func deleteSession(tokenHash: String) async throws {}
    func deleteSessions(userId: String) async throws {}
    func deleteExpiredSessions(before: ParseDate) async throws -> Int { 0 }
    func usersWithSessions(now: ParseDate) async throws -> [UserRecord] { [] }
    func insertAdminSession(tokenHash: String, expiresAt: ParseDate) async throws {}
    func adminSessionExpiry(tokenHash: String) async throws -> ParseDate? { nil }
    func deleteAdminSession(tokenHash: String) async throws {}
}

import CausewayCore
import CausewayHTTPTesting
@testable import CausewayLDAP
import CausewayTesting
import Foundation
import Testing

/// The Samba Active Directory domain controller that `scripts/samba-ad.sh start` provisions (see the seed there).
struct TestActiveDirectory {
    let url: String, ldapsURL: String, caFile: String, otherCAFile: String, base: String, domain: String
    let adminDN: String, adminPassword: String, serviceDN: String, servicePassword: String, userPassword: String

    static func fromEnvironment() throws -> TestActiveDirectory {
        let e = ProcessInfo.processInfo.environment
        guard let url = e["CAUSEWAY_TEST_AD_URL"], let ldaps = e["CAUSEWAY_TEST_AD_LDAPS_URL"], let ca = e["CAUSEWAY_TEST_AD_CA_FILE"],
              let other = e["CAUSEWAY_TEST_AD_OTHER_CA_FILE"], let base = e["CAUSEWAY_TEST_AD_BASE"], let domain = e["CAUSEWAY_TEST_AD_DOMAIN"],
              let admin = e["CAUSEWAY_TEST_AD_ADMIN_DN"], let adminPassword = e["CAUSEWAY_TEST_AD_ADMIN_PASSWORD"],
              let service = e["CAUSEWAY_TEST_AD_SERVICE_DN"], let servicePassword = e["CAUSEWAY_TEST_AD_SERVICE_PASSWORD"],
              let userPassword = e["CAUSEWAY_TEST_AD_USER_PASSWORD"] else { throw MissingDirectory() }
        return TestActiveDirectory(url: url, ldapsURL: ldaps, caFile: ca, otherCAFile: other, base: base, domain: domain, adminDN: admin,
                                   adminPassword: adminPassword, serviceDN: service, servicePassword: servicePassword, userPassword: userPassword)
    }

    struct MissingDirectory: Error, CustomStringConvertible {
        var description: String {
            "CAUSEWAY_TEST_AD_* is not set: the Active Directory tests need the Samba AD DC that scripts/test.sh starts (scripts/samba-ad.sh start, then source the env file it prints)"
        }
    }

    var ou: String { "OU=Causeway,\(base)" }
    var environment: [String: String] { ["AD_SERVICE_PASSWORD": servicePassword] }

    enum Strategy: CaseIterable { case searchThenBind, userPrincipalName, downLevel }

    func bind(_ strategy: Strategy) -> String {
        switch strategy {
        case .searchThenBind:
            return """
                bind:
                  strategy: searchThenBind
                  serviceDN: "\(serviceDN)"
                  servicePassword: ${AD_SERVICE_PASSWORD}
                  baseDN: "\(ou)"
                  filter: "(&(objectClass=user)(sAMAccountName={username}))"
            """
        case .userPrincipalName:
            return """
                bind:
                  strategy: userPrincipalName
                  upnSuffix: corp.example.com
                  baseDN: "\(ou)"
                  serviceDN: "\(serviceDN)"
                  servicePassword: ${AD_SERVICE_PASSWORD}
            """
        case .downLevel:
            return """
                bind:
                  strategy: downLevel
                  domain: \(domain)
                  baseDN: "\(ou)"
                  serviceDN: "\(serviceDN)"
                  servicePassword: ${AD_SERVICE_PASSWORD}
            """
        }
    }

    var nestedGroups: String {
        """
            groups:
              memberOfAttribute: memberOf
              search:
                baseDN: "OU=Groups,\(ou)"
                filter: "(member={dn})"
              nested: true
              pageSize: 1000
              roles:
                "CN=App Admins,OU=Groups,\(ou)": Admin
                engineering: Engineer
                staff: Staff
                sales: Sales
              defaultRoles: [Employee]
        """
    }

    func identity(_ strategy: Strategy, urls: [String]? = nil, tls: String = "", groups: String? = nil, sessions: String = "") -> String {
        """
        identityProviders:
          - name: ad
            kind: ldap
            urls: [\((urls ?? [url]).joined(separator: ", "))]
            timeoutSeconds: 30
            connectTimeoutSeconds: 10
            usernameAttribute: sAMAccountName
            idAttribute: objectGUID
            attributes: { department: department }
        \(tls)
        \(bind(strategy))
        \(groups ?? nestedGroups)
        loginThrottle: { maxFailuresPerUser: 50, maxFailuresPerAddress: 1000 }
        \(sessions)
        """
    }

    /// ldapmodify as the domain's Administrator.
    func modify(_ ldif: String) throws {
        let file = NSTemporaryDirectory() + "causeway-ad-ldif-\(UUID().uuidString)"
        try ldif.write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        #expect(spawnAndWait(["/usr/bin/ldapmodify", "-x", "-H", url, "-D", adminDN, "-w", adminPassword, "-f", file]) == 0, "ldapmodify")
    }
}

/// Logins against a real Active Directory (Samba 4 AD DC). Serialized: one test disables an account for a while.
@Suite(.serialized) struct ActiveDirectoryTests {
    let ad: TestActiveDirectory
    init() throws { ad = try TestActiveDirectory.fromEnvironment() }

    func app(_ identity: String) throws -> ParseTestApp {
        try ParseTestApp(environment: ad.environment, identity: identity, identityFactories: TestDirectory.identityFactories)
    }

    @Test(arguments: TestActiveDirectory.Strategy.allCases)
    func logsInWithEachStrategyAndEveryTypedForm(_ strategy: TestActiveDirectory.Strategy) async throws {
        try await app(ad.identity(strategy)).run { c async throws in
            let alice = try await c.logIn("alice", ad.userPassword)
            #expect(alice.status == 200, "\(alice.text)")
            #expect(alice["username"]?.stringValue == "alice" && alice["email"]?.stringValue == "alice@corp.example.com")
            #expect(alice["department"]?.stringValue == "Engineering" && alice["authProvider"]?.stringValue == "ad")
            let token = alice["sessionToken"]?.stringValue ?? ""
            // App Admins by DN and Engineering by CN through memberOf; Staff only through nesting (Engineering ⊂ Staff).
            #expect(try await roles(c, token) == ["Admin", "Engineer", "Staff", "Employee"])
            // The same account whichever way it is typed: no second suffix or domain is added.
            for typed in ["CORP\\alice", "corp\\ALICE", "alice@corp.example.com", "Alice@CORP.EXAMPLE.COM"] {
                let r = try await c.logIn(typed, ad.userPassword)
                #expect(r.status == 200 && r["objectId"] == alice["objectId"], "\(typed): \(r.text)")
            }
            for typed in ["OTHER\\alice", "alice@other.example.com", "alice@", "\\alice"] {
                #expect(try await c.logIn(typed, ad.userPassword).code == 101, "\(typed)")
            }
            let wrong = try await c.logIn("alice", "not-her-password")
            let unknown = try await c.logIn("nobody", ad.userPassword)
            #expect(wrong.status == 404 && wrong.code == 101 && wrong.text == unknown.text)
            let bob = try await c.token("bob", ad.userPassword)
            #expect(try await roles(c, bob) == ["Sales", "Employee"])
        }
    }

    @Test(arguments: TestActiveDirectory.Strategy.allCases)
    func accountsThatMayNotLogInAreRefusedClearly(_ strategy: TestActiveDirectory.Strategy) async throws {
        try await app(ad.identity(strategy)).run { c async throws in
            let expected = [
                "dora": "The account is disabled.",
                "lou": "The account is locked; ask IT to unlock it or wait for the lockout to end.",
                "exa": "The account has expired.",
                "max": "The password must be changed; change it in the directory, then log in again.",
            ]
            for (user, message) in expected.sorted(by: { $0.key < $1.key }) {
                let r = try await c.logIn(user, ad.userPassword)
                #expect(r.status == 400 && r.code == 119 && r.errorMessage == message, "\(user): \(r.text)")
            }
        }
    }

    @Test func groupSearchesPageAtADsPageSize() async throws {
        let groups = """
            groups:
              search:
                baseDN: "OU=Groups,\(ad.ou)"
                filter: "(member={dn})"
              nested: true
              pageSize: 1000
              unmappedGroups: cn
        """
        try await app(ad.identity(.searchThenBind, groups: groups)).run { c async throws in
            // pat is in 1,100 groups: two pages of the direct search; the nested ones through tokenGroups.
            let token = try await c.token("pat", ad.userPassword)
            let id = try await c.get("/parse/users/me", headers: ParseClient.session(token))["objectId"]?.stringValue ?? ""
            let pointer = #"{"__type":"Pointer","className":"_User","objectId":"\#(id)"}"#
            let all = try await c.find("_Role", ["where": #"{"users":\#(pointer)}"#, "count": "1", "limit": "0"], headers: ParseClient.session(token))
            #expect(all["count"] == .int(1100))
        }
        // 1,100 users under one OU, read through the connection the provider uses: two pages of 1,000.
        var settings = LDAPSettings(urls: [ad.url])
        settings.serviceDN = ad.serviceDN
        settings.servicePassword = ad.servicePassword
        let provider = LDAPIdentityProvider(name: "ad", settings: settings)
        let (count, pages) = try provider.withService { c in
            (try c.search(base: "OU=Bulk,\(ad.ou)", scope: .oneLevel, filter: "(objectClass=user)", attributes: ["sAMAccountName"],
                          pageSize: 1000, limit: 5000).count, c.pagesRead)
        }
        #expect(count == 1100 && pages == 2)
    }

    /// Nested groups come from the entry's tokenGroups (one base read, SIDs resolved in batches and cached),
    /// not from the in-chain search, and give exactly the groups the in-chain search gives.
    @Test func nestedGroupsComeFromTokenGroups() async throws {
        func provider(tokenGroups: Bool) -> LDAPIdentityProvider {
            var s = LDAPSettings(urls: [ad.url])
            s.serviceDN = ad.serviceDN
            s.servicePassword = ad.servicePassword
            s.groupBaseDN = "OU=Groups,\(ad.ou)"  // no memberOf, no direct search: only the nested strategy
            s.nestedGroups = true
            s.pageSize = 1000
            s.useTokenGroups = tokenGroups
            return LDAPIdentityProvider(name: "ad", settings: s)
        }
        struct NoEntry: Error {}
        func groups(_ p: LDAPIdentityProvider, _ user: String) throws -> [String: String?] {
            try p.withService { c in
                guard let entry = try c.search(base: ad.ou, scope: .subtree, filter: "(sAMAccountName=\(user))", attributes: ["cn"],
                                               pageSize: 0, limit: 1).first else { throw NoEntry() }
                return try p.groups(of: entry, username: user, via: c)
            }
        }
        let tokens = provider(tokenGroups: true), chain = provider(tokenGroups: false)
        let alice = try groups(tokens, "alice")
        #expect(Set(alice.values.compactMap { $0 }) == ["Engineering", "Staff", "App Admins"], "\(alice)")
        #expect(alice == (try groups(chain, "alice")))
        #expect(tokens.tokenGroupsReads.load(ordering: .relaxed) == 1 && tokens.sidSearches.load(ordering: .relaxed) == 1)
        #expect(tokens.inChainSearches.load(ordering: .relaxed) == 0)
        #expect(chain.inChainSearches.load(ordering: .relaxed) == 1 && chain.tokenGroupsReads.load(ordering: .relaxed) == 0)
        // Again: one read of the entry, the SIDs come from the cache.
        #expect(try groups(tokens, "alice") == alice)
        #expect(tokens.tokenGroupsReads.load(ordering: .relaxed) == 2 && tokens.sidSearches.load(ordering: .relaxed) == 1)
        // pat is in 1,100 groups: their SIDs are resolved 200 per search (the domain-wide ones are cached from alice).
        let pat = try groups(tokens, "pat")
        #expect(pat.count == 1100)
        #expect(tokens.sidSearches.load(ordering: .relaxed) == 1 + 6)
        #expect(pat == (try groups(chain, "pat")))
        #expect(tokens.inChainSearches.load(ordering: .relaxed) == 0)
        // The refresh path skips the cache (a renamed group shows at the next role refresh).
        let before = tokens.sidSearches.load(ordering: .relaxed)
        let fresh = try tokens.withService { c -> [String: String?] in
            guard let entry = try c.search(base: ad.ou, scope: .subtree, filter: "(sAMAccountName=alice)", attributes: ["cn"],
                                           pageSize: 0, limit: 1).first else { throw NoEntry() }
            return try tokens.groups(of: entry, username: "alice", via: c, fresh: true)
        }
        #expect(fresh == alice && tokens.sidSearches.load(ordering: .relaxed) == before + 1)
    }

    @Test func aDisabledAccountLosesItsSessionsAtTheNextRefresh() async throws {
        let erin = "CN=erin,OU=People,\(ad.ou)"
        try await app(ad.identity(.userPrincipalName, sessions: "sessions: { roleRefreshSeconds: 1 }")).run { c async throws in
            let token = try await c.token("erin", ad.userPassword)
            let bob = try await c.token("bob", ad.userPassword)
            #expect(try await roles(c, token) == ["Engineer", "Staff", "Employee"])
            try ad.modify("dn: \(erin)\nchangetype: modify\nreplace: userAccountControl\nuserAccountControl: 514\n")
            defer { try? ad.modify("dn: \(erin)\nchangetype: modify\nreplace: userAccountControl\nuserAccountControl: 512\n") }
            var me = try await c.get("/parse/users/me", headers: ParseClient.session(token))
            for _ in 0..<40 where me.status == 200 {
                try await Task.sleep(for: .milliseconds(250))
                me = try await c.get("/parse/users/me", headers: ParseClient.session(token))
            }
            #expect(me.code == 209)
            #expect(try await c.get("/parse/users/me", headers: ParseClient.session(bob)).status == 200)
            #expect(try await c.logIn("erin", ad.userPassword).errorMessage == "The account is disabled.")
        }
    }

    @Test func ldapsAndCertificateProblems() async throws {
        try await app(ad.identity(.downLevel, urls: [ad.ldapsURL], tls: "    caFile: \(ad.caFile)")).run { c async throws in
            #expect(try await c.logIn("CORP\\alice", ad.userPassword).status == 200)
        }
        // The certificate names 127.0.0.1 and causewaydc.corp.example.com, not this machine's name for localhost.
        let mismatch = "ldaps://localhost:636"
        let wrongHost = try app(ad.identity(.downLevel, urls: [mismatch], tls: "    caFile: \(ad.caFile)"))
        let hostFindings = await wrongHost.configuration.identityProviders[0].verify(logger: .init(label: "test"))
        #expect(hostFindings.contains { $0.severity == .error && $0.message.contains("certificate problem with \(mismatch)") }, "\(hostFindings)")
        try await wrongHost.run { c async throws in
            let r = try await c.logIn("alice", ad.userPassword)
            #expect(r.status == 503 && r.code == 100, "\(r.text)")
        }
        let wrongCA = try app(ad.identity(.downLevel, urls: [ad.ldapsURL], tls: "    caFile: \(ad.otherCAFile)"))
        let caFindings = await wrongCA.configuration.identityProviders[0].verify(logger: .init(label: "test"))
        #expect(caFindings.contains { $0.severity == .error && $0.message.contains("certificate problem with \(ad.ldapsURL)") }, "\(caFindings)")
    }

    @Test func checkProbesNestedGroupsOnActiveDirectory() async throws {
        let app = try app(ad.identity(.searchThenBind))
        let findings = await app.configuration.identityProviders[0].verify(logger: .init(label: "test"))
        #expect(!findings.contains { $0.severity == .error }, "\(findings)")
        #expect(findings.contains { $0.severity == .ok && $0.message.contains("service account bound") })
    }
}

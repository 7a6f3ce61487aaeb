import CausewayCore
import CausewayHTTPTesting
import Foundation
import SQLiteNIO
import Testing

/// Parse's user and session API with the local identity provider.
@Suite struct UserAPITests {
    static let identity = ParseTestApp.localIdentity

    static func signUp(_ c: ParseClient, _ username: String, _ password: String = "long enough", extra: String = "") async throws -> ParseResult {
        try await c.request(.post, "/parse/users", #"{"username":"\#(username)","password":"\#(password)"\#(extra)}"#)
    }

    @Test func signUpAnswersLikeParse() async throws {
        try await ParseTestApp(identity: Self.identity).run { c in
            let r = try await Self.signUp(c, "ann", extra: #","email":"ann@example.com","department":"IT""#)
            #expect(r.status == 201)
            let id = r["objectId"]?.stringValue ?? ""
            #expect(id.count == 10 && r["createdAt"]?.stringValue != nil)
            let token = r["sessionToken"]?.stringValue ?? ""
            #expect(token.hasPrefix("r:") && token.count == 34 && token.dropFirst(2).allSatisfy(\.isHexDigit))
            #expect(r.headers[.init("Location")!] == "http://127.0.0.1:1337/parse/users/\(id)")

            #expect(try await Self.signUp(c, "ann").code == 202)
            #expect(try await Self.signUp(c, "other", extra: #","email":"ann@example.com""#).code == 203)
            #expect(try await Self.signUp(c, "third", extra: #","email":"not an email""#).code == 125)
            #expect(try await c.request(.post, "/parse/users", #"{"password":"long enough"}"#).code == 200)
            #expect(try await c.request(.post, "/parse/users", #"{"username":"x"}"#).code == 201)
            #expect(try await c.request(.post, "/parse/users", #"{"username":"x","password":""}"#).code == 201)
            let short = try await Self.signUp(c, "shorty", "abc")
            #expect(short.code == 142 && short.errorMessage.contains("at least 8"))
            #expect(try await Self.signUp(c, "fields", extra: #","salary":"1""#).code == 105)
            #expect(try await Self.signUp(c, "typed", extra: #","department":7"#).code == 111)
        }
    }

    @Test func loginMeSessionAndLogout() async throws {
        try await ParseTestApp(identity: Self.identity).run { c in
            _ = try await Self.signUp(c, "ben", extra: #","email":"ben@example.com","department":"Ops""#)
            let login = try await c.logIn("ben", "long enough")
            #expect(login.status == 200 && login["username"]?.stringValue == "ben" && login["department"]?.stringValue == "Ops")
            #expect(login["password"] == nil && login["passwordHash"] == nil && !login.text.contains("pbkdf2"))
            let token = login["sessionToken"]?.stringValue ?? ""

            let viaGet = try await c.get("/parse/login?username=ben&password=long%20enough")
            #expect(viaGet.status == 200 && viaGet["sessionToken"]?.stringValue != token)

            let me = try await c.get("/parse/users/me", headers: ParseClient.session(token))
            #expect(me.status == 200 && me["objectId"] == login["objectId"] && me["sessionToken"]?.stringValue == token)
            let session = try await c.get("/parse/sessions/me", headers: ParseClient.session(token))
            #expect(session["user"]?["objectId"] == login["objectId"] && session["createdWith"]?["action"]?.stringValue == "login")
            #expect(session["expiresAt"]?["__type"]?.stringValue == "Date" && session["restricted"] == .bool(false))

            #expect(try await c.get("/parse/users/me").code == 209)
            #expect(try await c.get("/parse/sessions/me").errorMessage == "Session token required.")

            #expect(try await c.request(.post, "/parse/logout", headers: ParseClient.session(token)).status == 200)
            let after = try await c.get("/parse/users/me", headers: ParseClient.session(token))
            #expect(after.status == 400 && after.code == 209 && after.errorMessage == "Invalid session token")
            // The other session (from GET /login) still works.
            #expect(try await c.get("/parse/users/me", headers: ParseClient.session(viaGet["sessionToken"]?.stringValue ?? "")).status == 200)
        }
    }

    @Test func wrongPasswordAndUnknownUserLookTheSame() async throws {
        try await ParseTestApp(identity: Self.identity).run { c in
            _ = try await Self.signUp(c, "cat")
            let wrong = try await c.logIn("cat", "not the password")
            let unknown = try await c.logIn("nobody", "long enough")
            #expect(wrong.status == 404 && wrong.code == 101 && wrong.errorMessage == "Invalid username/password.")
            #expect(wrong.text == unknown.text && wrong.status == unknown.status)
            #expect(try await c.request(.post, "/parse/login", #"{"username":"cat","password":12345678}"#).code == 101)
            #expect(try await c.request(.post, "/parse/login", #"{"password":"x"}"#).code == 200)
            #expect(try await c.request(.post, "/parse/login", #"{"username":"cat"}"#).code == 201)
        }
    }

    @Test func repeatedFailuresAreThrottledPerUsername() async throws {
        try await ParseTestApp(identity: Self.identity).run { c in
            _ = try await Self.signUp(c, "dan")
            _ = try await Self.signUp(c, "eve")
            for _ in 0..<5 { #expect(try await c.logIn("dan", "guess guess").code == 101) }
            let blocked = try await c.logIn("dan", "long enough")
            #expect(blocked.status == 429 && blocked.code == 155 && blocked.errorMessage.contains("Too many failed logins"))
            #expect(try await c.logIn("eve", "long enough").status == 200)
        }
    }

    @Test func tokensAreStoredOnlyAsHashes() async throws {
        let app = try ParseTestApp(identity: Self.identity)
        let path = app.metadataStorePath
        try await app.run { c in
            let token = try await Self.signUp(c, "fay")["sessionToken"]?.stringValue ?? ""
            let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
            let wal = (try? Data(contentsOf: URL(fileURLWithPath: path + "-wal"))) ?? Data()
            for file in [bytes, wal] {
                #expect(file.range(of: Data(token.utf8)) == nil)
                #expect(file.range(of: Data("long enough".utf8)) == nil)
            }
            #expect(bytes.range(of: Data(SessionToken.hash(token).utf8)) != nil || wal.range(of: Data(SessionToken.hash(token).utf8)) != nil)
        }
    }

    @Test func classPermissionsFollowUsersAndRoles() async throws {
        try await ParseTestApp(identity: Self.identity).run { c in
            _ = try await Self.signUp(c, "root")
            _ = try await Self.signUp(c, "gus")
            let root = try await c.token("root", "long enough")
            let gus = try await c.token("gus", "long enough")
            // Private: find needs role:Admin, get needs any signed-in user.
            #expect(try await c.get("/parse/classes/Private").code == 119)
            #expect(try await c.get("/parse/classes/Private", headers: ParseClient.session(gus)).code == 119)
            #expect(try await c.get("/parse/classes/Private", headers: ParseClient.session(root)).status == 200)
            #expect(try await c.get("/parse/classes/Private/nope", headers: ParseClient.session(gus)).code == 101)
            #expect(try await c.get("/parse/classes/Private/nope").code == 119)
            // Roles: Employee for everyone, Admin for root.
            let roles = try await c.get("/parse/roles", headers: ParseClient.session(gus))
            #expect(Set(roles.ids()) == ["Admin", "Employee"])
            let rootId = try await c.get("/parse/users/me", headers: ParseClient.session(root))["objectId"]?.stringValue ?? ""
            let mine = try await c.find("_Role", ["where": #"{"users":{"__type":"Pointer","className":"_User","objectId":"\#(rootId)"}}"#],
                                        headers: ParseClient.session(root))
            #expect(Set(mine.ids()) == ["Admin", "Employee"])
            let gusId = try await c.get("/parse/users/me", headers: ParseClient.session(gus))["objectId"]?.stringValue ?? ""
            let his = try await c.find("_Role", ["where": #"{"users":{"__type":"Pointer","className":"_User","objectId":"\#(gusId)"}}"#],
                                       headers: ParseClient.session(gus))
            #expect(his.ids() == ["Employee"])
            let both = try await c.find("_Role", ["where": #"{"users":{"$in":["\#(gusId)",{"__type":"Pointer","className":"_User","objectId":"\#(rootId)"}]}}"#],
                                        headers: ParseClient.session(gus))
            #expect(Set(both.ids()) == ["Admin", "Employee"])
            let nobody = try await c.find("_Role", ["where": #"{"users":{"__type":"Pointer","className":"_User","objectId":"nobody"}}"#],
                                          headers: ParseClient.session(gus))
            #expect(nobody.status == 200 && nobody.ids() == [])
            let admin = try await c.find("_Role", ["where": #"{"name":"Admin"}"#, "count": "1"], headers: ParseClient.session(gus))
            #expect(admin.ids() == ["Admin"] && admin["count"] == .int(1))
            #expect(try await c.find("_Role", ["where": #"{"users":{"$gt":"a"}}"#], headers: ParseClient.session(gus)).code == 102)
            #expect(try await c.request(.post, "/parse/roles", #"{"name":"Mine"}"#, headers: ParseClient.session(gus)).code == 119)
        }
    }

    @Test func usersAsAClass() async throws {
        try await ParseTestApp(identity: Self.identity).run { c in
            _ = try await Self.signUp(c, "hal", extra: #","email":"hal@example.com","department":"IT""#)
            _ = try await Self.signUp(c, "ivy", extra: #","email":"ivy@example.com","department":"HR""#)
            let hal = try await c.token("hal", "long enough")
            #expect(try await c.get("/parse/users").code == 119)
            let it = try await c.find("_User", ["where": #"{"department":"IT"}"#], headers: ParseClient.session(hal))
            #expect(it.ids("username") == ["hal"] && it.results.first?["email"]?.stringValue == "hal@example.com")
            let hr = try await c.find("_User", ["where": #"{"department":"HR"}"#, "count": "1"], headers: ParseClient.session(hal))
            #expect(hr.ids("username") == ["ivy"] && hr.results.first?["email"] == nil && hr["count"] == .int(1))
            let ivyId = hr.results.first?["objectId"]?.stringValue ?? ""
            let ivy = try await c.get("/parse/users/\(ivyId)", headers: ParseClient.session(hal))
            #expect(ivy["username"]?.stringValue == "ivy" && ivy["email"] == nil && ivy["sessionToken"] == nil)
            let unknownField = try await c.find("_User", ["where": #"{"salary":1}"#], headers: ParseClient.session(hal))
            #expect(unknownField.status == 400 && [102, 105].contains(unknownField.code ?? 0))
            let master = try await c.get("/parse/users/\(ivyId)", headers: ParseClient.masterHeaders)
            #expect(master["email"]?.stringValue == "ivy@example.com")

            // Updates: only oneself (or the master key).
            #expect(try await c.request(.put, "/parse/users/\(ivyId)", #"{"department":"IT"}"#, headers: ParseClient.session(hal)).code == 206)
            #expect(try await c.request(.put, "/parse/users/\(ivyId)", #"{"department":"IT"}"#).code == 206)
            let halId = try await c.get("/parse/users/me", headers: ParseClient.session(hal))["objectId"]?.stringValue ?? ""
            #expect(try await c.request(.put, "/parse/users/\(halId)", #"{"password":"a new long one"}"#, headers: ParseClient.session(hal)).status == 200)
            #expect(try await c.logIn("hal", "long enough").code == 101)
            #expect(try await c.logIn("hal", "a new long one").status == 200)
            // Deleting a user ends their sessions.
            #expect(try await c.request(.delete, "/parse/users/\(halId)", headers: ParseClient.session(hal)).status == 200)
            #expect(try await c.get("/parse/users/me", headers: ParseClient.session(hal)).code == 209)
        }
    }

    @Test func signUpCanBeDisabled() async throws {
        let identity = "identityProviders:\n  - kind: local\n    signUp: false\n"
        try await ParseTestApp(identity: identity).run { c in
            let r = try await Self.signUp(c, "jan")
            #expect(r.code == 119 && r.errorMessage.contains("Sign-up is disabled"))
        }
    }

    @Test func withoutIdentityProvidersUserEndpointsSaySo() async throws {
        try await ParseTestApp().run { c in
            let r = try await c.request(.post, "/parse/login", #"{"username":"a","password":"b"}"#)
            #expect(r.code == 108 && r.errorMessage.contains("identityProviders"))
        }
    }

    /// Queries on `_User` run in the metadata store where they can; sub-queries cannot run there and are refused
    /// (they were once dropped, which answered every user), and a NUL in a value answers nothing, not a 500.
    @Test func queriesOnUsersFilterInTheStoreAndRefuseSubQueries() async throws {
        try await ParseTestApp(identity: Self.identity).run { c in
            for name in ["ann", "bob", "cyd"] { #expect(try await Self.signUp(c, name).status == 201) }
            let master = ParseClient.standardHeaders.merging(["X-Parse-Master-Key": ParseTestApp.masterKey]) { $1 }
            func find(_ query: String) async throws -> ParseResult {
                try await c.get("/parse/users?" + query.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "=&")))!,
                                headers: master)
            }
            #expect(try await find(#"where={"username":{"$in":["ann","cyd"]}}&order=-username&count=1"#).ids("username") == ["cyd", "ann"])
            #expect(try await find(#"where={"username":"al\u0000ice"}"#).ids("username") == [])
            for sub in [#"{"username":{"$select":{"query":{"className":"Workstation"},"key":"name"}}}"#,
                        #"{"objectId":{"$inQuery":{"className":"Workstation"}}}"#] {
                let r = try await find("where=" + sub)
                #expect(r.status == 400 && r.code == 102 && r.errorMessage.contains("not supported"), "\(sub): \(r.text)")
            }
        }
    }
}

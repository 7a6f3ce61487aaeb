@testable import CausewayCore
@testable import CausewayHTTP
import CausewayHTTPTesting
import CausewaySQLite
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Synchronization
import Testing

/// The admin page: access (master key, admin role, refusal), escaping, purge with CSRF, the error log,
/// and the statistics and charts behind it.
@Suite struct AdminPageTests {
    static let identity = ParseTestApp.localIdentity + "\nadmin:\n  role: Admin\n"
    static let cachedConnector = ParseTestApp.connectorYAML.replacingOccurrences(of: "collections:\n", with: "cache:\n  ttlSeconds: 600\ncollections:\n")

    static func app() throws -> ParseTestApp {
        try ParseTestApp(identity: identity, connectors: cachedConnector)
    }

    static let form = ["Content-Type": "application/x-www-form-urlencoded"]

    static func cookie(_ r: ParseResult) -> String? {
        guard let set = r.headers[.setCookie] else { return nil }
        return set.split(separator: ";").first.map(String.init)
    }

    static func csrf(_ html: String) -> String? {
        guard let r = html.range(of: "name=\"csrf\" value=\"") else { return nil }
        return String(html[r.upperBound...].prefix { $0 != "\"" })
    }

    static func signInWithMasterKey(_ c: ParseClient) async throws -> (cookie: String, csrf: String) {
        let login = try await c.request(.post, "/admin/login", "masterKey=\(ParseTestApp.masterKey)", headers: form)
        #expect(login.status == 303)
        let cookie = try #require(Self.cookie(login))
        let page = try await c.request(.get, "/admin", headers: ["Cookie": cookie])
        #expect(page.status == 200)
        return (cookie, try #require(Self.csrf(page.text)))
    }

    @Test func withoutCredentialsTheSignInFormIsShownAndNothingElse() async throws {
        try await Self.app().run { c in
            let r = try await c.request(.get, "/admin", headers: [:])
            #expect(r.status == 200)
            #expect(r.headers[.contentType]?.hasPrefix("text/html") == true)
            #expect(r.text.contains("id=\"login-master\"") && r.text.contains("id=\"login-user\""))
            #expect(r.text.contains("name=\"viewport\""))
            #expect(!r.text.contains("data-connector"))
            #expect(r.headers[.contentSecurityPolicy]?.contains("script-src 'self'") == true)
            // A wrong master key: 401 and the form again; actions without a session: 401.
            let wrong = try await c.request(.post, "/admin/login", "masterKey=not-the-master-key", headers: Self.form)
            #expect(wrong.status == 401 && wrong.headers[.setCookie] == nil && wrong.text.contains("id=\"login-error\""))
            #expect(try await c.request(.post, "/admin/purge", "connector=store", headers: Self.form).status == 401)
            #expect(try await c.request(.get, "/admin/admin.js", headers: [:]).status == 200)
            #expect(try await c.request(.get, "/admin/nothing", headers: [:]).status == 404)
        }
    }

    @Test func wrongMasterKeysInTheFormAreThrottledPerAddress() async throws {
        try await Self.app().run { c in
            for _ in 0..<10 {
                #expect(try await c.request(.post, "/admin/login", "masterKey=guess", headers: Self.form).status == 401)
            }
            // The eleventh attempt is refused before the key is looked at, even the right one.
            let throttled = try await c.request(.post, "/admin/login", "masterKey=\(ParseTestApp.masterKey)", headers: Self.form)
            #expect(throttled.status == 429 && throttled.headers[.setCookie] == nil && throttled.text.contains("Too many failed logins"), "\(throttled.text)")
            // Scripts sending the key as a header are not affected (as in Parse Server).
            #expect(try await c.request(.get, "/admin", headers: ["X-Parse-Master-Key": ParseTestApp.masterKey]).status == 200)
        }
    }

    @Test func theMasterKeySignsInWithAStrictHttpOnlyCookieAndSeesEveryPart() async throws {
        try await Self.app().run { c in
            let login = try await c.request(.post, "/admin/login", "masterKey=\(ParseTestApp.masterKey)", headers: Self.form)
            #expect(login.status == 303 && login.headers[.location] == "/admin/")
            let set = try #require(login.headers[.setCookie])
            #expect(set.contains("HttpOnly") && set.contains("SameSite=Strict") && set.contains("Path=/admin"))
            let page = try await c.request(.get, "/admin", headers: ["Cookie": try #require(Self.cookie(login))])
            #expect(page.status == 200)
            for part in ["data-connector=\"store\"", "data-state=\"up\"", "id=\"identity\"", "id=\"check\"", "id=\"errors\"", "<svg", "Purge cache",
                         "Workstation", "id=\"sessions\""] {
                #expect(page.text.contains(part), "missing \(part)")
            }
            // Scripts may also send the master key as a header.
            let header = try await c.request(.get, "/admin", headers: ["X-Parse-Master-Key": ParseTestApp.masterKey])
            #expect(header.status == 200 && header.text.contains("data-connector=\"store\""))
            let badHeader = try await c.request(.get, "/admin", headers: ["X-Parse-Master-Key": "wrong-key-wrong-key"])
            #expect(badHeader.status == 200 && !badHeader.text.contains("data-connector"))
        }
    }

    @Test func membersOfTheAdminRoleMayUseItOthersAreRefusedWith403() async throws {
        try await Self.app().run { c in
            #expect(try await UserAPITests.signUp(c, "root", "long enough").status == 201)
            #expect(try await UserAPITests.signUp(c, "ann", "long enough").status == 201)
            let refused = try await c.request(.post, "/admin/login", "username=ann&password=long+enough", headers: Self.form)
            #expect(refused.status == 403 && refused.headers[.setCookie] == nil)
            #expect(refused.text.contains("id=\"refused\"") && refused.text.contains("ann is signed in but is not a member of the admin role Admin"))
            let wrong = try await c.request(.post, "/admin/login", "username=root&password=wrong", headers: Self.form)
            #expect(wrong.status == 401)
            let admin = try await c.request(.post, "/admin/login", "username=root&password=long+enough", headers: Self.form)
            #expect(admin.status == 303)
            let cookie = try #require(Self.cookie(admin))
            let page = try await c.request(.get, "/admin", headers: ["Cookie": cookie])
            #expect(page.status == 200 && page.text.contains("signed in as root") && page.text.contains("data-connector=\"store\""))
            // Signing out ends the cookie's session and the Parse session behind it.
            let csrf = try #require(Self.csrf(page.text))
            #expect(try await c.request(.post, "/admin/logout", "csrf=\(csrf)", headers: Self.form.merging(["Cookie": cookie]) { $1 }).status == 303)
            let after = try await c.request(.get, "/admin", headers: ["Cookie": cookie])
            #expect(after.status == 200 && after.text.contains("id=\"login-master\"") && !after.text.contains("data-connector"))
            // A forged cookie is nobody.
            #expect(!(try await c.request(.get, "/admin", headers: ["Cookie": "causeway_admin=forged"])).text.contains("data-connector"))
        }
    }

    @Test func purgeNeedsTheCSRFTokenAndEmptiesTheConnectorsCache() async throws {
        try await Self.app().run { c in
            _ = try await c.get("/parse/classes/Workstation")
            let second = try await c.get("/parse/classes/Workstation")
            #expect(second.headers[HTTPField.Name("X-Causeway-Cache")!] == "hit")
            let (cookie, csrf) = try await Self.signInWithMasterKey(c)
            let headers = Self.form.merging(["Cookie": cookie]) { $1 }
            let page = try await c.request(.get, "/admin", headers: ["Cookie": cookie])
            #expect(page.text.contains("<dd class=\"cache-entries\">1</dd>"))
            #expect(page.text.contains("<dd class=\"hit-ratio\">50 %</dd>"))
            // Without the token, or with another one: refused, the cache untouched.
            #expect(try await c.request(.post, "/admin/purge", "connector=store", headers: headers).status == 403)
            #expect(try await c.request(.post, "/admin/purge", "connector=store&csrf=0123456789abcdef", headers: headers).status == 403)
            #expect(try await c.get("/parse/classes/Workstation").headers[HTTPField.Name("X-Causeway-Cache")!] == "hit")
            let purged = try await c.request(.post, "/admin/purge", "connector=store&csrf=\(csrf)", headers: headers)
            #expect(purged.status == 303 && purged.headers[.location]?.contains("Purged%201%20cached") == true)
            #expect(try await c.get("/parse/classes/Workstation").headers[HTTPField.Name("X-Causeway-Cache")!] == "miss")
            let notice = try await c.request(.get, try #require(purged.headers[.location]), headers: ["Cookie": cookie])
            #expect(notice.text.contains("Purged 1 cached answer(s) of store."))
            // An unknown connector: a page saying so, not a crash.
            #expect(try await c.request(.post, "/admin/purge", "connector=nope&csrf=\(csrf)", headers: headers).status == 404)
        }
    }

    @Test func errorsAreListedWithTheirRequestIdsAndEveryValueIsEscaped() async throws {
        try await Self.app().run { c in
            let hostile = "/parse/classes/%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E"
            let bad = try await c.get(hostile)
            #expect(bad.status == 400)
            _ = try await c.get("/parse/classes/Workstation/doesNotExist")
            let page = try await c.request(.get, "/admin", headers: ["X-Parse-Master-Key": ParseTestApp.masterKey])
            #expect(!page.text.contains("<img src=x"))
            #expect(page.text.contains("Invalid classname: &lt;img src=x onerror=alert(1)&gt;"))
            #expect(page.text.contains("<td>404</td>") && page.text.contains("<td>101</td>") && page.text.contains("Object not found."))
            #expect(page.text.contains("class=\"error-row\""))
            #expect(page.text.contains("class=\"rid\">") && !page.text.contains("class=\"rid\"></td>"))
        }
    }

    @Test func hostileNamesAndReasonsCannotBecomeMarkup() throws {
        let hostile = "<script>alert('x')</script>\"'&"
        let stats = ConnectorStats(connector: hostile, nowMs: { 3_600_000 })
        stats.request()
        let entry = ComponentStatus().entry("x")
        entry.set(.unavailable("<img src=x onerror=alert(2)>"))
        let page = AdminPage.dashboard(.init(
            base: "/admin", who: hostile, csrf: "t\"oken", notice: hostile, generation: 1, configFile: hostile,
            connectors: [.init(name: hostile, kind: hostile, classes: [hostile], state: entry.current, since: entry.since,
                               stats: stats.lastHour(), cache: nil)],
            identity: nil, sessions: nil, check: .init(atMs: 0, sections: [(hostile, [CheckFinding(.error, hostile, hostile)])]),
            errors: [.init(at: .now(), requestId: hostile, method: "GET", path: hostile, status: 400, code: 102, message: hostile)],
            reload: .init(at: .now(), trigger: hostile, ok: false, summary: hostile, problems: [hostile]), canReload: true))
        #expect(!page.contains("<script>alert"))
        #expect(!page.contains("<img src=x"))
        #expect(page.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&quot;&#39;&amp;"))
        #expect(page.contains("data-connector=\"&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&quot;&#39;&amp;\""))
        #expect(page.contains("value=\"t&quot;oken\""))
        // The only scripts are the page's own file.
        #expect(page.components(separatedBy: "<script").count == 2 && page.contains("<script src=\"/admin/admin.js\" defer></script>"))
    }

    @Test func statisticsKeepOneHourOfMinutesWithPercentiles() {
        let now = TestTime(10 * 60_000)
        let stats = ConnectorStats(connector: "c", nowMs: { now.value })
        for ms in [1, 1, 1, 1, 1, 1, 1, 1, 40, 900] {
            stats.request()
            stats.sourceCall(.milliseconds(ms), failed: ms == 900)
        }
        stats.cache(.hit); stats.cache(.hit); stats.cache(.miss); stats.cache(.bypass)
        var hour = stats.lastHour()
        #expect(hour.count == 60)
        let current = hour[59]
        #expect(current.requests == 10 && current.sourceErrors == 1 && current.sourceCalls == 10)
        #expect(current.latencyMs(quantile: 0.5) == 1 && current.latencyMs(quantile: 0.9) == 50 && current.latencyMs(quantile: 0.99) == 1000)
        #expect(current.hitRatio == 2.0 / 3.0)
        // Thirty minutes on: still there, 30 minutes back; 61 minutes on: gone.
        now.value += 30 * 60_000
        stats.request()
        hour = stats.lastHour()
        #expect(hour[29].requests == 10 && hour[59].requests == 1)
        #expect(stats.hourTotal().requests == 11)
        now.value += 31 * 60_000
        #expect(stats.hourTotal().requests == 1)
        now.value += 60 * 60_000
        #expect(stats.hourTotal().requests == 0 && stats.lastHour().allSatisfy { $0.requests == 0 })
        #expect(ConnectorStatsSet.isSourceError(GatewayError(.connectionFailed, "down")))
        #expect(!ConnectorStatsSet.isSourceError(GatewayError.objectNotFound()))
        #expect(!ConnectorStatsSet.isSourceError(CancellationError()))
    }

    @Test func aSourceIsFailingFromItsFirstFailedCallUntilItsNextSuccess() {
        let now = TestTime(60_000)
        let stats = ConnectorStats(connector: "c", nowMs: { now.value })
        #expect(!stats.health.failing && stats.health.lastSuccessMs == nil)
        stats.sourceCall(.milliseconds(3), error: nil)
        now.value += 1000
        stats.sourceCall(.milliseconds(3), error: "Connector 'c' is not reachable.")
        now.value += 1000
        stats.sourceCall(.milliseconds(3), error: "Connector 'c' is not reachable.")
        #expect(stats.health.failing && stats.health.failingSinceMs == 61_000 && stats.health.lastErrorMs == 62_000)
        let failing = AdminPage.dashboard(.init(
            base: "/admin", who: "m", csrf: "t", notice: nil, generation: 1, configFile: "f",
            connectors: [.init(name: "c", kind: "rest", classes: ["T"], state: .up, since: .now(), stats: stats.lastHour(), cache: nil,
                               health: stats.health, pool: PoolUsage(inUse: 3, capacity: 8, waiting: 2))],
            identity: nil, sessions: nil, check: nil, errors: [], reload: nil, canReload: false))
        #expect(failing.contains("<dd class=\"pool\">3 / 8 (2 waiting)</dd>"))
        #expect(failing.contains("data-health=\"failing\"") && failing.contains("source failing since 1970-01-01T00:01:01.000Z: Connector &#39;c&#39; is not reachable."))
        now.value += 1000
        stats.sourceCall(.milliseconds(3), error: nil)
        #expect(!stats.health.failing && stats.health.lastSuccessMs == 63_000 && stats.health.lastError != nil)
    }

    @Test func theAdminPathMustLieOutsideTheMountPath() throws {
        #expect(throws: ConfigErrors.self) { try ParseTestApp(identity: "admin:\n  path: /parse/admin\n") }
        #expect(throws: ConfigErrors.self) { try ParseTestApp(identity: "admin:\n  path: admin\n") }
        let app = try ParseTestApp(identity: "admin:\n  path: /ops/\n  enabled: true\n")
        defer { try? FileManager.default.removeItem(atPath: app.root) }
        #expect(app.configuration.gateway.admin.path == "/ops")
    }

    @Test func chartsAreInlineSVGWithGapsForMinutesWithoutData() {
        let svg = AdminCharts.svg(title: "t", unit: "", series: [.init(name: "a", cls: "s1", values: [1, 2, nil, nil, 4, 3])])
        #expect(svg.components(separatedBy: "<polyline").count == 3)
        #expect(svg.contains("points=\"0.0,32.0 48.0,2.0\"") || svg.contains("<polyline class=\"s1\" points=\"0.0,"))
        #expect(svg.contains("max 4"))
        let single = AdminCharts.svg(title: "t", unit: "", series: [.init(name: "a", cls: "s1", values: [nil, 5, nil])])
        #expect(single.contains("<circle"))
    }

    @Test func theGatewayCountsRequestsSourceCallsAndCacheOutcomesPerConnector() async throws {
        let app = try Self.app()
        try await app.run { c in
            _ = try await c.get("/parse/classes/Workstation")
            _ = try await c.get("/parse/classes/Workstation")
            _ = try await c.get("/parse/classes/Workstation/missing")
            let page = try await c.request(.get, "/admin", headers: ["X-Parse-Master-Key": ParseTestApp.masterKey])
            #expect(page.text.contains("<dd class=\"requests\">3</dd>"))
            #expect(page.text.contains("<dd class=\"source-calls\">2</dd>"))
            #expect(page.text.contains("<dd class=\"source-errors\">0</dd>"))
        }
    }
}

/// A time shared with a `@Sendable` clock closure in a test.
final class TestTime: Sendable {
    private let ms: Mutex<Int64>
    init(_ v: Int64) { ms = Mutex(v) }
    var value: Int64 {
        get { ms.withLock { $0 } }
        set { ms.withLock { $0 = newValue } }
    }
}

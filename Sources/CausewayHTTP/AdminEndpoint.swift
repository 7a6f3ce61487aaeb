import CausewayCore
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// The operator page at `admin.path` (default `/admin`), outside the Parse mount path.
///
/// Who may use it: the master key (typed once into the form, or sent as `X-Parse-Master-Key` by scripts)
/// and users whose roles include `admin.role`. A browser signs in with a small form; the answer sets a
/// cookie (HttpOnly, SameSite=Strict, scoped to the admin path) carrying a sign-in that every node sharing
/// the metadata store honours (`AdminSessions`). Every POST from the page carries that sign-in's CSRF
/// token. Signed-in users without the role get a 403 page.
struct AdminEndpoint: Sendable {
    let settings: AdminSettings
    let holder: GatewayHolder
    let auth: AuthService?
    let status: ComponentStatus
    let errors: AdminErrorLog
    let reloader: GatewayReloader?
    let sessions: AdminSessions
    /// Wrong master keys typed into the sign-in form, per client address: the form is an interactive password
    /// prompt, so it is throttled like one (10 per address in 5 minutes, then 429 for the rest of the window).
    /// The `X-Parse-Master-Key` header is not throttled, as in Parse Server.
    let masterKeyThrottle = LoginThrottle(policy: .init(maxFailures: 10, maxFailuresPerAddress: 10, windowSeconds: 300), capacity: 10_000)
    let check = AdminCheck()
    let logger: Logger

    static let cookieName = "causeway_admin"
    static let maxFormBytes = 16 * 1024

    var base: String { settings.path }

    func handles(_ path: String) -> Bool { path == base || path.hasPrefix(base + "/") }

    enum Access {
        case none
        /// Signed in, but not an admin (username).
        case refused(String)
        /// Signed in through the page (nil session: the master key in a header).
        case admin(AdminSessions.Session?, who: String)
    }

    func respond(to request: Request, context: ParseRequestContext) async throws -> Response {
        let sub = String(request.uri.path.dropFirst(base.count))
        switch (request.method, sub) {
        case (.get, "/admin.css"), (.head, "/admin.css"): return asset(AdminAssets.css, type: "text/css; charset=utf-8")
        case (.get, "/admin.js"), (.head, "/admin.js"): return asset(AdminAssets.js, type: "text/javascript; charset=utf-8")
        case (.get, ""), (.get, "/"), (.head, ""), (.head, "/"):
            switch await access(request, context) {
            case .none: return html(200, AdminPage.login(base: base, message: nil, identity: auth != nil))
            case .refused(let user): return html(403, AdminPage.refused(base: base, username: user, role: settings.role))
            case .admin(let session, let who):
                let notice = request.uri.queryParameters["notice"].map(String.init)
                return html(200, await dashboard(session: session, who: who, notice: notice))
            }
        case (.post, "/login"): return try await login(request, context)
        case (.post, "/logout"):
            // Ends whatever sign-in the cookie names (also a refused user's), on every node; a forged sign-out harms nothing.
            if let token = cookie(request) { await sessions.end(token, masterKey: holder.current.gateway.config.app.masterKey) }
            var r = redirect(base + "/")
            r.headers[.setCookie] = "\(AdminEndpoint.cookieName)=; Path=\(base); HttpOnly; SameSite=Strict; Max-Age=0"
            return r
        case (.post, "/purge"), (.post, "/check"), (.post, "/reload"):
            let form = try await formFields(request)
            let access = await access(request, context)
            guard case .admin(let session, _) = access else {
                if case .refused(let user) = access { return html(403, AdminPage.refused(base: base, username: user, role: settings.role)) }
                return html(401, AdminPage.login(base: base, message: "Sign in first.", identity: auth != nil))
            }
            if let session {
                guard let given = form["csrf"], constantTimeEquals(given, session.csrf) else {
                    return html(403, AdminPage.message(base: base, title: "Refused", text: "The form's security token is missing or stale. Reload the page and try again."))
                }
            }
            return try await action(sub, form: form, session: session)
        case (.get, _), (.head, _):
            return html(404, AdminPage.message(base: base, title: "Not found", text: "No admin page at \(request.uri.path)."))
        default:
            return html(405, AdminPage.message(base: base, title: "Not allowed", text: "\(request.method.rawValue) is not supported here."))
        }
    }

    // MARK: Access

    func access(_ request: Request, _ context: ParseRequestContext) async -> Access {
        let app = holder.current.gateway.config.app
        if let key = request.headers[.parseMasterKey] {
            if case .caller(let c) = ParseAuthenticator(app: app).authenticate(
                .init(applicationId: app.applicationId, masterKey: key), remoteAddress: context.remoteAddress), c.isMaster {
                return .admin(nil, who: "master key")
            }
            return .none
        }
        guard let token = cookie(request) else { return .none }
        switch await sessions.resolve(token, masterKey: app.masterKey) {
        case nil:
            return .none
        case .master(let session):
            // The master key's authority is still subject to `masterKeyIps`.
            if !app.masterKeyIPs.isEmpty, !(context.remoteAddress.map(app.masterKeyIPs.contains) ?? false) { return .none }
            return .admin(session, who: "master key")
        case .user(let session, let user):
            guard let role = settings.role, user.roles.contains(role) else { return .refused(user.username) }
            return .admin(session, who: user.username)
        }
    }

    func cookie(_ request: Request) -> String? {
        for header in request.headers[values: .cookie] {
            for part in header.split(separator: ";") {
                let kv = part.trimmingPrefix(" ").split(separator: "=", maxSplits: 1)
                if kv.count == 2, kv[0] == AdminEndpoint.cookieName { return String(kv[1]) }
            }
        }
        return nil
    }

    func login(_ request: Request, _ context: ParseRequestContext) async throws -> Response {
        let form = try await formFields(request)
        let app = holder.current.gateway.config.app
        if let key = form["masterKey"], !key.isEmpty {
            // One counter per address (the "username" names the address, so one client's guesses never lock out another).
            let throttleKey = "master key from " + (context.remoteAddress ?? "an unknown address")
            do { try masterKeyThrottle.check(username: throttleKey, address: nil) } catch {
                logger.notice("admin page: master key sign-in throttled", metadata: ["causeway.address": .string(context.remoteAddress ?? "")])
                return html(429, AdminPage.login(base: base, message: error.message, identity: auth != nil))
            }
            guard case .caller(let c) = ParseAuthenticator(app: app).authenticate(.init(applicationId: app.applicationId, masterKey: key),
                                                                                    remoteAddress: context.remoteAddress), c.isMaster else {
                masterKeyThrottle.recordFailure(username: throttleKey, address: nil)
                logger.notice("admin page: master key sign-in refused", metadata: ["causeway.address": .string(context.remoteAddress ?? "")])
                return html(401, AdminPage.login(base: base, message: "That is not the master key (or it may not be used from this address).", identity: auth != nil))
            }
            return signedIn(await sessions.createMaster(masterKey: key))
        }
        guard let auth else {
            return html(401, AdminPage.login(base: base, message: "This gateway has no users: sign in with the master key.", identity: false))
        }
        let username = form["username"] ?? "", password = form["password"] ?? ""
        guard !username.isEmpty, !password.isEmpty else {
            return html(401, AdminPage.login(base: base, message: "Enter a username and a password.", identity: true))
        }
        do {
            let (user, token) = try await auth.logIn(username: username, password: password, address: context.remoteAddress, installationId: nil,
                                                     forAdminPage: true)
            guard let role = settings.role, user.roles.contains(role) else {
                try? await auth.logOut(token: token)
                logger.notice("admin page: user without the admin role refused", metadata: ["causeway.username": .string(LogText.clean(username, limit: 128))])
                return html(403, AdminPage.refused(base: base, username: user.username, role: settings.role))
            }
            return signedIn(sessions.user(token: token))
        } catch let error as GatewayError {
            let code = error.code == .requestLimitExceeded ? 429 : error.httpStatus >= 500 ? error.httpStatus : 401
            return html(code, AdminPage.login(base: base, message: error.message, identity: true))
        }
    }

    func signedIn(_ session: AdminSessions.Session) -> Response {
        var r = redirect(base + "/")
        r.headers[.setCookie] = "\(AdminEndpoint.cookieName)=\(session.token); Path=\(base); HttpOnly; SameSite=Strict; Max-Age=\(AdminSessions.lifetimeMs / 1000)"
            + (holder.current.gateway.config.server.publicURL?.hasPrefix("https://") == true ? "; Secure" : "")
        return r
    }

    // MARK: Actions

    func action(_ sub: String, form: [String: String], session: AdminSessions.Session?) async throws -> Response {
        switch sub {
        case "/purge":
            let name = form["connector"] ?? ""
            let gateway = holder.current.gateway
            do {
                let n = try gateway.purgeCache(connector: name.isEmpty ? nil : name, className: nil)
                logger.info("admin page: cache purged", metadata: ["causeway.connector": .string(LogText.clean(name, limit: 128)), "causeway.entries": .stringConvertible(n)])
                return redirect(base + "/?notice=" + percentEncode("Purged \(n) cached answer(s) of \(name.isEmpty ? "every connector" : name)."))
            } catch {
                return html(404, AdminPage.message(base: base, title: "Not found", text: error.message))
            }
        case "/check":
            let gateway = holder.current.gateway
            let r = try await check.run(connectors: gateway.connectors, providers: auth?.providers ?? [])
            return redirect(base + "/?notice=" + percentEncode(r.errors == 0 ? "Check passed." : "Check found \(r.errors) problem(s).") + "#check")
        case "/reload":
            guard let reloader else {
                return redirect(base + "/?notice=" + percentEncode("Reloading is not available in this process.") + "#reload")
            }
            let outcome = await reloader.reload(trigger: "admin page")
            return redirect(base + "/?notice=" + percentEncode(outcome.summary) + "#reload")
        default:
            return html(404, AdminPage.message(base: base, title: "Not found", text: "No such action."))
        }
    }

    // MARK: The page

    func dashboard(session: AdminSessions.Session?, who: String, notice: String?) async -> String {
        let generation = holder.current
        let gateway = generation.gateway
        var sessionsCount: Int?
        if let auth, status.entry(IdentityService.componentName).up {
            sessionsCount = try? await auth.store.countUsersWithSessions(now: .now())
        }
        let data = AdminPage.Dashboard(
            base: base, who: who, csrf: session?.csrf ?? "", notice: notice, generation: generation.number,
            configFile: gateway.config.file,
            connectors: gateway.connectors.map { c in
                let entry = status.entry(ConnectorService.componentName(c.name))
                return .init(name: c.name, kind: c.kind, classes: c.collections.map(\.className), state: entry.current, since: entry.since,
                             stats: gateway.stats.stats(c.name).lastHour(), cache: gateway.caches.caches[c.name],
                             health: gateway.stats.stats(c.name).health, pool: (c as? any PoolReporting)?.poolUsage)
            },
            identity: auth.map { a in (a.providers.map { ($0.name, $0.kind) }, status.entry(IdentityService.componentName)) },
            sessions: sessionsCount, check: check.result, errors: errors.entries, reload: reloader?.last,
            canReload: reloader != nil)
        return AdminPage.dashboard(data)
    }

    // MARK: Plumbing

    func formFields(_ request: Request) async throws -> [String: String] {
        var buffer: ByteBuffer
        do { buffer = try await request.body.collect(upTo: AdminEndpoint.maxFormBytes) } catch { return [:] }
        let text = buffer.readString(length: buffer.readableBytes) ?? ""
        return QueryString.decode(text) ?? [:]
    }

    func html(_ status: Int, _ body: String) -> Response {
        var fields = AdminEndpoint.securityHeaders
        fields[.contentType] = "text/html; charset=utf-8"
        return Response(status: .init(code: status), headers: fields, body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    func asset(_ text: String, type: String) -> Response {
        var fields = AdminEndpoint.securityHeaders
        fields[.contentType] = type
        fields[.cacheControl] = "no-cache"
        return Response(status: .ok, headers: fields, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    func redirect(_ location: String) -> Response {
        var fields = AdminEndpoint.securityHeaders
        fields[.location] = location
        return Response(status: .seeOther, headers: fields)
    }

    /// No script, style or image from anywhere but this page; no framing.
    static let securityHeaders: HTTPFields = [
        .cacheControl: "no-store",
        .contentSecurityPolicy: "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        HTTPField.Name("X-Content-Type-Options")!: "nosniff",
        HTTPField.Name("Referrer-Policy")!: "no-referrer",
    ]

    func percentEncode(_ s: String) -> String {
        var out = ""
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(UnicodeScalar(b))
            default: out += "%" + (b < 16 ? "0" : "") + String(b, radix: 16, uppercase: true)
            }
        }
        return out
    }
}

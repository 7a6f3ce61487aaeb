import CausewayCore

/// The admin page's HTML: the dashboard, the sign-in form, the refusal page. Every value is escaped
/// (`AdminHTML`); the markup around it is fixed text.
enum AdminPage {
    struct ConnectorView {
        var name: String
        var kind: String
        var classes: [String]
        var state: ComponentStatus.State
        var since: ParseDate
        var stats: [ConnectorStats.Minute]
        var cache: ResponseCache?
        var health = ConnectorStats.Health()
        /// Pool use, for connectors that report it (`PoolReporting`).
        var pool: PoolUsage? = nil
    }

    struct Dashboard {
        var base: String
        var who: String
        var csrf: String
        var notice: String?
        var generation: Int
        var configFile: String
        var connectors: [ConnectorView]
        var identity: (providers: [(name: String, kind: String)], entry: ComponentStatus.Entry)?
        var sessions: Int?
        var check: AdminCheck.Result?
        var errors: [AdminErrorLog.Entry]
        var reload: GatewayReloader.Outcome?
        var canReload: Bool
    }

    static func stateName(_ s: ComponentStatus.State) -> String {
        switch s {
        case .up: return "up"
        case .starting: return "starting"
        case .stopping: return "stopping"
        case .unavailable: return "unavailable"
        }
    }

    static func dashboard(_ d: Dashboard) -> String {
        var h = AdminHTML()
        h.raw("<header class=\"top\"><h1>Causeway</h1><p class=\"meta\">")
        h.text("\(CausewayVersion.current) · configuration \(d.generation) · \(d.configFile) · signed in as \(d.who)")
        h.raw("</p>")
        if !d.csrf.isEmpty { h.raw(AdminHTML.form(action: d.base + "/logout", csrf: d.csrf, button: "Sign out", cls: "logout")) }
        h.raw("<label class=\"auto\"><input type=\"checkbox\" id=\"autorefresh\" checked> auto-refresh</label></header>")
        h.raw("<main id=\"live\">")
        if let notice = d.notice { h.raw("<p class=\"notice\" id=\"notice\">"); h.text(notice); h.raw("</p>") }

        h.raw("<section id=\"connectors\"><h2>Connectors</h2><div class=\"grid\">")
        for c in d.connectors { connector(&h, c, d) }
        h.raw("</div></section>")

        h.raw("<div class=\"grid two\"><section id=\"identity\"><h2>Identity providers</h2>")
        if let identity = d.identity {
            let state = identity.entry.current
            h.raw("<p class=\"state \(stateName(state))\" data-state=\"\(stateName(state))\">")
            h.text(stateText(state, since: identity.entry.since))
            h.raw("</p><ul>")
            for p in identity.providers { h.raw("<li>"); h.text("\(p.name) (\(p.kind))"); h.raw("</li>") }
            h.raw("</ul><p>Users with active sessions: <strong id=\"sessions\">")
            h.text(d.sessions.map(String.init) ?? "–")
            h.raw("</strong></p>")
        } else {
            h.raw("<p>None configured: only the master key signs in.</p>")
        }
        h.raw("</section>")

        h.raw("<section id=\"reload\"><h2>Configuration</h2>")
        if d.canReload {
            h.raw("<p>Re-read Config/ and Connectors/; nothing changes unless every file is valid.</p>")
            h.raw(AdminHTML.form(action: d.base + "/reload", csrf: d.csrf, button: "Reload configuration"))
        } else {
            h.raw("<p>Reloading is not available in this process.</p>")
        }
        if let r = d.reload {
            h.raw("<p class=\"\(r.ok ? "ok" : "bad")\" id=\"reload-result\">")
            h.text("\(r.at.iso8601) (\(r.trigger)): \(r.summary)")
            h.raw("</p>")
            if !r.problems.isEmpty {
                h.raw("<ul class=\"problems\">")
                for p in r.problems { h.raw("<li>"); h.text(p); h.raw("</li>") }
                h.raw("</ul>")
            }
        }
        h.raw("</section></div>")

        h.raw("<section id=\"check\"><h2>causeway check</h2>")
        h.raw(AdminHTML.form(action: d.base + "/check", csrf: d.csrf, button: "Run check"))
        if let r = d.check {
            h.raw("<p class=\"\(r.errors == 0 ? "ok" : "bad")\" id=\"check-result\">")
            h.text("\(ParseDate(millisecondsSince1970: r.atMs).iso8601): " + (r.errors == 0 ? "check passed" : "\(r.errors) problem(s)"))
            h.raw("</p>")
            for s in r.sections {
                h.raw("<h3>"); h.text(s.name); h.raw("</h3><ul class=\"findings\">")
                if s.findings.isEmpty { h.raw("<li class=\"ok\">ok</li>") }
                for f in s.findings { h.raw("<li class=\"\(f.severity.rawValue)\">"); h.text(f.description); h.raw("</li>") }
                h.raw("</ul>")
            }
        } else {
            h.raw("<p>Not run yet. It verifies every mapped table, column and endpoint in its source (results are kept for a minute).</p>")
        }
        h.raw("</section>")

        h.raw("<section id=\"errors\"><h2>Last errors</h2>")
        if d.errors.isEmpty {
            h.raw("<p>No 4xx or 5xx answers since the gateway started.</p>")
        } else {
            h.raw("<div class=\"scroll\"><table><thead><tr><th>time</th><th>request id</th><th>request</th><th>status</th><th>code</th><th>message</th></tr></thead><tbody>")
            for e in d.errors {
                h.raw("<tr class=\"error-row\">")
                h.element("td", e.at.iso8601)
                h.element("td", e.requestId, cls: "rid")
                h.element("td", "\(e.method) \(e.path)")
                h.element("td", String(e.status))
                h.element("td", e.code.map(String.init) ?? "")
                h.element("td", e.message, cls: "msg")
                h.raw("</tr>")
            }
            h.raw("</tbody></table></div>")
        }
        h.raw("</section></main>")
        return AdminHTML.page(title: "Causeway admin", base: d.base, body: h.out)
    }

    static func stateText(_ state: ComponentStatus.State, since: ParseDate) -> String {
        switch state {
        case .unavailable(let reason): return "unavailable since \(since.iso8601): \(reason)"
        default: return "\(stateName(state)) since \(since.iso8601)"
        }
    }

    static func connector(_ h: inout AdminHTML, _ c: ConnectorView, _ d: Dashboard) {
        var total = ConnectorStats.Minute(minute: 0)
        for m in c.stats {
            total.requests += m.requests; total.sourceCalls += m.sourceCalls; total.sourceErrors += m.sourceErrors
            total.cacheHits += m.cacheHits; total.cacheMisses += m.cacheMisses
            for i in total.latency.indices { total.latency[i] += m.latency[i] }
        }
        let state = stateName(c.state)
        let health = c.health.failing ? "failing" : c.health.lastSuccessMs == nil ? "idle" : "ok"
        h.raw("<article class=\"card connector\" data-connector=\"\(AdminHTML.escape(c.name))\" data-state=\"\(state)\" data-health=\"\(health)\">")
        h.raw("<h3>"); h.text(c.name); h.raw(" <small>"); h.text(c.kind); h.raw("</small></h3>")
        h.raw("<p class=\"state \(state)\">"); h.text(stateText(c.state, since: c.since)); h.raw("</p>")
        // Started, but its source failing: each call since the first failure has failed.
        if let since = c.health.failingSinceMs {
            h.raw("<p class=\"state unavailable health\">")
            h.text("source failing since \(ParseDate(millisecondsSince1970: since).iso8601): \(c.health.lastError ?? "")")
            h.raw("</p>")
        } else if let last = c.health.lastErrorMs {
            h.raw("<p class=\"health-note\">")
            h.text("last source error \(ParseDate(millisecondsSince1970: last).iso8601): \(c.health.lastError ?? "")")
            h.raw("</p>")
        }
        h.raw("<p class=\"classes\">"); h.text(c.classes.joined(separator: ", ")); h.raw("</p>")
        h.raw("<dl class=\"figures\">")
        func row(_ label: String, _ value: String, _ cls: String) {
            h.raw("<div><dt>"); h.text(label); h.raw("</dt><dd class=\"\(cls)\">"); h.text(value); h.raw("</dd></div>")
        }
        row("requests (1 h)", String(total.requests), "requests")
        row("source calls", String(total.sourceCalls), "source-calls")
        row("source errors", String(total.sourceErrors), "source-errors")
        row("latency p50 / p95 / p99",
            "\(AdminHTML.number(total.latencyMs(quantile: 0.5), unit: " ms")) / \(AdminHTML.number(total.latencyMs(quantile: 0.95), unit: " ms")) / \(AdminHTML.number(total.latencyMs(quantile: 0.99), unit: " ms"))",
            "latency")
        if let pool = c.pool { row("pool in use", "\(pool.inUse) / \(pool.capacity)" + (pool.waiting > 0 ? " (\(pool.waiting) waiting)" : ""), "pool") }
        if let cache = c.cache {
            row("cache entries", String(cache.entryCount), "cache-entries")
            row("cache bytes", AdminHTML.bytes(cache.usedBytes), "cache-bytes")
            row("hit ratio (1 h)", total.hitRatio.map { AdminHTML.number($0 * 100, unit: " %") } ?? "–", "hit-ratio")
        } else {
            row("cache", "off", "cache-off")
        }
        h.raw("</dl>")
        if c.cache != nil {
            h.raw(AdminHTML.form(action: d.base + "/purge", csrf: d.csrf, fields: [("connector", c.name)], button: "Purge cache", cls: "purge"))
        }
        h.raw(AdminCharts.connector(c.stats))
        h.raw("</article>")
    }

    static func login(base: String, message: String?, identity: Bool) -> String {
        var h = AdminHTML()
        h.raw("<main class=\"narrow\"><h1>Causeway admin</h1>")
        if let message { h.raw("<p class=\"bad\" id=\"login-error\">"); h.text(message); h.raw("</p>") }
        if identity {
            h.raw("<form method=\"post\" action=\"\(AdminHTML.escape(base))/login\" class=\"card stack\" id=\"login-user\">")
            h.raw("<label>Username <input name=\"username\" autocomplete=\"username\" required></label>")
            h.raw("<label>Password <input name=\"password\" type=\"password\" autocomplete=\"current-password\" required></label>")
            h.raw("<button type=\"submit\">Sign in</button></form>")
        }
        h.raw("<form method=\"post\" action=\"\(AdminHTML.escape(base))/login\" class=\"card stack\" id=\"login-master\">")
        h.raw("<label>Master key <input name=\"masterKey\" type=\"password\" autocomplete=\"off\" required></label>")
        h.raw("<button type=\"submit\">Sign in with the master key</button></form></main>")
        return AdminHTML.page(title: "Causeway admin: sign in", base: base, body: h.out)
    }

    static func refused(base: String, username: String, role: String?) -> String {
        var h = AdminHTML()
        h.raw("<main class=\"narrow\"><h1>Not allowed</h1><p id=\"refused\">")
        h.text(role.map { "\(username) is signed in but is not a member of the admin role \($0)." }
               ?? "\(username) is signed in, but no admin role is configured (admin.role): only the master key may use this page.")
        h.raw("</p>")
        h.raw("<form method=\"post\" action=\"\(AdminHTML.escape(base))/logout\"><button type=\"submit\">Sign out</button></form></main>")
        return AdminHTML.page(title: "Causeway admin: not allowed", base: base, body: h.out)
    }

    static func message(base: String, title: String, text: String) -> String {
        var h = AdminHTML()
        h.raw("<main class=\"narrow\"><h1>"); h.text(title); h.raw("</h1><p>"); h.text(text)
        h.raw("</p><p><a href=\"\(AdminHTML.escape(base))/\">Back</a></p></main>")
        return AdminHTML.page(title: "Causeway admin: " + title, base: base, body: h.out)
    }
}

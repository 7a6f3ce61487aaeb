import CLDAP
import Foundation

/// One libldap connection to one URL. Every method blocks: call them only on the provider's own threads
/// (an `NIOThreadPool`), never on an event loop or a Swift concurrency thread. One thread at a time.
///
/// Opening a connection also checks that the server answers: it reads the root DSE (anonymously, before
/// StartTLS; the answer is public) within the connect timeout, so a server that accepts TCP but never
/// answers costs `connectTimeoutSeconds`, not an operation timeout, and the provider moves to its next URL.
/// The root DSE also tells whether the server is Active Directory (capability 1.2.840.113556.1.4.800).
final class LDAPConnection {
    private var handle: OpaquePointer?
    let settings: LDAPSettings
    let url: String
    /// The root DSE lists Active Directory's capability (also Samba's AD DC).
    private(set) var isActiveDirectory = false
    /// Result pages read by searches on this connection (tests check that paging happened).
    private(set) var pagesRead = 0

    static let activeDirectoryCapability = "1.2.840.113556.1.4.800"

    init(url: String, settings: LDAPSettings) throws(LDAPError) {
        self.settings = settings
        self.url = url
        try open(verifyCertificates: settings.verifyCertificates)
    }

    private func open(verifyCertificates: Bool) throws(LDAPError) {
        var ld: OpaquePointer?
        let rc = ldap_initialize(&ld, url)
        guard rc == LDAP_SUCCESS, let ld else { throw LDAPError(code: rc, "cannot use the LDAP URL \(url)") }
        handle = ld
        try check(causeway_ldap_set_int(ld, LDAP_OPT_PROTOCOL_VERSION, LDAP_VERSION3), "protocol version")
        try check(causeway_ldap_referrals_off(ld), "referrals")
        try check(causeway_ldap_set_timeout(ld, LDAP_OPT_NETWORK_TIMEOUT, Int32(settings.connectTimeoutMs)), "network timeout")
        try check(causeway_ldap_set_timeout(ld, LDAP_OPT_TIMEOUT, Int32(settings.operationTimeoutMs)), "timeout")
        if settings.usesTLS {
            if let ca = settings.caFile { try check(causeway_ldap_set_string(ld, LDAP_OPT_X_TLS_CACERTFILE, ca), "CA file") }
            if let cert = settings.clientCertificateFile { try check(causeway_ldap_set_string(ld, LDAP_OPT_X_TLS_CERTFILE, cert), "certificate file") }
            if let key = settings.clientKeyFile { try check(causeway_ldap_set_string(ld, LDAP_OPT_X_TLS_KEYFILE, key), "key file") }
            let require = verifyCertificates ? LDAP_OPT_X_TLS_DEMAND : LDAP_OPT_X_TLS_NEVER
            try check(causeway_ldap_set_int(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, require), "certificate verification")
            // Per-connection TLS options apply only to a new TLS context.
            try check(causeway_ldap_set_int(ld, LDAP_OPT_X_TLS_NEWCTX, 0), "TLS context")
        }
        try probe()
        if settings.startTLS == .required {
            let rc = ldap_start_tls_s(ld, nil, nil)
            guard rc == LDAP_SUCCESS else {
                let error = LDAPError(code: rc, "StartTLS with \(url) failed: \(diagnostic() ?? String(cString: ldap_err2string(rc)))")
                throw verifyCertificates ? diagnoseTLS(error) : error
            }
        }
    }

    /// Reads the root DSE within the connect timeout: any answer (even a refusal) means the server is alive.
    private func probe() throws(LDAPError) {
        guard let h = handle else { throw LDAPError(code: LDAP_SERVER_DOWN, "connection closed") }
        var attributes: [UnsafeMutablePointer<CChar>?] = [strdup("supportedCapabilities"), nil]
        defer { for p in attributes { free(p) } }
        var cookie = berval(bv_len: 0, bv_val: nil)
        defer { causeway_ldap_free_cookie(&cookie) }
        var result: OpaquePointer?
        let rc = attributes.withUnsafeMutableBufferPointer { attrs in
            causeway_ldap_search_page(h, "", LDAP_SCOPE_BASE, "(objectClass=*)", attrs.baseAddress, Int32(settings.connectTimeoutMs),
                                      0, 0, &cookie, &result)
        }
        defer { if let result { ldap_msgfree(result) } }
        if LDAPError.isConnectionProblem(rc) {
            let reason = rc == LDAP_TIMEOUT
                ? "no answer within the connect timeout (\(settings.connectTimeoutMs / 1000) s)"
                : "\(diagnostic() ?? String(cString: ldap_err2string(rc)))"
            let error = LDAPError(code: rc, "\(url): \(reason)")
            // (A server that never answered cannot be asked again without verification: that would double the wait.)
            throw rc != LDAP_TIMEOUT && url.lowercased().hasPrefix("ldaps://") && settings.verifyCertificates ? diagnoseTLS(error) : error
        }
        if let result, let entry = read(result, ["supportedCapabilities"]).first {
            isActiveDirectory = entry.strings("supportedCapabilities").contains(LDAPConnection.activeDirectoryCapability)
        }
    }

    /// libldap reports a failed certificate check as "Can't contact LDAP server" or "Connect error", often with
    /// no detail. When TLS failed, connect again without verifying: if that works, the server is there and
    /// its certificate is the problem, and the error says so (with libldap's own reason when it gave one).
    private func diagnoseTLS(_ error: LDAPError) -> LDAPError {
        let detail = diagnostic()
        close()
        let unverified: LDAPConnection
        do { unverified = try LDAPConnection(url: url, settings: settings, verifying: false) } catch { return error }
        unverified.close()
        let host = LDAPConnection.host(of: url)
        var message = "certificate problem with \(url): the server answers, but its TLS certificate is not accepted"
            + " (not signed by a CA in \(settings.caFile ?? "the system's CA store"), expired, or not issued for '\(host)')"
        if let detail, !detail.isEmpty, detail != "(unknown error code)" { message += ": \(detail)" }
        return LDAPError(code: error.code, message, certificateProblem: true)
    }

    private init(url: String, settings: LDAPSettings, verifying: Bool) throws(LDAPError) {
        self.settings = settings
        self.url = url
        try open(verifyCertificates: verifying)
    }

    static func host(of url: String) -> String {
        var rest = Substring(url)
        if let r = rest.range(of: "://") { rest = rest[r.upperBound...] }
        rest = rest.prefix { $0 != "/" }
        if rest.hasPrefix("["), let end = rest.firstIndex(of: "]") { return String(rest[rest.index(after: rest.startIndex)..<end]) }
        return String(rest.prefix { $0 != ":" })
    }

    deinit { close() }

    func close() {
        if let h = handle { ldap_unbind_ext_s(h, nil, nil) }
        handle = nil
    }

    private func check(_ rc: Int32, _ what: String) throws(LDAPError) {
        guard rc == LDAP_OPT_SUCCESS else { throw LDAPError(code: rc, "cannot set the LDAP option \(what) for \(url)") }
    }

    private func diagnostic() -> String? {
        guard let h = handle else { return nil }
        var message: UnsafeMutablePointer<CChar>?
        guard ldap_get_option(h, LDAP_OPT_DIAGNOSTIC_MESSAGE, &message) == LDAP_OPT_SUCCESS, let message else { return nil }
        defer { ldap_memfree(message) }
        let s = String(cString: message)
        return s.isEmpty ? nil : s
    }

    struct BindResult {
        var code: Int32
        /// The server's diagnostic message (Active Directory puts `data 52e`, `data 775`, … here).
        var diagnostic: String?
        /// OpenLDAP password-policy error (`LDAPPasswordPolicyError`), when the server sent one.
        var policyError: Int32?
        var succeeded: Bool { code == LDAP_SUCCESS }
    }

    /// A simple bind. Never call it with an empty password (that is an anonymous bind on most servers).
    func bind(dn: String, password: String) throws(LDAPError) -> BindResult {
        guard let h = handle else { throw LDAPError(code: LDAP_SERVER_DOWN, "connection closed") }
        precondition(!password.isEmpty, "empty passwords are refused before any bind")
        var diag: UnsafeMutablePointer<CChar>?
        var policy: Int32 = -1
        let bytes = Array(password.utf8)
        let code = bytes.withUnsafeBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) { p in
                causeway_ldap_simple_bind(h, dn, p, buffer.count, Int32(settings.operationTimeoutMs), &diag, &policy)
            }
        }
        var message: String?
        if let diag { message = String(cString: diag); ldap_memfree(diag) }
        let result = BindResult(code: code, diagnostic: message?.isEmpty == true ? nil : message, policyError: policy >= 0 ? policy : nil)
        if LDAPError.isConnectionProblem(code) { throw LDAPError(code: code, "bind on \(url) failed: \(String(cString: ldap_err2string(code)))") }
        return result
    }

    enum Scope { case base, oneLevel, subtree
        var raw: Int32 {
            switch self {
            case .base: return LDAP_SCOPE_BASE
            case .oneLevel: return LDAP_SCOPE_ONELEVEL
            case .subtree: return LDAP_SCOPE_SUBTREE
            }
        }
    }

    /// Searches, following RFC 2696 paging when `pageSize` > 0, up to `limit` entries in all.
    func search(base: String, scope: Scope, filter: String, attributes: [String], pageSize: Int, limit: Int) throws(LDAPError) -> [LDAPEntry] {
        guard let h = handle else { throw LDAPError(code: LDAP_SERVER_DOWN, "connection closed") }
        var cAttributes: [UnsafeMutablePointer<CChar>?] = attributes.map { strdup($0) }
        cAttributes.append(nil)
        defer { for p in cAttributes { free(p) } }
        var cookie = berval(bv_len: 0, bv_val: nil)
        defer { causeway_ldap_free_cookie(&cookie) }
        var entries: [LDAPEntry] = []
        var pages = 0
        defer { pagesRead += pages }
        repeat {
            pages += 1
            var result: OpaquePointer?
            let rc = cAttributes.withUnsafeMutableBufferPointer { attrs in
                causeway_ldap_search_page(h, base, scope.raw, filter, attrs.baseAddress, Int32(settings.operationTimeoutMs),
                                          0, Int32(pageSize), &cookie, &result)
            }
            defer { if let result { ldap_msgfree(result) } }
            if let result { entries += read(result, attributes) }
            guard rc == LDAP_SUCCESS || rc == LDAP_NO_SUCH_OBJECT else {
                throw LDAPError(code: rc, "search under \(base) on \(url) failed: \(diagnostic() ?? String(cString: ldap_err2string(rc)))")
            }
            if entries.count > limit {
                throw LDAPError(code: LDAP_SIZELIMIT_EXCEEDED, "search under \(base) returned more than \(limit) entries")
            }
        } while cookie.bv_len > 0
        return entries
    }

    private func read(_ result: OpaquePointer, _ attributes: [String]) -> [LDAPEntry] {
        guard let h = handle else { return [] }
        var out: [LDAPEntry] = []
        var entry = ldap_first_entry(h, result)
        while let e = entry {
            var dn = ""
            if let p = ldap_get_dn(h, e) { dn = String(cString: p); ldap_memfree(p) }
            var values: [String: [[UInt8]]] = [:]
            for name in attributes where name != "1.1" {
                guard let list = ldap_get_values_len(h, e, name) else { continue }
                var items: [[UInt8]] = []
                var i = 0
                while let bv = list[i] {
                    let v = bv.pointee
                    items.append(v.bv_val == nil ? [] : Array(UnsafeRawBufferPointer(start: v.bv_val, count: Int(v.bv_len))))
                    i += 1
                }
                ldap_value_free_len(list)
                values[name.lowercased()] = items
            }
            out.append(LDAPEntry(dn: dn, values: values))
            entry = ldap_next_entry(h, e)
        }
        return out
    }
}

import CLDAP
import Foundation

struct LDAPError: Error, CustomStringConvertible {
    var code: Int32
    var message: String
    /// The server answers but its TLS certificate was refused (wrong CA, expired, not for this host name).
    var certificateProblem: Bool
    init(code: Int32, _ message: String, certificateProblem: Bool = false) {
        self.code = code
        self.message = message
        self.certificateProblem = certificateProblem
    }
    var description: String { "LDAP \(code): \(message)" }

    /// The directory could not be asked (as opposed to answering no).
    static func isConnectionProblem(_ code: Int32) -> Bool {
        code == LDAP_SERVER_DOWN || code == LDAP_TIMEOUT || code == LDAP_CONNECT_ERROR || code == LDAP_UNAVAILABLE
            || code == LDAP_BUSY || code == LDAP_TIMELIMIT_EXCEEDED
    }
    var isConnectionProblem: Bool { LDAPError.isConnectionProblem(code) }
}

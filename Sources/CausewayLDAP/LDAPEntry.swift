import CLDAP
import Foundation

/// A directory entry as read: its DN and the requested attributes' raw values (keys lowercased).
struct LDAPEntry: Sendable {
    var dn: String
    var values: [String: [[UInt8]]]

    func strings(_ attribute: String) -> [String] {
        (values[attribute.lowercased()] ?? []).map { String(decoding: $0, as: UTF8.self) }
    }
    func string(_ attribute: String) -> String? { strings(attribute).first }
    func raw(_ attribute: String) -> [UInt8]? { values[attribute.lowercased()]?.first }
}

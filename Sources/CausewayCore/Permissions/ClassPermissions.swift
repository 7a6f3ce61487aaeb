/// Class-level permissions: who may run each operation on a collection.
///
/// Entries are `*` (anyone with the application id and key), `authenticated`, `role:NAME` or `user:NAME`.
/// The master key bypasses them. Users and roles come from the identity providers.
public struct ClassPermissions: Sendable, Hashable {
    public enum Operation: String, Sendable, CaseIterable { case get, find, count, create, update, delete }

    public var rules: [Operation: [String]]

    public init(rules: [Operation: [String]]) { self.rules = rules }

    /// Everyone may do everything (Parse's default for a new class).
    public static let `public` = ClassPermissions(rules: Dictionary(uniqueKeysWithValues: Operation.allCases.map { ($0, ["*"]) }))

    /// Whether a caller with these identities may run the operation.
    public func allows(_ operation: Operation, caller: Caller) -> Bool {
        if caller.isMaster { return true }
        return (rules[operation] ?? []).contains { ClassPermissions.matches($0, caller) }
    }

    /// Whether one entry (`*`, `authenticated`, `role:NAME`, `user:NAME`) names this caller.
    public static func matches(_ entry: String, _ caller: Caller) -> Bool {
        if entry == "*" { return true }
        guard let user = caller.user else { return false }
        if entry == "authenticated" { return true }
        if entry.hasPrefix("role:") { return caller.roles.contains(String(entry.dropFirst(5))) }
        if entry.hasPrefix("user:") { return String(entry.dropFirst(5)) == user.username }
        return false
    }

    /// Checks the syntax of one entry; returns a message when it is wrong.
    public static func problem(with entry: String) -> String? {
        if entry == "*" || entry == "authenticated" { return nil }
        for prefix in ["role:", "user:"] where entry.hasPrefix(prefix) {
            return entry.count > prefix.count ? nil : "'\(entry)' names no \(prefix.dropLast())"
        }
        return "'\(entry)' is not a permission entry (expected '*', 'authenticated', 'role:NAME' or 'user:NAME')"
    }
}

import Foundation
import Synchronization

/// Slows down password guessing: after `maxFailures` failed logins for one username (or
/// `maxFailuresPerAddress` from one client address) within `window`, further attempts for it are refused
/// until the window has passed since the last failure. A success clears the username's count.
public final class LoginThrottle: Sendable {
    public struct Policy: Sendable, Equatable {
        public var maxFailures: Int
        public var maxFailuresPerAddress: Int
        public var windowSeconds: Int
        public init(maxFailures: Int = 5, maxFailuresPerAddress: Int = 20, windowSeconds: Int = 300) {
            self.maxFailures = maxFailures
            self.maxFailuresPerAddress = maxFailuresPerAddress
            self.windowSeconds = windowSeconds
        }
    }

    private struct Entry {
        var failures: Int
        var lastFailure: ContinuousClock.Instant
    }
    private let entries = Mutex<[String: Entry]>([:])
    public let policy: Policy
    /// Entries kept at most; older ones are dropped first when exceeded (bounds memory under a flood).
    let capacity: Int

    /// Counters every gateway node shares (nil: this node's memory only); see `LoginThrottle+Shared.swift`.
    public let shared: (any SharedLoginCounters)?

    public init(policy: Policy, capacity: Int = 100_000, shared: (any SharedLoginCounters)? = nil) {
        self.policy = policy
        self.capacity = capacity
        self.shared = shared
    }

    /// Throws 155 when this username or address has failed too often recently.
    public func check(username: String, address: String?) throws(GatewayError) {
        let now = ContinuousClock.now
        let window = Duration.seconds(policy.windowSeconds)
        let blocked = entries.withLock { e -> Duration? in
            for (key, limit) in keys(username, address) {
                if let entry = e[key], entry.failures >= limit, now - entry.lastFailure < window {
                    return window - (now - entry.lastFailure)
                }
            }
            return nil
        }
        if let wait = blocked {
            throw GatewayError(.requestLimitExceeded, "Too many failed logins; try again in \(max(1, wait.components.seconds)) seconds.")
        }
    }

    public func recordFailure(username: String, address: String?) {
        let now = ContinuousClock.now
        let window = Duration.seconds(policy.windowSeconds)
        entries.withLock { e in
            if e.count >= capacity {
                e = e.filter { now - $0.value.lastFailure < window }
                if e.count >= capacity { e.removeAll(keepingCapacity: true) }
            }
            for (key, _) in keys(username, address) {
                var entry = e[key] ?? Entry(failures: 0, lastFailure: now)
                if now - entry.lastFailure >= window { entry.failures = 0 }
                entry.failures += 1
                entry.lastFailure = now
                e[key] = entry
            }
        }
    }

    public func recordSuccess(username: String) {
        _ = entries.withLock { $0.removeValue(forKey: "u:" + LoginThrottle.account(username)) }
    }

    /// The account a typed username names, as directories compare names: surrounding spaces dropped, case
    /// folded, and Active Directory's down-level (`CORP\bob`) and UPN (`bob@corp.example.com`) forms
    /// reduced to the account name. `Bob`, `CORP\bob` and `bob@corp.example.com` share one counter, so a
    /// different spelling of a throttled name is throttled too. (Two accounts that differ only in these
    /// ways share a counter: over-throttling, never a bypass.)
    public static func account(_ username: String) -> String {
        var name = Substring(username.trimmingCharacters(in: .whitespacesAndNewlines))
        if let slash = name.lastIndex(of: "\\") { name = name[name.index(after: slash)...] }
        if let at = name.firstIndex(of: "@"), at != name.startIndex { name = name[..<at] }
        return name.lowercased()
    }

    func keys(_ username: String, _ address: String?) -> [(String, Int)] {
        var k = [("u:" + LoginThrottle.account(username), policy.maxFailures)]
        if let address { k.append(("a:" + address, policy.maxFailuresPerAddress)) }
        return k
    }
}

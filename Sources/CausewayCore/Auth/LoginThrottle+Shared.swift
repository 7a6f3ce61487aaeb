import Logging

/// The throttle as logins use it: in memory on one node, or on counters shared by every node
/// (`SharedLoginCounters`) when the metadata store keeps them.
extension LoginThrottle {
    /// Throws 155 when this username or address has failed too often recently (on any node, when shared).
    /// A shared store that cannot be read fails the login (100): it could not be completed without the store anyway.
    public func admit(username: String, address: String?, now: ParseDate = .now()) async throws {
        try check(username: username, address: address)
        guard let shared else { return }
        let keys = self.keys(username, address)
        let found: [String: LoginFailureCount]
        do {
            found = try await shared.loginFailures(keys: keys.map(\.0))
        } catch {
            throw GatewayError(.connectionFailed, "Logins are not available right now; retry shortly.", detail: "login counters: \(String(reflecting: error))")
        }
        let windowMs = Int64(policy.windowSeconds) * 1000
        for (key, limit) in keys {
            guard let entry = found[key], entry.failures >= limit else { continue }
            let age = now.millisecondsSince1970 - entry.lastFailure.millisecondsSince1970
            if age < windowMs {
                let wait = max(1, (windowMs - age + 999) / 1000)
                throw GatewayError(.requestLimitExceeded, "Too many failed logins; try again in \(wait) seconds.")
            }
        }
    }

    /// Counts a failure: in the shared store when there is one (in memory if it cannot be reached).
    public func failed(username: String, address: String?, now: ParseDate = .now(), logger: Logger? = nil) async {
        guard let shared else { recordFailure(username: username, address: address); return }
        do {
            try await shared.recordLoginFailure(keys: keys(username, address).map(\.0), now: now, windowSeconds: policy.windowSeconds)
        } catch {
            logger?.warning("cannot record a failed login in the shared store; counted on this node only", metadata: ["error": .string(String(describing: error))])
            recordFailure(username: username, address: address)
        }
    }

    /// Clears the username's count (everywhere, when shared).
    public func succeeded(username: String) async {
        recordSuccess(username: username)
        guard let shared else { return }
        try? await shared.clearLoginFailures(key: "u:" + LoginThrottle.account(username))
    }
}

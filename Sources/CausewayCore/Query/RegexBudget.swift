import Synchronization

/// Carries a `$regex` limit overrun out of the in-memory evaluator, whose `matches` answers a plain Bool:
/// the evaluator records the overrun on the request's tripwire (a task-local) and answers "no match"; the
/// gateway, which bound the tripwire around planning and evaluation, then fails the request with 102.
public enum RegexBudget {
    public final class Tripwire: Sendable {
        private let tripped = Mutex<RegexBudgetExceeded?>(nil)
        public init() {}
        func trip(_ overrun: RegexBudgetExceeded) { tripped.withLock { if $0 == nil { $0 = overrun } } }
        public var overrun: RegexBudgetExceeded? { tripped.withLock { $0 } }
    }

    @TaskLocal public static var tripwire: Tripwire?

    /// Runs `body` with a fresh tripwire and throws the 102 if any `$regex` match inside went over its limits.
    public static func enforcing<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        let wire = Tripwire()
        let result = try await $tripwire.withValue(wire) { try await body() }
        if let overrun = wire.overrun { throw overrun.gatewayError }
        return result
    }

    /// A match for the evaluator: an overrun is recorded on the tripwire (when one is bound) and counts as no match.
    static func matches(_ regex: BoundedRegex, _ text: String) -> Bool {
        do { return try regex.matches(text) } catch {
            tripwire?.trip(error)
            return false
        }
    }
}

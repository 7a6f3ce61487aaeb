import Synchronization

/// Whether each long-lived part of the gateway (every connector, the identity providers) is up, and if
/// not, why. `/health` reports it; the gateway answers 100 for classes whose connector is not up.
public final class ComponentStatus: Sendable {
    public enum State: Sendable, Equatable {
        /// The first start attempt is under way.
        case starting
        case up
        /// A start attempt failed (the reason is safe to show: no secrets, no source error text).
        case unavailable(String)
        case stopping
    }

    /// One component's state; read on every request of its classes, so the check is a single atomic load.
    public final class Entry: Sendable {
        public let name: String
        private let isUp = Atomic<Bool>(false)
        private let state = Mutex<State>(.starting)
        /// When the state last changed (milliseconds since 1970), for the admin page's "since".
        private let changedAt = Atomic<Int64>(ParseDate.now().millisecondsSince1970)
        /// Whether the first start attempt has ended (either way), and who waits for it, by ticket.
        private let attempted = Mutex<FirstAttempt>(FirstAttempt())

        struct FirstAttempt {
            var done = false
            var nextTicket = 0
            var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
        }

        init(name: String) { self.name = name }

        public var up: Bool { isUp.load(ordering: .acquiring) }
        public var current: State { state.withLock { $0 } }
        /// When the current state began.
        public var since: ParseDate { ParseDate(millisecondsSince1970: changedAt.load(ordering: .relaxed)) }

        public func set(_ new: State) {
            let changed = state.withLock { s -> Bool in
                defer { s = new }
                return s != new
            }
            if changed { changedAt.store(ParseDate.now().millisecondsSince1970, ordering: .relaxed) }
            isUp.store(new == .up, ordering: .releasing)
            guard new != .starting else { return }
            let waiters = attempted.withLock { a -> [CheckedContinuation<Void, Never>] in
                a.done = true
                defer { a.waiters = [:] }
                return Array(a.waiters.values)
            }
            for w in waiters { w.resume() }
        }

        /// Returns once the first start attempt has ended, or when the waiting task is cancelled.
        func firstAttempt() async {
            let ticket = attempted.withLock { a -> Int in
                a.nextTicket += 1
                return a.nextTicket
            }
            await withTaskCancellationHandler {
                await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                    let resumeNow = attempted.withLock { a -> Bool in
                        if a.done || Task.isCancelled { return true }
                        a.waiters[ticket] = c
                        return false
                    }
                    if resumeNow { c.resume() }
                }
            } onCancel: {
                attempted.withLock { $0.waiters.removeValue(forKey: ticket) }?.resume()
            }
        }
    }

    private let entries: Mutex<[Entry]> = Mutex([])

    public init() {}

    /// The entry for a component, created on first use.
    public func entry(_ name: String) -> Entry {
        entries.withLock { list in
            if let e = list.first(where: { $0.name == name }) { return e }
            let e = Entry(name: name)
            list.append(e)
            return e
        }
    }

    /// Every component and its state, in registration order.
    /// Every registered entry, in registration order.
    public var allEntries: [Entry] { entries.withLock { $0 } }

    /// Registers a fresh entry under `name` in place of the current one (a connector replaced by a reload:
    /// the old instance keeps its own entry while it drains). Returns the new entry.
    @discardableResult
    public func replaceEntry(_ name: String) -> Entry {
        entries.withLock { list in
            let e = Entry(name: name)
            if let i = list.firstIndex(where: { $0.name == name }) { list[i] = e } else { list.append(e) }
            return e
        }
    }

    /// Unregisters `entry` (a connector removed by a reload), unless another entry has taken its name.
    public func remove(_ entry: Entry) {
        entries.withLock { list in list.removeAll { $0 === entry } }
    }

    public var snapshot: [(name: String, state: State)] { entries.withLock { $0.map { ($0.name, $0.current) } } }

    public var allUp: Bool { entries.withLock { $0.allSatisfy(\.up) } }

    /// Waits until every component has made its first start attempt, or until `limit` has passed.
    /// Returns whether all attempts ended in time.
    public func waitForFirstAttempts<C: Clock>(limit: C.Duration, clock: C) async -> Bool where C.Duration == Duration {
        let all = entries.withLock { $0 }
        return await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                for e in all { await e.firstAttempt() }
                return true
            }
            group.addTask {
                try? await clock.sleep(for: limit)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
    }
}

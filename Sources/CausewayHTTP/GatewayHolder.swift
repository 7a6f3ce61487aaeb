import CausewayCore
import Synchronization

/// The gateway currently serving, swapped by a configuration reload. Each request takes the current
/// generation once (`acquire`) and uses it to the end, so a reload never changes a request's gateway under
/// it; the old generation counts its requests in flight, and a reload waits for them (`drained`) before it
/// shuts down the connectors only the old generation used.
public final class GatewayHolder: Sendable {
    /// One configuration's gateway and the responder built over it.
    public final class Generation: Sendable {
        public let number: Int
        public let gateway: Gateway
        let responder: ParseResponder
        private let inFlight = Mutex<(count: Int, waiters: [CheckedContinuation<Void, Never>], retired: Bool)>((0, [], false))

        init(number: Int, gateway: Gateway, responder: ParseResponder) {
            self.number = number
            self.gateway = gateway
            self.responder = responder
        }

        func enter() { inFlight.withLock { $0.count += 1 } }

        public func leave() {
            let waiters = inFlight.withLock { s -> [CheckedContinuation<Void, Never>] in
                s.count -= 1
                guard s.count == 0, s.retired else { return [] }
                defer { s.waiters = [] }
                return s.waiters
            }
            for w in waiters { w.resume() }
        }

        public var requestsInFlight: Int { inFlight.withLock { $0.count } }

        /// Returns once no request uses this (retired) generation any more.
        func drained() async {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let now = inFlight.withLock { s -> Bool in
                    s.retired = true
                    if s.count == 0 { return true }
                    s.waiters.append(c)
                    return false
                }
                if now { c.resume() }
            }
        }
    }

    private let state: Mutex<Generation>

    init(_ first: Generation) { state = Mutex(first) }

    /// The current generation, counted as in use until `leave()`.
    public func acquire() -> Generation {
        state.withLock { g in
            g.enter()
            return g
        }
    }

    /// The current generation, without counting a use (for display).
    public var current: Generation { state.withLock { $0 } }

    /// Makes `next` current; returns the previous generation (new requests no longer reach it).
    func swap(_ next: Generation) -> Generation {
        state.withLock { g in
            let old = g
            g = next
            return old
        }
    }
}

import Synchronization

/// Hands each published value to every current subscriber, each through an `AsyncStream` of its own with
/// a bounded buffer (when a subscriber falls behind, its oldest unread values are dropped). Publishing never
/// waits. A subscription ends when its consumer stops iterating.
public final class Broadcast<Value: Sendable>: Sendable {
    private struct State {
        var subscribers: [Int: AsyncStream<Value>.Continuation] = [:]
        var next = 0
    }

    private let state = Mutex(State())

    public init() {}

    public func publish(_ value: Value) {
        for subscriber in state.withLock({ Array($0.subscribers.values) }) { subscriber.yield(value) }
    }

    /// Values published from now on; at most `bufferSize` unread ones are kept.
    public func subscribe(bufferSize: Int = 1024) -> AsyncStream<Value> {
        let (stream, continuation) = AsyncStream<Value>.makeStream(bufferingPolicy: .bufferingNewest(max(1, bufferSize)))
        let id = state.withLock { s -> Int in
            defer { s.next += 1 }
            s.subscribers[s.next] = continuation
            return s.next
        }
        continuation.onTermination = { [weak self] _ in self?.state.withLock { _ = $0.subscribers.removeValue(forKey: id) } }
        return stream
    }
}

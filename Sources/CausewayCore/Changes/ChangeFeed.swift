import Synchronization

/// Fans out `ObjectChange`s to subscribers (LiveQuery, cluster coherence, …).
///
/// Publishing never blocks and never waits for a subscriber: each subscription is an `AsyncStream` with
/// its own bounded buffer (a number of changes and, when asked, their total size in bytes:
/// `ObjectChange.approximateBytes`); when a subscriber falls behind by more than its buffer, further changes
/// are dropped for it and counted (`dropped`), so a slow consumer cannot grow memory or slow writes.
///
/// Inside a transaction the gateway publishes to a *deferred* feed, which holds the changes until
/// `commit()` hands them to its parent (a rolled-back transaction publishes nothing).
public final class ChangeFeed: Sendable {
    private struct Subscriber: Sendable {
        let continuation: AsyncStream<ObjectChange>.Continuation
        var classes: Set<String>?
        let wantsImages: Bool
        /// The most bytes of unread changes kept (nil: only the count bounds the buffer).
        var maxBytes: Int?
        var pendingBytes = 0
        var dropped = 0
    }

    private struct State: Sendable {
        var subscribers: [Int: Subscriber] = [:]
        var nextId = 0
        var pending: [ObjectChange] = []
        var dropped = 0
    }

    private let state = Mutex(State())
    private let parent: ChangeFeed?
    private let gapAnnouncements = Broadcast<String>()

    public init() { self.parent = nil }

    private init(parent: ChangeFeed) { self.parent = parent }

    /// A feed that holds what is published until `commit()` passes it on to this feed.
    public func deferred() -> ChangeFeed { ChangeFeed(parent: self) }

    /// Publishes the held changes to the parent feed, in order (deferred feeds only).
    public func commit() {
        guard let parent else { return }
        let held = state.withLock { s -> [ObjectChange] in defer { s.pending = [] }; return s.pending }
        for change in held { parent.publish(change) }
    }

    /// Whether anyone listens for changes of `className` (lets writers skip reading images nobody needs).
    public func hasSubscribers(for className: String) -> Bool {
        if let parent { return parent.hasSubscribers(for: className) }
        return state.withLock { s in s.subscribers.values.contains { $0.classes?.contains(className) ?? true } }
    }

    /// Whether a subscriber of `className` needs the objects before and after each write (LiveQuery does;
    /// the cluster bus and the poller need only class and objectId): only then does a write read them.
    public func wantsImages(for className: String) -> Bool {
        if let parent { return parent.wantsImages(for: className) }
        return state.withLock { s in s.subscribers.values.contains { $0.wantsImages && ($0.classes?.contains(className) ?? true) } }
    }

    public func publish(_ change: ObjectChange) {
        if parent != nil {
            state.withLock { $0.pending.append(change) }
            return
        }
        // Byte budgets are reserved under the lock (a change always fits an empty buffer, so one larger than the
        // budget still gets through when the subscriber has caught up); then the change is yielded outside it.
        var size: Int?
        let targets = state.withLock { s -> [(id: Int, continuation: AsyncStream<ObjectChange>.Continuation, bytes: Int)] in
            var out: [(id: Int, continuation: AsyncStream<ObjectChange>.Continuation, bytes: Int)] = []
            for (id, subscriber) in s.subscribers where subscriber.classes?.contains(change.className) ?? true {
                guard let max = subscriber.maxBytes else {
                    out.append((id, subscriber.continuation, 0))
                    continue
                }
                let bytes = size ?? change.approximateBytes
                size = bytes
                if subscriber.pendingBytes > 0, subscriber.pendingBytes + bytes > max {
                    s.subscribers[id]?.dropped += 1
                    s.dropped += 1
                    continue
                }
                s.subscribers[id]?.pendingBytes += bytes
                out.append((id, subscriber.continuation, bytes))
            }
            return out
        }
        var dropped: [(id: Int, bytes: Int)] = []
        for target in targets {
            if case .dropped = target.continuation.yield(change) { dropped.append((target.id, target.bytes)) }
        }
        if !dropped.isEmpty {
            state.withLock { s in
                s.dropped += dropped.count
                for d in dropped {
                    s.subscribers[d.id]?.dropped += 1
                    s.subscribers[d.id]?.pendingBytes -= d.bytes
                }
            }
        }
    }

    /// A byte-bounded subscriber read a change of `bytes`.
    private func consumed(_ id: Int, _ bytes: Int) {
        state.withLock { s in s.subscribers[id]?.pendingBytes -= bytes }
    }

    /// Changes published from now on, for `classes` (nil: all). `bufferSize`: how many unread changes are
    /// kept; beyond that, new changes are dropped for this subscriber. The subscription ends when the stream's consumer stops iterating
    /// (or the task is cancelled).
    /// `wantsImages`: whether this subscriber needs the objects before and after each write (see `wantsImages(for:)`).
    public func subscribe(classes: Set<String>? = nil, bufferSize: Int = 10_000, wantsImages: Bool = true) -> AsyncStream<ObjectChange> {
        subscription(classes: classes, bufferSize: bufferSize, wantsImages: wantsImages).changes.stream
    }

    /// A subscription whose classes can change later (`Subscription.setClasses`): LiveQuery's, whose
    /// `liveQuery.classes` a configuration reload may change.
    public struct Subscription: Sendable {
        public let changes: Changes
        let id: Int
        let feed: ChangeFeed

        /// From now on, changes of these classes (nil: all).
        public func setClasses(_ classes: Set<String>?) {
            feed.state.withLock { s in s.subscribers[id]?.classes = classes }
        }

        /// A new byte budget for unread changes, for a subscription made with one (every change it buffers is
        /// then counted); what is buffered already stays.
        public func setMaxBytes(_ maxBytes: Int) {
            feed.state.withLock { s in
                if s.subscribers[id]?.maxBytes != nil { s.subscribers[id]?.maxBytes = maxBytes }
            }
        }

        /// Changes dropped for this subscriber since it subscribed (its buffer was full).
        public var dropped: Int { feed.state.withLock { $0.subscribers[id]?.dropped ?? 0 } }

        /// Unread changes' bytes now (byte-bounded subscriptions).
        public var pendingBytes: Int { feed.state.withLock { $0.subscribers[id]?.pendingBytes ?? 0 } }
    }

    /// The changes of a `Subscription`, in order; reading one frees its bytes in the subscription's budget.
    public struct Changes: AsyncSequence, Sendable {
        public typealias Element = ObjectChange
        let stream: AsyncStream<ObjectChange>
        let feed: ChangeFeed
        let id: Int
        let sized: Bool

        public struct AsyncIterator: AsyncIteratorProtocol {
            var base: AsyncStream<ObjectChange>.AsyncIterator
            let feed: ChangeFeed
            let id: Int
            let sized: Bool

            public mutating func next() async -> ObjectChange? {
                guard let change = await base.next() else { return nil }
                if sized { feed.consumed(id, change.approximateBytes) }
                return change
            }
        }

        public func makeAsyncIterator() -> AsyncIterator {
            AsyncIterator(base: stream.makeAsyncIterator(), feed: feed, id: id, sized: sized)
        }
    }

    /// As `subscribe`, with a handle to change the classes later. `maxBytes`: the most bytes of unread changes
    /// kept besides the `bufferSize` count (nil: no byte bound).
    public func subscription(classes: Set<String>? = nil, bufferSize: Int = 10_000, maxBytes: Int? = nil,
                             wantsImages: Bool = true) -> Subscription {
        let (stream, continuation) = AsyncStream<ObjectChange>.makeStream(bufferingPolicy: .bufferingOldest(max(1, bufferSize)))
        let id = state.withLock { s -> Int in
            let id = s.nextId
            s.nextId += 1
            s.subscribers[id] = Subscriber(continuation: continuation, classes: classes, wantsImages: wantsImages, maxBytes: maxBytes)
            return id
        }
        continuation.onTermination = { [weak self] _ in
            self?.state.withLock { _ = $0.subscribers.removeValue(forKey: id) }
        }
        return Subscription(changes: Changes(stream: stream, feed: self, id: id, sized: maxBytes != nil), id: id, feed: self)
    }

    /// Says that changes of `className` may have gone unannounced (a source's listener was not connected for a
    /// while): consumers that keep state about its objects (LiveQuery's remembered images) refresh it.
    public func announceGap(className: String) {
        if let parent { return parent.announceGap(className: className) }
        gapAnnouncements.publish(className)
    }

    /// Classes announced by `announceGap` from now on.
    public func gaps() -> AsyncStream<String> {
        if let parent { return parent.gaps() }
        return gapAnnouncements.subscribe(bufferSize: 1024)
    }

    /// Changes dropped because a subscriber's buffer was full, since start.
    public var dropped: Int { state.withLock { $0.dropped } }

    public var subscriberCount: Int { state.withLock { $0.subscribers.count } }
}

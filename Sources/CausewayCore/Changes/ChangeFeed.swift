import Synchronization

/// Fans out `ObjectChange`s to subscribers (LiveQuery, cluster coherence, …).
///
/// Publishing never blocks and never waits for a subscriber: each subscription is an `AsyncStream` with
/// its own bounded buffer; when a subscriber falls behind by more than its buffer, further changes are
/// dropped for it and counted (`dropped`), so a slow consumer cannot grow memory or slow writes.
///
/// Inside a transaction the gateway publishes to a *deferred* feed, which holds the changes until
/// `commit()` hands them to its parent (a rolled-back transaction publishes nothing).
public final class ChangeFeed: Sendable {
    private struct Subscriber: Sendable {
        let continuation: AsyncStream<ObjectChange>.Continuation
        var classes: Set<String>?
        let wantsImages: Bool
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
        let targets = state.withLock { s in s.subscribers.values.filter { $0.classes?.contains(change.className) ?? true } }
        var drops = 0
        for target in targets {
            if case .dropped = target.continuation.yield(change) { drops += 1 }
        }
        if drops > 0 { state.withLock { $0.dropped += drops } }
    }

    /// Changes published from now on, for `classes` (nil: all). `bufferSize`: how many unread changes are
    /// kept; beyond that, new changes are dropped for this subscriber. The subscription ends when the stream's consumer stops iterating
    /// (or the task is cancelled).
    /// `wantsImages`: whether this subscriber needs the objects before and after each write (see `wantsImages(for:)`).
    public func subscribe(classes: Set<String>? = nil, bufferSize: Int = 10_000, wantsImages: Bool = true) -> AsyncStream<ObjectChange> {
        subscription(classes: classes, bufferSize: bufferSize, wantsImages: wantsImages).changes
    }

    /// A subscription whose classes can change later (`Subscription.setClasses`): LiveQuery's, whose
    /// `liveQuery.classes` a configuration reload may change.
    public struct Subscription: Sendable {
        public let changes: AsyncStream<ObjectChange>
        let id: Int
        let feed: ChangeFeed

        /// From now on, changes of these classes (nil: all).
        public func setClasses(_ classes: Set<String>?) {
            feed.state.withLock { s in s.subscribers[id]?.classes = classes }
        }
    }

    /// As `subscribe`, with a handle to change the classes later.
    public func subscription(classes: Set<String>? = nil, bufferSize: Int = 10_000, wantsImages: Bool = true) -> Subscription {
        let (stream, continuation) = AsyncStream<ObjectChange>.makeStream(bufferingPolicy: .bufferingOldest(max(1, bufferSize)))
        let id = state.withLock { s -> Int in
            let id = s.nextId
            s.nextId += 1
            s.subscribers[id] = Subscriber(continuation: continuation, classes: classes, wantsImages: wantsImages)
            return id
        }
        continuation.onTermination = { [weak self] _ in
            self?.state.withLock { _ = $0.subscribers.removeValue(forKey: id) }
        }
        return Subscription(changes: stream, id: id, feed: self)
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

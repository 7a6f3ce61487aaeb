import CausewayCore
import Synchronization

/// Why the server closes a LiveQuery connection: a WebSocket close code and reason.
public struct LiveQueryCloseReason: Sendable, Equatable {
    public var code: UInt16
    public var reason: String

    /// The client fell behind by more than `sendQueueSize` messages.
    public static let slowClient = LiveQueryCloseReason(code: 4002, reason: "send queue full: the client reads too slowly")
    /// The session of the connection ended (logout, expiry, disabled user).
    public static let sessionEnded = LiveQueryCloseReason(code: 4001, reason: "session ended")
    /// The node serves `maxClients` connections already.
    public static let tooManyClients = LiveQueryCloseReason(code: 1013, reason: "too many LiveQuery clients on this node; try again later")
    /// The gateway is shutting down.
    public static let shutdown = LiveQueryCloseReason(code: 1001, reason: "server shutting down")
}

/// One client connection, independent of the transport: the transport feeds it the client's text
/// messages (`receive`), sends what `outbound` yields, and closes the socket when `closeRequested` returns.
///
/// `outbound` is bounded (`sendQueueSize` messages and `sendQueueBytes` bytes): when a message does not fit,
/// the connection is closed as a slow client instead of buffering more, so a client that does not read never
/// grows the server's memory beyond that.
public final class LiveQueryConnection: Sendable {
    public let id: Int
    /// The client's address, when known.
    public let remoteAddress: String?
    /// Messages for the client, in order (taking one frees its bytes in the queue's budget).
    public let outbound: Outbound
    private let outboundContinuation: AsyncStream<String>.Continuation
    /// Bytes of the messages queued and not yet taken by the transport.
    private let queuedBytes = QueuedBytes()
    private let maxQueuedBytes: Int

    /// A byte count shared by the connection (which queues) and its `Outbound` (which takes).
    final class QueuedBytes: Sendable {
        private let value = Mutex(0)

        /// Adds `size` when it fits within `limit` (or nothing is queued); false otherwise.
        func reserve(_ size: Int, limit: Int) -> Bool {
            value.withLock { queued in
                guard queued == 0 || queued + size <= limit else { return false }
                queued += size
                return true
            }
        }

        func release(_ size: Int) { value.withLock { $0 -= size } }

        var current: Int { value.withLock { $0 } }
    }
    private let closeStream: AsyncStream<LiveQueryCloseReason>
    private let closeContinuation: AsyncStream<LiveQueryCloseReason>.Continuation
    let hub: LiveQueryHub

    struct State: Sendable {
        var connected: LiveQueryIdentity?
        var connectToken: String?
        var installationId: String?
        var subscriptions: [Int: LiveQuerySubscription] = [:]
        var closing: LiveQueryCloseReason?
    }

    let state = Mutex(State())

    init(id: Int, hub: LiveQueryHub, queueSize: Int, queueBytes: Int = .max, remoteAddress: String?) {
        self.id = id
        self.remoteAddress = remoteAddress
        self.hub = hub
        self.maxQueuedBytes = queueBytes
        let (stream, continuation) = AsyncStream<String>.makeStream(bufferingPolicy: .bufferingOldest(queueSize))
        outboundContinuation = continuation
        outbound = Outbound(stream: stream, queued: queuedBytes)
        (closeStream, closeContinuation) = AsyncStream<LiveQueryCloseReason>.makeStream(bufferingPolicy: .bufferingOldest(1))
    }

    /// Handles one text message from the client.
    public func receive(_ text: String) async {
        await hub.handle(text, from: self)
    }

    /// A binary message: not part of the protocol.
    public func receiveBinary() {
        send(LiveQueryReply.error(code: 1, "LiveQuery messages are JSON text", reconnect: true))
    }

    /// Returns when the server wants this connection closed at once, without sending what is queued (a slow
    /// client); nil when the connection ended first. Other closes finish `outbound` instead: the transport
    /// sends what is queued, then closes with `closeReason`.
    public func closeRequested() async -> LiveQueryCloseReason? {
        for await reason in closeStream { return reason }
        return nil
    }

    /// The transport is gone: drop the client and its subscriptions.
    public func disconnected() {
        outboundContinuation.finish()
        closeContinuation.finish()
        hub.remove(self)
    }

    /// Queues a message; a full queue (messages or bytes) closes the connection as a slow client.
    func send(_ message: String) {
        let size = message.utf8.count
        guard queuedBytes.reserve(size, limit: maxQueuedBytes) else {
            slow()
            return
        }
        if case .dropped = outboundContinuation.yield(message) {
            queuedBytes.release(size)
            slow()
        }
    }

    private func slow() {
        guard closeReason == nil else { return }
        hub.metrics.dropped()
        close(.slowClient)
    }

    /// The queued messages as the transport takes them; each one taken frees its bytes.
    public struct Outbound: AsyncSequence, Sendable {
        public typealias Element = String
        let stream: AsyncStream<String>
        let queued: QueuedBytes

        public struct AsyncIterator: AsyncIteratorProtocol {
            var base: AsyncStream<String>.AsyncIterator
            let queued: QueuedBytes

            public mutating func next() async -> String? {
                guard let message = await base.next() else { return nil }
                queued.release(message.utf8.count)
                return message
            }
        }

        public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: stream.makeAsyncIterator(), queued: queued) }
    }

    /// Asks the transport to close the connection (once); its subscriptions end now.
    public func close(_ reason: LiveQueryCloseReason) {
        let first = state.withLock { s -> Bool in
            guard s.closing == nil else { return false }
            s.closing = reason
            return true
        }
        guard first else { return }
        hub.dropSubscriptions(of: self)
        if reason == .slowClient {
            // Now: what is queued would wait for a client that does not read.
            closeContinuation.yield(reason)
        } else {
            // After what is queued (the error that says why).
            outboundContinuation.finish()
        }
    }

    public var closeReason: LiveQueryCloseReason? { state.withLock { $0.closing } }

    /// Bytes of messages queued for the client and not yet taken by the transport.
    public var queuedByteCount: Int { queuedBytes.current }
}

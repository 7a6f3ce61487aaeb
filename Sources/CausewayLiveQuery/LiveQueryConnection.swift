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
/// `outbound` is bounded (`sendQueueSize`): when a message does not fit, the connection is closed as a slow
/// client instead of buffering more, so a client that does not read never grows the server's memory.
public final class LiveQueryConnection: Sendable {
    public let id: Int
    /// The client's address, when known.
    public let remoteAddress: String?
    /// Messages for the client, in order.
    public let outbound: AsyncStream<String>
    private let outboundContinuation: AsyncStream<String>.Continuation
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

    init(id: Int, hub: LiveQueryHub, queueSize: Int, remoteAddress: String?) {
        self.id = id
        self.remoteAddress = remoteAddress
        self.hub = hub
        (outbound, outboundContinuation) = AsyncStream<String>.makeStream(bufferingPolicy: .bufferingOldest(queueSize))
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

    /// Queues a message; a full queue closes the connection as a slow client.
    func send(_ message: String) {
        if case .dropped = outboundContinuation.yield(message) {
            hub.metrics.dropped()
            close(.slowClient)
        }
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
}

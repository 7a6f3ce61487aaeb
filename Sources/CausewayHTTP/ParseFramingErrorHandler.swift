import CausewayCore
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1

/// Answers requests that NIO's HTTP parser refuses before any responder sees them (a `Content-Length`
/// that is not a number, an invalid header name, too many headers, a garbled request line, bytes that are
/// not HTTP) with a Parse error body, `400 {"code":107,"error":…}`, then closes the connection.
///
/// Without it Hummingbird answers these with an empty 400 body, and behind the WebSocket upgrade handler
/// (LiveQuery) it answers nothing and leaves the connection open. It sits right after NIO's HTTP/1 request
/// decoder, before the upgrade handler and Hummingbird's codec (`FramingGuardedChannel` puts it there).
/// A parser error that arrives while a request is in flight (its head was delivered and its response not
/// yet finished: broken framing while the body is read) is passed on: the responder reading the body
/// answers that one (`ParseResponder`, also 400/107).
final class ParseFramingErrorHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// A request head was delivered and the end of its response was not yet written.
    private var inFlight = false
    /// This handler has answered and is closing the connection: later input is dropped.
    private var answered = false
    /// A request asked to upgrade the connection (WebSocket): from then on everything passes through
    /// untouched and unread, because after an upgrade the parts are no longer HTTP (and the bytes NIO's
    /// decoder had buffered pass through here as raw bytes while the upgrade is under way).
    private var passThrough = false
    /// A connection that sends no request head within this time is closed (nil: never). After the first head,
    /// Hummingbird's connection handler applies the same idle timeout between requests.
    private let firstRequestTimeout: TimeAmount?
    private var firstRequestDeadline: Scheduled<Void>?

    init(firstRequestTimeout: TimeAmount? = nil) {
        self.firstRequestTimeout = firstRequestTimeout
    }

    /// Adds the handler right after the pipeline's HTTP/1 request decoder.
    static func install(in pipeline: ChannelPipeline.SynchronousOperations, firstRequestTimeout: TimeAmount? = nil) throws {
        let decoder = try pipeline.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
        try pipeline.addHandler(ParseFramingErrorHandler(firstRequestTimeout: firstRequestTimeout), position: .after(decoder))
    }

    func handlerAdded(context: ChannelHandlerContext) {
        // Without this, a connection that never sends a request head stays open for good behind the WebSocket
        // upgrade handler (Hummingbird adds its idle handling only once a first request has arrived there).
        guard let timeout = firstRequestTimeout else { return }
        let bound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        firstRequestDeadline = context.eventLoop.scheduleTask(in: timeout) {
            let (handler, context) = bound.value
            guard !handler.sawHead, !handler.passThrough, !handler.answered else { return }
            context.close(promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        firstRequestDeadline?.cancel()
        firstRequestDeadline = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        firstRequestDeadline?.cancel()
        firstRequestDeadline = nil
        context.fireChannelInactive()
    }

    /// A request head has arrived on this connection.
    private var sawHead = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !answered else { return }
        if !passThrough, case .head(let head) = unwrapInboundIn(data) {
            inFlight = true
            if !sawHead {
                sawHead = true
                firstRequestDeadline?.cancel()
                firstRequestDeadline = nil
            }
            if head.headers.contains(name: "upgrade") { passThrough = true }
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if !passThrough, case .end = unwrapOutboundIn(data) { inFlight = false }
        context.write(data, promise: promise)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parserError = error as? HTTPParserError else {
            context.fireErrorCaught(error)
            return
        }
        if answered { return }
        if inFlight || passThrough {
            context.fireErrorCaught(error)
            return
        }
        answered = true
        let body = Self.body(for: parserError)
        var buffer = context.channel.allocator.buffer(capacity: body.count)
        buffer.writeBytes(body)
        let head = HTTPResponseHead(version: .http1_1, status: .badRequest, headers: [
            "Content-Type": "application/json; charset=utf-8",
            "Content-Length": String(body.count),
            "Connection": "close",
        ])
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in context.close(promise: nil) }
    }

    /// The Parse error for a parser refusal; names what was wrong, never echoes the client's bytes.
    static func body(for error: HTTPParserError) -> [UInt8] {
        let what: String
        switch error {
        case .invalidContentLength, .unexpectedContentLength: what = "its Content-Length is not a valid length"
        case .headerOverflow: what = "its headers are too large"
        case .invalidHeaderToken: what = "a header name or value contains characters HTTP does not allow"
        case .invalidChunkSize: what = "a chunk size is not valid"
        case .invalidVersion: what = "its HTTP version is not valid"
        case .invalidMethod: what = "its method is not valid"
        case .invalidURL: what = "its URL is not valid"
        default: what = "it is not well-formed HTTP/1.1"
        }
        let error = GatewayError(.invalidJSON, "The request could not be read: \(what).")
        return JSONWriter.serialize(.object(["code": .int(Int64(error.code.rawValue)), "error": .string(error.message)]))
    }
}

/// A server child channel (plain HTTP/1, or HTTP/1 with the WebSocket upgrade) with
/// `ParseFramingErrorHandler` after its HTTP/1 decoder.
struct FramingGuardedChannel<Inner: ServerChildChannel>: ServerChildChannel {
    typealias Value = Inner.Value
    let inner: Inner
    /// See `ParseFramingErrorHandler.firstRequestTimeout`.
    let firstRequestTimeout: TimeAmount?

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        inner.setup(channel: channel, logger: logger).flatMapThrowing { value in
            try ParseFramingErrorHandler.install(in: channel.pipeline.syncOperations, firstRequestTimeout: firstRequestTimeout)
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        await inner.handle(value: value, logger: logger)
    }
}

extension HTTPServerBuilder {
    /// A server whose child channels `make` builds, each guarded by `ParseFramingErrorHandler`
    /// (`firstRequestTimeout`: close connections that send no request head within it).
    static func framingGuarded<C: ServerChildChannel>(firstRequestTimeout: TimeAmount? = nil,
                                                      _ make: @escaping @Sendable (@escaping HTTPChannelHandler.Responder) -> C) -> HTTPServerBuilder {
        HTTPServerBuilder { responder in FramingGuardedChannel(inner: make(responder), firstRequestTimeout: firstRequestTimeout) }
    }

    /// Plain HTTP/1, guarded; the configuration's idle timeout also bounds the wait for the first request.
    static func guardedHTTP1(_ configuration: HTTP1Channel.Configuration = .init()) -> HTTPServerBuilder {
        framingGuarded(firstRequestTimeout: configuration.idleTimeout) { HTTP1Channel(responder: $0, configuration: configuration) }
    }
}

@testable import CausewayHTTP
import CausewayCore
import NIOCore
import NIOEmbedded
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import NIOWebSocket
import Testing

/// Requests that NIO's HTTP parser refuses before any responder runs get a Parse error body (400, 107) and
/// a closed connection, not Hummingbird's empty 400. The channel is the server's pipeline: NIO's HTTP/1
/// decoder and encoder, the HTTP types codec, then `ParseFramingErrorHandler`.
@Suite struct FramingErrorTests {
    /// The plain HTTP/1 server's pipeline (as Hummingbird's HTTP1Channel builds it), guarded.
    static func connectedChannel(firstRequestTimeout: TimeAmount? = nil) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.configureHTTPServerPipeline(withPipeliningAssistance: false, withErrorHandling: false)
        try channel.pipeline.syncOperations.addHandler(HTTP1ToHTTPServerCodec(secure: false))
        try ParseFramingErrorHandler.install(in: channel.pipeline.syncOperations, firstRequestTimeout: firstRequestTimeout)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9)).wait()
        return channel
    }

    /// The pipeline behind the WebSocket upgrade (LiveQuery): NIO's upgrade handler right after the decoder,
    /// Hummingbird's codec only once it has decided not to upgrade.
    static func upgradableChannel(firstRequestTimeout: TimeAmount? = nil) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        let configuration = NIOTypedHTTPServerUpgradeConfiguration<Bool>(upgraders: [], notUpgradingCompletionHandler: { channel in
            channel.eventLoop.makeCompletedFuture { true }
        })
        var pipeline = NIOUpgradableHTTPServerPipelineConfiguration<Bool>(upgradeConfiguration: configuration)
        pipeline.enablePipelining = false
        pipeline.enableErrorHandling = false
        _ = try channel.pipeline.syncOperations.configureUpgradableHTTPServerPipeline(configuration: pipeline)
        try ParseFramingErrorHandler.install(in: channel.pipeline.syncOperations, firstRequestTimeout: firstRequestTimeout)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9)).wait()
        return channel
    }

    /// Feeds `bytes` to a server pipeline and returns what it wrote back and whether it closed.
    static func serve(_ bytes: String, upgradable: Bool = false) throws -> (answer: String, closed: Bool) {
        let channel = try upgradable ? Self.upgradableChannel() : Self.connectedChannel()
        // Stands for the responder: counts request heads and errors that reach the end of the pipeline.
        let sink = ErrorSink()
        try channel.pipeline.syncOperations.addHandler(sink)
        try channel.writeInbound(ByteBuffer(string: bytes))
        var answer = ""
        while let part = try channel.readOutbound(as: ByteBuffer.self) { answer += String(buffer: part) }
        let closed = !channel.isActive
        _ = try? channel.finish()
        return (answer, closed || sink.errors > 0)
    }

    final class ErrorSink: ChannelInboundHandler, RemovableChannelHandler {
        typealias InboundIn = HTTPRequestPart
        var errors = 0
        var heads = 0
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            if case .head = unwrapInboundIn(data) { heads += 1 }
        }
        func errorCaught(context: ChannelHandlerContext, error: any Error) { errors += 1 }
    }

    static func body(_ answer: String) throws -> [String: JSONValue] {
        let text = try #require(answer.components(separatedBy: "\r\n\r\n").last)
        guard case .object(let object) = try JSONParser.parse(Array(text.utf8)) else { Issue.record("not an object: \(text)"); return [:] }
        return object
    }

    @Test(arguments: [
        ("POST /parse/classes/A HTTP/1.1\r\nHost: x\r\nContent-Length: ten\r\n\r\n{}", "Content-Length"),
        ("POST /parse/classes/A HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n{}", "Content-Length"),
        ("POST /parse/classes/A HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}", "Content-Length"),
        ("GET /parse/health HTTP/1.1\r\nBad Header: x\r\n\r\n", "header"),
        ("GET\u{1} /parse/health HTTP/1.1\r\nHost: x\r\n\r\n", "method"),
        ("\u{16}\u{3}\u{1}\u{2}\u{5}\u{1}\u{7}\u{1}\r\n\r\n", "method"),
    ])
    func parserRefusalsAnswerInParseShapeAndClose(request: String, names: String) throws {
        for upgradable in [false, true] {
        let (answer, closed) = try Self.serve(request, upgradable: upgradable)
        #expect(answer.hasPrefix("HTTP/1.1 400 Bad Request\r\n"), "\(names): \(answer.debugDescription)")
        #expect(answer.lowercased().contains("content-type: application/json"))
        #expect(answer.lowercased().contains("connection: close"))
        let body = try Self.body(answer)
        #expect(body["code"] == .int(107))
        guard case .string(let message) = body["error"] else { Issue.record("no error text: \(body)"); return }
        #expect(message.hasPrefix("The request could not be read:") && message.contains(names), "\(message.debugDescription)")
        #expect(closed)
        }
    }

    /// A request whose head was delivered is in the responder's hands: a framing error in its body goes on to
    /// the responder (which answers 400/107 itself, see ParseResponder) and this handler writes nothing.
    @Test func anErrorWhileARequestIsInFlightIsLeftToTheResponder() throws {
        let channel = try Self.connectedChannel()
        let sink = ErrorSink()
        try channel.pipeline.syncOperations.addHandler(sink)
        try channel.writeInbound(ByteBuffer(string: "POST /parse/classes/A HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\n{}\r\n0\r\n\r\n"))
        #expect(sink.heads == 1)
        #expect(sink.errors == 1)
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
        _ = try? channel.finish()
    }

    @Test func wellFormedRequestsPassThroughUntouched() throws {
        let (answer, closed) = try Self.serve("GET /parse/health HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(answer.isEmpty)
        #expect(!closed)
    }

    /// After an upgrade request the handler lets everything through unread: the WebSocket bytes a client sends
    /// right behind its upgrade request (which NIO's decoder hands on as raw bytes) and the frames written
    /// back are not HTTP parts.
    @Test func aWebSocketUpgradePassesThroughUntouched() throws {
        let channel = EmbeddedChannel()
        let frames = FrameSink()
        let upgrader = NIOTypedWebSocketServerUpgrader<Bool>(
            shouldUpgrade: { channel, _ in channel.eventLoop.makeSucceededFuture(HTTPHeaders()) },
            upgradePipelineHandler: { channel, _ in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(frames)
                    return true
                }
            })
        let configuration = NIOTypedHTTPServerUpgradeConfiguration<Bool>(upgraders: [upgrader], notUpgradingCompletionHandler: { channel in
            channel.eventLoop.makeSucceededFuture(false)
        })
        var pipeline = NIOUpgradableHTTPServerPipelineConfiguration<Bool>(upgradeConfiguration: configuration)
        pipeline.enablePipelining = false
        pipeline.enableErrorHandling = false
        let upgraded = try channel.pipeline.syncOperations.configureUpgradableHTTPServerPipeline(configuration: pipeline)
        try ParseFramingErrorHandler.install(in: channel.pipeline.syncOperations)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9)).wait()

        var bytes = ByteBuffer(string: "GET /parse HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
        let frame: [UInt8] = [0x81, 0x82, 1, 2, 3, 4, 0x68 ^ 1, 0x69 ^ 2]  // a masked text frame "hi"
        bytes.writeBytes(frame)
        try channel.writeInbound(bytes)
        channel.embeddedEventLoop.run()
        #expect(try upgraded.wait() == true)
        var answer = ""
        while let part = try channel.readOutbound(as: ByteBuffer.self) { answer += String(buffer: part) }
        #expect(answer.hasPrefix("HTTP/1.1 101 Switching Protocols\r\n"), "\(answer)")
        #expect(frames.received == ["hi"])
        // Writes after the upgrade are not HTTP parts either.
        try channel.writeOutbound(WebSocketFrame(fin: true, opcode: .text, data: ByteBuffer(string: "ok")))
        var written: [UInt8] = []
        while var part = try channel.readOutbound(as: ByteBuffer.self) { written += part.readBytes(length: part.readableBytes) ?? [] }
        #expect(written == [0x81, 0x02, 0x6F, 0x6B])
        _ = try? channel.finish()
    }

    /// A connection that never sends a request is closed after the idle timeout (the WebSocket upgrade
    /// handler would otherwise keep it open for good); one that sent a request is left to Hummingbird's idle
    /// handling. Time comes from the embedded event loop, advanced by hand.
    @Test func aConnectionThatNeverSendsARequestIsClosed() throws {
        for upgradable in [false, true] {
            let silent = try upgradable ? Self.upgradableChannel(firstRequestTimeout: .seconds(60)) : Self.connectedChannel(firstRequestTimeout: .seconds(60))
            silent.embeddedEventLoop.advanceTime(by: .seconds(59))
            #expect(silent.isActive)
            silent.embeddedEventLoop.advanceTime(by: .seconds(1))
            #expect(!silent.isActive, "upgradable: \(upgradable)")
            _ = try? silent.finish()

            let talking = try upgradable ? Self.upgradableChannel(firstRequestTimeout: .seconds(60)) : Self.connectedChannel(firstRequestTimeout: .seconds(60))
            try talking.writeInbound(ByteBuffer(string: "GET /parse/health HTTP/1.1\r\nHost: x\r\n\r\n"))
            talking.embeddedEventLoop.advanceTime(by: .seconds(120))
            #expect(talking.isActive, "upgradable: \(upgradable)")
            _ = try? talking.finish()
        }
    }

    final class FrameSink: ChannelInboundHandler, RemovableChannelHandler, @unchecked Sendable {
        typealias InboundIn = WebSocketFrame
        var received: [String] = []
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            received.append(String(buffer: unwrapInboundIn(data).unmaskedData))
        }
    }
}

@testable import CausewayHTTP
import CausewayCore
import NIOCore
import NIOEmbedded
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import Testing

/// Requests that NIO's HTTP parser refuses before any responder runs get a Parse error body (400, 107) and
/// a closed connection, not Hummingbird's empty 400. The channel is the server's pipeline: NIO's HTTP/1
/// decoder and encoder, the HTTP types codec, then `ParseFramingErrorHandler`.
@Suite struct FramingErrorTests {
    /// The plain HTTP/1 server's pipeline (as Hummingbird's HTTP1Channel builds it), guarded.
    static func connectedChannel() throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.configureHTTPServerPipeline(withPipeliningAssistance: false, withErrorHandling: false)
        try channel.pipeline.syncOperations.addHandler(HTTP1ToHTTPServerCodec(secure: false))
        try ParseFramingErrorHandler.install(in: channel.pipeline.syncOperations)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9)).wait()
        return channel
    }

    /// The pipeline behind the WebSocket upgrade (LiveQuery): NIO's upgrade handler right after the decoder,
    /// Hummingbird's codec only once it has decided not to upgrade.
    static func upgradableChannel() throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        let configuration = NIOTypedHTTPServerUpgradeConfiguration<Bool>(upgraders: [], notUpgradingCompletionHandler: { channel in
            channel.eventLoop.makeCompletedFuture { true }
        })
        var pipeline = NIOUpgradableHTTPServerPipelineConfiguration<Bool>(upgradeConfiguration: configuration)
        pipeline.enablePipelining = false
        pipeline.enableErrorHandling = false
        _ = try channel.pipeline.syncOperations.configureUpgradableHTTPServerPipeline(configuration: pipeline)
        try ParseFramingErrorHandler.install(in: channel.pipeline.syncOperations)
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
}

import CausewayCore
@testable import CausewayREST
import Logging
import NIOHTTP1
import Synchronization
import Testing

/// Keeps every log record (message and merged metadata) for the test to read.
final class CapturingLogHandler: LogHandler, @unchecked Sendable {
    struct Record { var level: Logger.Level; var message: String; var metadata: Logger.Metadata }
    let records = Mutex<[Record]>([])
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(level: Logger.Level, message: Logger.Message, metadata extra: Logger.Metadata?, source: String, file: String, function: String, line: UInt) {
        let merged = self.metadata.merging(extra ?? [:]) { $1 }
        records.withLock { $0.append(Record(level: level, message: message.description, metadata: merged)) }
    }
}

@Suite struct RESTUpstreamLogTests {
    /// The upstream's own text goes to the log with the connector and the request id, never into the
    /// client's message.
    @Test func upstreamTextIsLoggedNotShown() throws {
        let handler = CapturingLogHandler()
        var logger = Logger(label: "t") { _ in handler }
        logger[metadataKey: "hb.request.id"] = "req-42"
        let connector = RESTConnector(name: "tickets", settings: RESTSettings(baseURL: "http://127.0.0.1:1"), collections: [])
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "text/html")
        let html = RESTAnswer(status: 200, headers: headers, bytes: Array("<html>db password wrong at line 7</html>".utf8))
        do {
            _ = try connector.interpret(html, method: "GET", url: "http://127.0.0.1:1/t", endOfData: nil, write: false, logger: logger)
            Issue.record("a non-JSON answer was accepted")
        } catch let failure as RESTUpstreamFailure {
            #expect(failure.error.code == .connectionFailed && failure.error.message.contains("connector tickets") && !failure.error.message.contains("password"))
            #expect(!failure.retryable)
        }
        let refused = RESTAnswer(status: 500, headers: [:], bytes: Array("stack trace: secret".utf8))
        #expect(throws: RESTUpstreamFailure.self) { try connector.interpret(refused, method: "GET", url: "http://127.0.0.1:1/t", endOfData: nil, write: false, logger: logger) }
        let records = handler.records.withLock { $0 }
        #expect(records.count == 2)
        for (record, text) in zip(records, ["db password wrong", "stack trace: secret"]) {
            #expect(record.metadata["causeway.connector"] == "tickets" && record.metadata["hb.request.id"] == "req-42")
            #expect(record.metadata["upstream.body"]?.description.contains(text) == true, "\(record)")
        }
        // A write the API accepted with a body that is not JSON is a success.
        let written = try connector.interpret(html, method: "POST", url: "http://127.0.0.1:1/t", endOfData: nil, write: true, logger: logger)
        #expect(written.status == 200)
        // A declared end of data: no JSON, no error.
        let end = try connector.interpret(RESTAnswer(status: 404, headers: headers, bytes: Array("<html>404</html>".utf8)), method: "GET",
                                          url: "http://127.0.0.1:1/t", endOfData: .init(statuses: [404]), write: false, logger: logger)
        #expect(end.json == nil)
    }
}

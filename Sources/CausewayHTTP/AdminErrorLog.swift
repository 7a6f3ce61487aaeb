import CausewayCore
import Synchronization

/// The last 50 answers with a 4xx or 5xx status (request id, method, path, status, Parse code and
/// message), for the admin page. Paths and messages are cleaned of control characters and capped.
public final class AdminErrorLog: Sendable {
    public struct Entry: Sendable {
        public var at: ParseDate
        public var requestId: String
        public var method: String
        public var path: String
        public var status: Int
        public var code: Int?
        public var message: String
    }

    public static let capacity = 50
    private let ring = Mutex<(entries: [Entry], next: Int)>(([], 0))

    public init() {}

    public func record(_ entry: Entry) {
        var e = entry
        e.path = LogText.clean(e.path, limit: 300)
        e.message = LogText.clean(e.message, limit: 500)
        e.requestId = LogText.clean(e.requestId, limit: 128)
        ring.withLock { r in
            if r.entries.count < AdminErrorLog.capacity { r.entries.append(e) } else { r.entries[r.next] = e }
            r.next = (r.next + 1) % AdminErrorLog.capacity
        }
    }

    /// Newest first.
    public var entries: [Entry] {
        ring.withLock { r in
            guard r.entries.count == AdminErrorLog.capacity else { return r.entries.reversed() }
            return Array((r.entries[r.next...] + r.entries[..<r.next]).reversed())
        }
    }
}

/// The Parse error of the request being answered, noted where errors become replies (`ParseReply.error`),
/// so the error log can show its code and message.
final class ErrorCapture: Sendable {
    @TaskLocal static var current: ErrorCapture?
    private let noted = Mutex<GatewayError?>(nil)

    func note(_ error: GatewayError) { noted.withLock { $0 = error } }
    var error: GatewayError? { noted.withLock { $0 } }
}

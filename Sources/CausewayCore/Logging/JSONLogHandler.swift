#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging
import Synchronization

/// A swift-log handler that writes one JSON object per line (`logging.format: json`), for log shippers.
///
/// Each line has `timestamp` (ISO 8601, UTC, milliseconds), `level`, `label`, `message` and the logger's
/// metadata. The access line's metadata gets the short names shippers expect: `request_id` (the gateway's
/// id of the request), `parse_request_id` (the client's `X-Parse-Request-Id`), `method`, `path`, `status`
/// and `duration_ms` (numbers). No secret is written: metadata whose key names a secret (password, token,
/// key, secret, authorization, cookie) is replaced by `"[redacted]"`, and the configured secrets (master
/// key, client keys) are cut out of every value and message. Paths never carry query strings (GET /login
/// takes the password there) because the HTTP layer logs the path only.
public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    public let label: String
    let secrets: [String]
    let write: @Sendable (String) -> Void

    /// `write` receives each line, newline included. `secrets` are values never to be written.
    public init(label: String, secrets: [String] = [], metadataProvider: Logger.MetadataProvider? = nil,
                write: @escaping @Sendable (String) -> Void) {
        self.label = label
        self.secrets = secrets.filter { $0.count >= 4 }
        self.metadataProvider = metadataProvider
        self.write = write
    }

    /// Lines to standard error, as the text format writes them.
    public static func standardError(label: String, secrets: [String] = []) -> JSONLogHandler {
        JSONLogHandler(label: label, secrets: secrets) { line in
            // Whole lines under one lock, so lines from concurrent requests never interleave.
            standardErrorLock.withLock { _ in writeAll(2, Array(line.utf8)) }
        }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// Metadata keys renamed on the line.
    static let shortNames: [String: String] = [
        "hb.request.id": "request_id",
        "request.parse_id": "parse_request_id",
        "http.method": "method",
        "http.path": "path",
        "http.status": "status",
        "http.duration_ms": "duration_ms",
    ]

    /// Key fragments that mark a secret value.
    static let secretKeyFragments = ["password", "token", "secret", "authorization", "cookie", "masterkey", "master_key", "apikey", "api_key", "clientkey", "client_key"]

    public func log(level: Logger.Level, message: Logger.Message, metadata explicit: Logger.Metadata?,
                    source: String, file: String, function: String, line: UInt) {
        var merged = self.metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { $1 } }
        if let explicit { merged.merge(explicit) { $1 } }
        write(render(level: level, message: message.description, metadata: merged))
    }

    /// The line for one event (also used by the tests).
    public func render(level: Logger.Level, message: String, metadata: Logger.Metadata) -> String {
        var fields: [String: JSONValue] = [:]
        for (key, value) in metadata {
            let name = JSONLogHandler.shortNames[key] ?? key
            let lowered = key.lowercased()
            if JSONLogHandler.secretKeyFragments.contains(where: lowered.contains) {
                fields[name] = .string("[redacted]")
                continue
            }
            var json = convert(value)
            if name == "status", case .string(let s) = json, let n = Int64(s) { json = .int(n) }
            if name == "duration_ms", case .string(let s) = json, let d = Double(s) { json = .double(d) }
            fields[name] = json
        }
        fields["timestamp"] = .string(ParseDate.now().iso8601)
        fields["level"] = .string(level.rawValue)
        fields["label"] = .string(label)
        fields["message"] = .string(scrub(message))
        return JSONWriter.string(.object(fields)) + "\n"
    }

    func convert(_ value: Logger.Metadata.Value) -> JSONValue {
        switch value {
        case .string(let s): return .string(scrub(s))
        case .stringConvertible(let c):
            if let i = c as? Int { return .int(Int64(i)) }
            if let i = c as? UInt { return .int(Int64(clamping: i)) }
            if let i = c as? Int64 { return .int(i) }
            if let d = c as? Double, d.isFinite { return .double(d) }
            if let b = c as? Bool { return .bool(b) }
            return .string(scrub(c.description))
        case .array(let a): return .array(a.map(convert))
        case .dictionary(let d): return .object(d.mapValues(convert))
        }
    }

    /// The text with every configured secret cut out.
    func scrub(_ text: String) -> String {
        var out = text
        for secret in secrets where out.contains(secret) { out = out.replacing(secret, with: "[redacted]") }
        return out
    }
}

private let standardErrorLock = Mutex(())

/// Writes every byte to the file descriptor (retrying short writes and interruptions).
private func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
    bytes.withUnsafeBytes { buffer in
        var offset = 0
        while offset < buffer.count {
            let n = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
            if n > 0 { offset += n } else if n < 0 && errno == EINTR { continue } else { return }
        }
    }
}

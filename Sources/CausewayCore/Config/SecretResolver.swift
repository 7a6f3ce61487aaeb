import Foundation

/// Substitutes `${NAME}`, `${NAME:-default}` and `${file:/path}` in configuration values,
/// so secrets come from the environment or from files, never from the YAML itself.
/// `$$` stands for a literal `$`.
public struct SecretResolver: Sendable {
    public var environment: [String: String]
    /// Directory relative `${file:…}` paths are resolved against.
    public var baseDirectory: String

    public init(environment: [String: String] = ProcessInfo.processInfo.environment, baseDirectory: String = ".") {
        self.environment = environment
        self.baseDirectory = baseDirectory
    }

    public enum Failure: Error, Sendable {
        case message(String)
    }

    public func resolve(_ text: String) throws(Failure) -> String {
        guard text.contains("$") else { return text }
        var out = ""
        var i = text.startIndex
        while i < text.endIndex {
            let c = text[i]
            guard c == "$" else { out.append(c); i = text.index(after: i); continue }
            let next = text.index(after: i)
            if next < text.endIndex, text[next] == "$" { out.append("$"); i = text.index(after: next); continue }
            guard next < text.endIndex, text[next] == "{" else { out.append(c); i = next; continue }
            guard let close = text[next...].firstIndex(of: "}") else {
                throw .message("unterminated ${...} reference")
            }
            let body = String(text[text.index(after: next)..<close])
            out += try substitute(body)
            i = text.index(after: close)
        }
        return out
    }

    private func substitute(_ body: String) throws(Failure) -> String {
        if body.hasPrefix("file:") {
            var path = String(body.dropFirst(5))
            if !path.hasPrefix("/") { path = baseDirectory + "/" + path }
            guard let data = FileManager.default.contents(atPath: path) else {
                throw .message("secret file \(path) cannot be read")
            }
            guard var s = String(data: data, encoding: .utf8) else { throw .message("secret file \(path) is not UTF-8 text") }
            while s.hasSuffix("\n") || s.hasSuffix("\r") { s.removeLast() }
            return s
        }
        var name = body
        var fallback: String?
        if let range = body.range(of: ":-") {
            name = String(body[..<range.lowerBound])
            fallback = String(body[range.upperBound...])
        }
        guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
            throw .message("'${\(body)}' is not a valid reference (expected ${NAME}, ${NAME:-default} or ${file:/path})")
        }
        if let value = environment[name] { return value }
        if let fallback { return fallback }
        throw .message("environment variable \(name) is not set")
    }
}

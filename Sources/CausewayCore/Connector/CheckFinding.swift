import Logging

/// One line of a `causeway check` report.
public struct CheckFinding: Sendable, Hashable, CustomStringConvertible {
    public enum Severity: String, Sendable { case error, warning, ok }
    public var severity: Severity
    public var subject: String
    public var message: String

    public init(_ severity: Severity, _ subject: String, _ message: String) {
        self.severity = severity
        self.subject = subject
        self.message = message
    }

    public var description: String { "\(severity.rawValue): \(subject): \(message)" }
}

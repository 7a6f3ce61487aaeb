import Logging

/// One line of a `causeway check` report.
public struct CheckFinding: Sendable, Hashable, CustomStringConvertible {
    public enum Severity: String, Sendable { case error, warning, ok }
    public var severity: Severity
    public var subject: String
    public var message: String
    /// The declaration the finding is about, when it is more precise than the subject's class (a field).
    public var location: ConfigLocation?

    public init(_ severity: Severity, _ subject: String, _ message: String, location: ConfigLocation? = nil) {
        self.severity = severity
        self.subject = subject
        self.message = message
        self.location = location
    }

    public var description: String { "\(severity.rawValue): \(subject): \(message)" }
}

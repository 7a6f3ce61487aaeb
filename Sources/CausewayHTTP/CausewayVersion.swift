import CausewayCore
import HTTPTypes
import Logging

/// Version strings reported by `/serverInfo` and `causeway --version`.
public enum CausewayVersion {
    public static let current = "0.1.0"
    /// The Parse Server release whose REST behaviour Causeway reproduces.
    public static let parseServerCompatibility = "7.4.0"
}

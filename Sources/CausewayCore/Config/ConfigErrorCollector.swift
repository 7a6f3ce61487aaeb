import Synchronization

/// Gathers the problems of one configuration file, so that one pass reports every one of them
/// (`causeway check` promises this) rather than stopping at the first.
///
/// A `YAMLReader` made with a collector hands it to every reader below it. Readers then record what
/// `collect { … }` catches and every unknown key in `finish()`, and reading goes on; the loader throws
/// them all together at the end (`ConfigLoader.loadConnectorReportingAll`).
public final class ConfigErrorCollector: Sendable {
    private let found = Mutex<[ConfigError]>([])

    public init() {}

    public func record(_ error: ConfigError) {
        found.withLock { errors in
            // The same problem reached twice (a part recorded it, then its caller gave up) is one problem.
            if !errors.contains(where: { $0.description == error.description }) { errors.append(error) }
        }
    }

    public var errors: [ConfigError] { found.withLock { $0 } }
}

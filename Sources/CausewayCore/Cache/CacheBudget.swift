import Synchronization

/// The process-wide cap on cached bytes, shared by every connector's cache.
public final class CacheBudget: Sendable {
    public let maxBytes: Int
    private let used = Mutex(0)

    public init(maxBytes: Int) { self.maxBytes = maxBytes }

    public var usedBytes: Int { used.withLock { $0 } }

    /// Takes `bytes` if they fit under the cap.
    func reserve(_ bytes: Int) -> Bool {
        used.withLock { u in
            guard u + bytes <= maxBytes else { return false }
            u += bytes
            return true
        }
    }

    func release(_ bytes: Int) { used.withLock { $0 -= bytes } }
}

import Logging
import Metrics
import Synchronization

/// What one cache lookup did, reported in the `X-Causeway-Cache` response header and in the metrics.
public enum CacheOutcome: String, Sendable {
    /// Fresh entry.
    case hit
    /// The source was asked (and the answer stored).
    case miss
    /// Another request's source call for the same key was awaited (single flight).
    case coalesced
    /// An entry past its time to live, served while one background refresh runs.
    case stale
    /// An entry served because the source failed or timed out (`staleIfError`).
    case staleIfError = "stale-if-error"
    /// A master-key caller asked to skip the cache.
    case bypass
}

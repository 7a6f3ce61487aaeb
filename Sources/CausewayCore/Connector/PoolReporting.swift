/// How much of a connector's pool of connections (or concurrent requests) is in use, for the admin page.
public struct PoolUsage: Sendable, Equatable {
    public var inUse: Int
    public var capacity: Int
    /// Callers waiting for a free slot.
    public var waiting: Int

    public init(inUse: Int, capacity: Int, waiting: Int = 0) {
        self.inUse = inUse
        self.capacity = capacity
        self.waiting = waiting
    }
}

/// A connector that can say how much of its pool is in use (nil while it is not started).
public protocol PoolReporting: Sendable {
    var poolUsage: PoolUsage? { get }
}

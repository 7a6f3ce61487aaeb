import Synchronization

/// Whether this node should get new requests: false from the moment it is told to stop (SIGTERM), so that
/// load balancers take it out of rotation before it closes its listener (`/health/ready`).
public final class Readiness: Sendable {
    private let draining = Atomic<Bool>(false)

    public init() {}

    public var isDraining: Bool { draining.load(ordering: .acquiring) }

    public func startDraining() { draining.store(true, ordering: .releasing) }
}

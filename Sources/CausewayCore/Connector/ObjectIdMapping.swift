/// How `objectId` maps onto the source's key.
public struct ObjectIdMapping: Sendable, Hashable {
    public enum KeyType: String, Sendable, Hashable, CaseIterable { case string, integer, uuid }
    public enum Generation: String, Sendable, Hashable, CaseIterable {
        /// Causeway generates a 10-character alphanumeric id, as Parse does.
        case gateway
        /// The source assigns it (auto-increment, default expression).
        case source
    }

    public var column: String
    public var type: KeyType
    public var generation: Generation

    public init(column: String, type: KeyType = .string, generation: Generation = .gateway) {
        self.column = column
        self.type = type
        self.generation = generation
    }
}

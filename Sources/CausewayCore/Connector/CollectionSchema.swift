/// How one Parse class maps onto its source: the source-neutral part every connector shares.
public struct CollectionSchema: Sendable {
    public var className: String
    public var connectorName: String
    public var fields: [String: FieldMapping]
    public var objectId: ObjectIdMapping
    /// Source column holding `createdAt` / `updatedAt`, if the source keeps them.
    public var createdAtColumn: String?
    public var updatedAtColumn: String?
    public var readOnly: Bool
    public var permissions: ClassPermissions
    /// Row-level rules, owner field and protected fields.
    public var access: AccessPolicy = .open
    /// This collection's `cache` settings over its connector's.
    public var cacheOverride: CachePolicy.Override?
    /// Where this collection was declared, for messages.
    public var origin: ConfigLocation

    public init(className: String, connectorName: String, fields: [String: FieldMapping], objectId: ObjectIdMapping,
                createdAtColumn: String? = nil, updatedAtColumn: String? = nil, readOnly: Bool = false,
                permissions: ClassPermissions = .public, origin: ConfigLocation = .unknown) {
        self.className = className
        self.connectorName = connectorName
        self.fields = fields
        self.objectId = objectId
        self.createdAtColumn = createdAtColumn
        self.updatedAtColumn = updatedAtColumn
        self.readOnly = readOnly
        self.permissions = permissions
        self.origin = origin
    }

    /// The type of a top-level or built-in field, or nil when the class has no such field.
    public func type(of field: String) -> FieldType? {
        switch field {
        case "objectId": return .string
        case "createdAt": return createdAtColumn == nil ? nil : .date
        case "updatedAt": return updatedAtColumn == nil ? nil : .date
        default: return fields[field]?.type
        }
    }

    /// Resolves a (possibly dotted) path: the root field's mapping and the rest of the path.
    /// Nested paths are allowed only below `object` fields.
    public func resolve(path: String) -> (root: String, type: FieldType?, nested: Bool)? {
        guard let dot = path.firstIndex(of: ".") else {
            guard let t = type(of: path) else { return nil }
            return (path, t, false)
        }
        let root = String(path[..<dot])
        guard let mapping = fields[root], mapping.type == .object else { return nil }
        return (root, nil, true)
    }
}

/// One field of a collection.
public struct FieldMapping: Sendable, Hashable {
    public var name: String
    public var type: FieldType
    /// The source's name for the field (column, or JSON path for REST sources).
    public var column: String
    /// For GeoPoints stored as two numeric columns.
    public var latitudeColumn: String?
    public var longitudeColumn: String?
    /// For pointers: the class they point to.
    public var targetClass: String?
    public var readOnly: Bool

    /// The source columns holding this field: two (latitude, longitude) for a GeoPoint, one otherwise.
    /// A GeoPoint without explicit columns uses `<column>_latitude` and `<column>_longitude`.
    public var storageColumns: [String] {
        if type == .geoPoint { return [latitudeColumn ?? column + "_latitude", longitudeColumn ?? column + "_longitude"] }
        return [column]
    }

    public init(name: String, type: FieldType, column: String, latitudeColumn: String? = nil, longitudeColumn: String? = nil,
                targetClass: String? = nil, readOnly: Bool = false) {
        self.name = name
        self.type = type
        self.column = column
        self.latitudeColumn = latitudeColumn
        self.longitudeColumn = longitudeColumn
        self.targetClass = targetClass
        self.readOnly = readOnly
    }
}

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

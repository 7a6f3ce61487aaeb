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
    /// LiveQuery change source of this collection besides gateway writes (`liveQuery.poll`).
    public var liveQueryPoll: LiveQueryPoll?
    /// `liveQuery.triggers`: the source announces changes itself through triggers that send NOTIFY (PostgreSQL
    /// connectors; `causeway live-triggers` prints the SQL).
    public var liveQueryTriggers = false
    /// Where this collection was declared, for messages.
    public var origin: ConfigLocation
    /// `type: relation` fields: links kept in join tables, not columns of the class's table.
    public var relations: [String: RelationMapping] = [:]

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
    /// The source column a condition or sort key on a top-level field reads (a GeoPoint's latitude column).
    public func storageColumn(for field: String) -> String? {
        switch field {
        case "objectId": return objectId.column
        case "createdAt": return createdAtColumn
        case "updatedAt": return updatedAtColumn
        default: return fields[field]?.storageColumns[0]
        }
    }

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

/// A `type: relation` field: a many-to-many link kept in an existing join table of the owner's source.
/// The join table holds one row per link, `ownerColumn` naming the owner's key and `targetColumn` the
/// target's. The field has no column in the owner's table; it reads back as Parse's
/// `{"__type":"Relation","className":…}` and is queried with `$relatedTo` and changed with
/// `AddRelation` / `RemoveRelation` (see Docs/federation.md, "Relations").
public struct RelationMapping: Sendable, Hashable {
    public var name: String
    public var targetClass: String
    public var joinTable: String
    public var ownerColumn: String
    public var targetColumn: String
    /// Where the field was declared, for `causeway check` findings.
    public var origin: ConfigLocation

    public init(name: String, targetClass: String, joinTable: String, ownerColumn: String, targetColumn: String,
                origin: ConfigLocation = .unknown) {
        self.name = name
        self.targetClass = targetClass
        self.joinTable = joinTable
        self.ownerColumn = ownerColumn
        self.targetColumn = targetColumn
        self.origin = origin
    }

    /// The field's value in objects: Parse's relation marker, never the ids.
    public var marker: ParseValue { .object(["__type": .string("Relation"), "className": .string(targetClass)]) }
}

/// Row- and field-level rules of one collection, beyond the class-level permissions:
///
/// - `rowLevel.read` / `rowLevel.write`: `where`-style filters with placeholders for the caller
///   (`$user.username`, `$user.objectId`, `$user.roles`, `$user.<attribute>`), added to every read
///   (pushed down like any filter) and required of every row a caller changes or deletes;
///   `rowLevel.exempt` lists who they do not apply to (`role:Admin`, …).
/// - `owner`: a field set to the caller on create; only the owner (or the master key) may change or
///   delete the row, and nobody may reassign it.
/// - `protectedFields`: fields hidden from callers, per `*` / `authenticated` / `role:` / `user:` entry;
///   a field is hidden when every entry that applies to the caller lists it (Parse's rule).
/// - ACLs: when the collection stores an `ACL` field, each object's ACL limits who reads and writes it.
///
/// The master key bypasses all of them.
public struct AccessPolicy: Sendable {
    public var readRule: JSONValue?
    public var writeRule: JSONValue?
    public var exempt: [String] = []
    public var ownerField: String?
    public var ownerValue = OwnerValue.username
    public var protectedFields: [String: Set<String>] = [:]

    public enum OwnerValue: String, Sendable, CaseIterable { case username, objectId }

    public init() {}

    public static let open = AccessPolicy()

    public var isOpen: Bool { readRule == nil && writeRule == nil && ownerField == nil && protectedFields.isEmpty }

    func isExempt(_ caller: Caller) -> Bool {
        caller.isMaster || exempt.contains { ClassPermissions.matches($0, caller) }
    }

    /// The ACL entries that name this caller: `*`, the user id and `role:NAME` for each role.
    public static func aclKeys(_ caller: Caller) -> [String] {
        var keys = ["*"]
        if let user = caller.user { keys.append(user.objectId) }
        keys += caller.roles.sorted().map { "role:" + $0 }
        return keys
    }

    // MARK: Filters for a caller

    /// What a caller may read: the read rule, the ACL and (for the owner rule nothing: owners limit writes).
    public func readFilter(_ caller: Caller, schema: CollectionSchema) throws(GatewayError) -> QueryFilter? {
        if caller.isMaster { return nil }
        var parts: [QueryFilter] = []
        if let rule = readRule, !isExempt(caller) { parts.append(try AccessPolicy.resolve(rule, caller, schema)) }
        if schema.storesACL { parts.append(.field("ACL", .aclAllows(keys: AccessPolicy.aclKeys(caller), write: false))) }
        return QueryFilter.conjunction(parts)
    }

    /// What a caller may change or delete: the write rule, the owner rule and the ACL.
    public func writeFilter(_ caller: Caller, schema: CollectionSchema) throws(GatewayError) -> QueryFilter? {
        if caller.isMaster { return nil }
        var parts: [QueryFilter] = []
        if !isExempt(caller) {
            if let rule = writeRule { parts.append(try AccessPolicy.resolve(rule, caller, schema)) }
            if let owner = ownerField {
                if let value = ownerIdentity(caller) { parts.append(.field(owner, .equal(.string(value)))) } else { parts.append(AccessPolicy.nothing) }
            }
        }
        if schema.storesACL { parts.append(.field("ACL", .aclAllows(keys: AccessPolicy.aclKeys(caller), write: true))) }
        return QueryFilter.conjunction(parts)
    }

    /// The owner field's value for objects this caller creates.
    public func ownerIdentity(_ caller: Caller) -> String? {
        guard let user = caller.user else { return nil }
        return ownerValue == .username ? user.username : user.objectId
    }

    /// Fields hidden from this caller.
    public func hiddenFields(_ caller: Caller) -> Set<String> {
        if caller.isMaster || protectedFields.isEmpty { return [] }
        var hidden: Set<String>?
        for (entry, fields) in protectedFields where ClassPermissions.matches(entry, caller) {
            hidden = hidden.map { $0.intersection(fields) } ?? fields
        }
        return hidden ?? []
    }

    /// A filter nothing satisfies (a rule whose placeholder the caller cannot fill).
    static let nothing = QueryFilter.field("objectId", .isIn([]))

    /// Substitutes the caller into a rule and parses it against the collection. A placeholder the caller
    /// cannot fill (anonymous caller, missing attribute) makes the rule match nothing.
    static func resolve(_ rule: JSONValue, _ caller: Caller, _ schema: CollectionSchema) throws(GatewayError) -> QueryFilter {
        var unresolved = false
        func substitute(_ v: JSONValue) -> JSONValue {
            switch v {
            case .string(let s) where s.hasPrefix("$user."):
                let name = String(s.dropFirst(6))
                guard let user = caller.user else { unresolved = true; return .null }
                switch name {
                case "username": return .string(user.username)
                case "objectId": return .string(user.objectId)
                case "roles": return .array(caller.roles.sorted().map { .string($0) })
                default:
                    guard let value = caller.attributes[name] else { unresolved = true; return .null }
                    return .string(value)
                }
            case .array(let items): return .array(items.map(substitute))
            case .object(let o): return .object(o.mapValues(substitute))
            default: return v
            }
        }
        let filled = substitute(rule)
        if unresolved { return nothing }
        return try QueryParser(schema: schema).parse(filled) ?? .and([])
    }

    /// Checks a rule when the configuration is read: it must parse against the collection with every
    /// placeholder filled. Returns a message when it does not.
    static func problem(with rule: JSONValue, schema: CollectionSchema) -> String? {
        let sample = Caller(user: .init(objectId: "sample", username: "sample"), roles: ["sample"],
                            attributes: Dictionary(uniqueKeysWithValues: AccessPolicy.placeholders(in: rule).map { ($0, "sample") }))
        do {
            _ = try resolve(rule, sample, schema)
            return nil
        } catch {
            return error.message
        }
    }

    static func placeholders(in v: JSONValue) -> Set<String> {
        switch v {
        case .string(let s) where s.hasPrefix("$user."): return [String(s.dropFirst(6))]
        case .array(let items): return items.reduce(into: []) { $0.formUnion(placeholders(in: $1)) }
        case .object(let o): return o.values.reduce(into: []) { $0.formUnion(placeholders(in: $1)) }
        default: return []
        }
    }
}

extension CollectionSchema {
    /// Whether objects of this collection carry a Parse `ACL` (mapped to a column).
    public var storesACL: Bool { fields["ACL"] != nil }
}

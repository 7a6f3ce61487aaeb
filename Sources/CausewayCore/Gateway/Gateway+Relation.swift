import Logging

/// Relations onto existing many-to-many tables (`type: relation` fields, see Docs/federation.md "Relations").
///
/// - `$relatedTo` on the target class: the owner's connector reads the join table's target ids for the owner,
///   and the query becomes `objectId $in [...]` (at most `limits.maxSubqueryResults`, 102 beyond). The caller
///   must be allowed to `get` the owner (class-level permission, row rules, ACLs); an owner the caller cannot
///   read answers as an owner without links (an empty list), so neither it nor its links leak; a relation that
///   is a protected field for the caller fails with 119. Parse Server's `authorizeRelatedToQuery` does the same.
/// - `AddRelation` / `RemoveRelation` in creates and updates write the join table after the owner row is
///   written, in one transaction with it when the owner's connector has transactions (SQLite and PostgreSQL,
///   whose join tables are in the owner's source): a failure of either part answers its Parse error and leaves
///   neither written. They never reach the owner's columns.
/// - A relation field of the queried class compared with pointers (`{"members": pointer}`, `$eq`, `$in`, `$ne`,
///   `$nin`, as the SDKs' `equalTo(relationKey, object)` sends): the owner's join table gives the owners linked to
///   those targets, and the condition becomes `objectId $in` (`$nin` for `$ne` / `$nin`) on the owner class, whose
///   find is gated as usual. Parse Server's `reduceInRelation` does the same.
/// - Objects show each relation field as `{"__type":"Relation","className":…}`.
extension Gateway {
    // MARK: Reads

    /// `where` with every `$relatedTo` and every condition on a relation field of `className` (top level and in
    /// `$and` / `$or` / `$nor` branches) replaced by an `objectId` condition on `className`. The ids those conditions
    /// read are at most `limits.maxSubqueryResults` in all (102 beyond), however many conditions there are.
    /// The replacements join the object's other conditions in its `$and` (the other top-level fields stay where they
    /// are, so a top-level `$inQuery` beside them can still be pushed down).
    func resolveRelatedTo(_ json: JSONValue, className: String, caller: Caller, logger: Logger) async throws -> JSONValue {
        var budget = config.limits.federation.maxSubqueryResults
        return try await resolveRelatedTo(json, className: className, caller: caller, logger: logger, budget: &budget)
    }

    private func resolveRelatedTo(_ json: JSONValue, className: String, caller: Caller, logger: Logger,
                                  budget: inout Int) async throws -> JSONValue {
        guard case .object(var object) = json else { return json }
        for key in ["$and", "$or", "$nor"] {
            guard case .array(let branches)? = object[key] else { continue }
            var resolved: [JSONValue] = []
            for branch in branches {
                resolved.append(try await resolveRelatedTo(branch, className: className, caller: caller, logger: logger, budget: &budget))
            }
            object[key] = .array(resolved)
        }
        var conditions: [JSONValue] = []
        if let relations = (try? route(className))?.schema.relations, !relations.isEmpty {
            for key in object.keys.sorted() {
                guard let relation = relations[key] else { continue }
                conditions.append(try await relationFieldCondition(object.removeValue(forKey: key)!, relation, className: className,
                                                                   caller: caller, logger: logger, budget: &budget))
            }
        }
        if let operand = object.removeValue(forKey: "$relatedTo") {
            let ids = try await relatedIds(operand, className: className, caller: caller, logger: logger, budget: &budget)
            conditions.append(.object(["objectId": .object(["$in": .array(ids.map(JSONValue.string))])]))
        }
        guard !conditions.isEmpty else { return .object(object) }
        if object.isEmpty, conditions.count == 1 { return conditions[0] }
        switch object["$and"] {
        case nil:
            object["$and"] = .array(conditions)
        case .array(let existing)?:
            object["$and"] = .array(existing + conditions)
        default:  // a malformed $and: the parser refuses it as it stands
            return .object(["$and": .array([.object(object)] + conditions)])
        }
        return .object(object)
    }

    /// Takes `count` ids from the request's budget of relation ids, or refuses with 102 naming the limit.
    private func spend(_ count: Int, _ budget: inout Int, _ what: String) throws(GatewayError) {
        let cap = config.limits.federation.maxSubqueryResults
        guard count <= budget else {
            throw GatewayError(.invalidQuery, "\(what) links more than \(cap) objects in this request's relation conditions together (limits.maxSubqueryResults); add conditions or raise the limit.")
        }
        budget -= count
    }

    /// Whether `where` names a relation field of `schema` (at the top level or in `$and` / `$or` / `$nor`), so that it is
    /// resolved through the join table before it is parsed.
    public static func mentionsRelation(_ json: JSONValue, _ schema: CollectionSchema) -> Bool {
        guard !schema.relations.isEmpty, case .object(let object) = json else { return false }
        for (key, value) in object {
            if schema.relations[key] != nil { return true }
            if ["$and", "$or", "$nor"].contains(key), case .array(let branches) = value, branches.contains(where: { mentionsRelation($0, schema) }) {
                return true
            }
        }
        return false
    }

    /// `{"rel": pointer}`, `{"rel": {"$eq" | "$ne": pointer}}`, `{"rel": {"$in" | "$nin": [pointers]}}` on the owner class
    /// `className`: `objectId $in` (or `$nin`) the owners linked to those targets.
    private func relationFieldCondition(_ value: JSONValue, _ relation: RelationMapping, className: String, caller: Caller,
                                        logger: Logger, budget: inout Int) async throws -> JSONValue {
        let name = "\(className).\(relation.name)"
        func usage() -> GatewayError {
            GatewayError(.invalidQuery, "\(name) is a relation: query it with a pointer to \(relation.targetClass), or $eq, $ne, $in or $nin of such pointers (or use $relatedTo on \(relation.targetClass)).")
        }
        func targetId(_ v: JSONValue) throws(GatewayError) -> String {
            guard case .object(let p) = v, p["__type"] == .string("Pointer"), case .string(let cls)? = p["className"],
                  case .string(let id)? = p["objectId"] else { throw usage() }
            guard cls == relation.targetClass else {
                throw GatewayError(.invalidQuery, "\(name) relates to \(relation.targetClass), not \(LogText.clean(cls, limit: 64)).")
            }
            return id
        }
        var negated = false
        var targets: [String]
        switch value {
        case .object(let o) where o["__type"] != nil:
            targets = [try targetId(value)]
        case .object(let o) where o.count == 1:
            let (op, operand) = o.first!
            switch op {
            case "$eq", "$ne":
                targets = [try targetId(operand)]
                negated = op == "$ne"
            case "$in", "$nin":
                guard case .array(let items) = operand else { throw usage() }
                targets = []
                for item in items { targets.append(try targetId(item)) }
                negated = op == "$nin"
            default:
                throw usage()
            }
        default:
            throw usage()
        }
        let owner = try route(className)
        if owner.schema.access.hiddenFields(caller).contains(relation.name) {
            throw GatewayError(.operationForbidden, "Permission denied: \(name) is a protected field and cannot be queried.")
        }
        let connector = try relationConnector(owner, relation)
        let cap = config.limits.federation.maxSubqueryResults
        let target = try route(relation.targetClass).schema.objectId
        let limit = min(cap, budget) + 1
        let ids = targets.isEmpty ? [] : try await measured(owner) {
            try await connector.ownerIds(linkedTo: targets, relation: relation, in: owner.schema, target: target, limit: limit,
                                         context: ConnectorContext(caller: caller, logger: logger))
        }
        guard ids.count <= cap else {
            throw GatewayError(.invalidQuery, "\(name) links more than \(cap) owners to these objects (limits.maxSubqueryResults); add conditions or raise the limit.")
        }
        try spend(ids.count, &budget, name)
        logger.debug("relation field condition", metadata: ["causeway.class": .string(className), "causeway.relation": .string(relation.name),
                                                            "causeway.values": .stringConvertible(ids.count)])
        return .object(["objectId": .object([negated ? "$nin" : "$in": .array(ids.map(JSONValue.string))])])
    }

    private func relatedIds(_ operand: JSONValue, className: String, caller: Caller, logger: Logger,
                            budget: inout Int) async throws -> [String] {
        guard case .object(let o) = operand, case .string(let key)? = o["key"], case .object(let pointer)? = o["object"],
              pointer["__type"] == .string("Pointer"), case .string(let ownerClass)? = pointer["className"],
              case .string(let ownerId)? = pointer["objectId"] else {
            throw GatewayError(.invalidQuery, "improper usage of $relatedTo: expected {\"object\": {\"__type\": \"Pointer\", \"className\": \"…\", \"objectId\": \"…\"}, \"key\": \"…\"}.")
        }
        let owner = try route(ownerClass)
        guard let relation = owner.schema.relations[key] else {
            throw GatewayError(.invalidQuery, "$relatedTo: \(ownerClass).\(LogText.clean(key, limit: 64)) is not a relation field.")
        }
        guard relation.targetClass == className else {
            throw GatewayError(.invalidQuery, "$relatedTo: \(ownerClass).\(key) relates to \(relation.targetClass), not \(className).")
        }
        let connector = try relationConnector(owner, relation)
        // A relation protected from the caller cannot be queried (as a protected field cannot be filtered on).
        if owner.schema.access.hiddenFields(caller).contains(key) {
            throw GatewayError(.operationForbidden, "Permission denied: \(ownerClass).\(key) is a protected field and cannot be queried.")
        }
        // The owner must be readable by the caller: otherwise it answers as an owner without links.
        do {
            _ = try await get(ownerClass, objectId: ownerId, keys: [], caller: caller, logger: logger)
        } catch let error as GatewayError where error.code == .objectNotFound || error.code == .operationForbidden {
            logger.debug("$relatedTo owner not readable", metadata: ["causeway.class": .string(ownerClass)])
            return []
        }
        let cap = config.limits.federation.maxSubqueryResults
        let target = try route(className).schema.objectId
        let limit = min(cap, budget) + 1
        let ids = try await measured(owner) {
            try await connector.relatedIds(owner: ownerId, relation: relation, in: owner.schema, target: target, limit: limit,
                                           context: ConnectorContext(caller: caller, logger: logger))
        }
        guard ids.count <= cap else {
            throw GatewayError(.invalidQuery, "$relatedTo \(ownerClass).\(key) links more than \(cap) objects (limits.maxSubqueryResults); add conditions on the owner's links or raise the limit.")
        }
        try spend(ids.count, &budget, "$relatedTo \(ownerClass).\(key)")
        logger.debug("$relatedTo", metadata: ["causeway.class": .string(ownerClass), "causeway.relation": .string(key),
                                             "causeway.values": .stringConvertible(ids.count)])
        return ids
    }

    private func relationConnector(_ owner: Route, _ relation: RelationMapping) throws(GatewayError) -> any RelationConnector {
        guard let connector = owner.connector as? any RelationConnector else {
            throw GatewayError(.invalidQuery, "Relations are not supported by connector '\(owner.connector.name)' (\(owner.connector.kind)): \(owner.schema.className).\(relation.name).")
        }
        return connector
    }

    /// Objects as read from the source, with each relation field's marker (before projection).
    func withRelationMarkers(_ objects: [ParseObject], _ schema: CollectionSchema) -> [ParseObject] {
        guard !schema.relations.isEmpty else { return objects }
        return objects.map { withRelationMarkers($0, schema) }
    }

    func withRelationMarkers(_ object: ParseObject, _ schema: CollectionSchema) -> ParseObject {
        var o = object
        for (name, relation) in schema.relations { o.fields[name] = relation.marker }
        return o
    }

    // MARK: Writes

    /// The body without its relation fields, and the relation changes they ask for (validated).
    func splitRelationChanges(_ body: [String: JSONValue], _ schema: CollectionSchema) throws(GatewayError) -> ([String: JSONValue], [RelationChange]) {
        guard !schema.relations.isEmpty else { return (body, []) }
        var rest = body
        var changes: [RelationChange] = []
        for key in body.keys.sorted() {
            guard let relation = schema.relations[key] else { continue }
            rest[key] = nil
            let change = try RelationChange.parse(body[key]!, relation: relation, className: schema.className)
            // Ids the target's key cannot hold are refused before anything is written (a create would
            // otherwise leave its row without the links).
            if try route(relation.targetClass).schema.objectId.type == .integer {
                for id in change.adding + change.removing where Int64(id) == nil {
                    throw GatewayError(.incorrectType, "\(LogText.clean(id, limit: 64)) is not an objectId of \(relation.targetClass) (integer keys), in \(schema.className).\(key).")
                }
            }
            changes.append(change)
        }
        return (rest, changes)
    }

    /// Runs the owner's write (`write`, through the route it is given) and then `changes` on the join tables of the
    /// owner whose id `ownerId` reads from the write's result.
    ///
    /// With changes and a transactional owner connector (SQLite, PostgreSQL) both parts run in one transaction of
    /// that connector, so a failure of either (a join table's constraint, a missing target under a foreign key, a
    /// dropped connection) rolls back both. A connector that keeps join tables without transactions (none in this
    /// build) writes the owner row first and the links after: a failure in between leaves the row written without
    /// its links, and the request answers the links' error. Inside a transactional batch the route's connector is
    /// already bound to the batch's transaction (and not transactional itself), so both parts belong to it.
    func writingWithRelations<T: Sendable>(_ route: Route, _ changes: [RelationChange], caller: Caller, logger: Logger,
                                           ownerId: @escaping @Sendable (T) -> String?,
                                           _ write: @escaping @Sendable (Route) async throws -> T) async throws -> T {
        let pending = changes.filter { !($0.adding.isEmpty && $0.removing.isEmpty) }
        guard !pending.isEmpty else { return try await write(route) }
        for change in pending { _ = try relationConnector(route, change.relation) }
        guard let transactional = route.connector as? any TransactionalConnector else {
            let result = try await write(route)
            if let id = ownerId(result) { try await applyRelationChanges(pending, ownerId: id, route, caller: caller, logger: logger) }
            return result
        }
        // Answers read by others between a write and the commit are dropped again once it is over.
        defer { caches.invalidate(className: route.schema.className, connector: route.connector.name) }
        return try await transactional.withTransaction { bound in
            let inside = Route(connector: bound, schema: route.schema, status: route.status)
            let result = try await write(inside)
            if let id = ownerId(result) { try await self.applyRelationChanges(pending, ownerId: id, inside, caller: caller, logger: logger) }
            return result
        }
    }

    /// Writes the join tables for an owner that exists (after its create or update).
    func applyRelationChanges(_ changes: [RelationChange], ownerId: String, _ route: Route, caller: Caller, logger: Logger) async throws {
        for change in changes where !(change.adding.isEmpty && change.removing.isEmpty) {
            let connector = try relationConnector(route, change.relation)
            let target = try self.route(change.relation.targetClass).schema.objectId
            try await invalidating(route) {
                try await connector.changeRelation(owner: ownerId, relation: change.relation, in: route.schema, target: target,
                                                   adding: change.adding, removing: change.removing,
                                                   context: ConnectorContext(caller: caller, logger: logger))
            }
            caches.invalidate(className: change.relation.targetClass, connector: try self.route(change.relation.targetClass).connector.name)
        }
    }
}

/// One `AddRelation` / `RemoveRelation` (or a `Batch` of them) on a relation field.
struct RelationChange: Sendable {
    var relation: RelationMapping
    var adding: [String] = []
    var removing: [String] = []

    static func parse(_ json: JSONValue, relation: RelationMapping, className: String) throws(GatewayError) -> RelationChange {
        var change = RelationChange(relation: relation)
        try change.read(json, name: "\(className).\(relation.name)", allowBatch: true)
        return change
    }

    private mutating func read(_ json: JSONValue, name: String, allowBatch: Bool) throws(GatewayError) {
        guard case .object(let o) = json, case .string(let op)? = o["__op"] else {
            throw GatewayError(.incorrectType, "\(name) is a relation: change it with AddRelation or RemoveRelation.")
        }
        switch op {
        case "AddRelation", "RemoveRelation":
            guard case .array(let items)? = o["objects"] else {
                throw GatewayError(.invalidJSON, "\(op) on \(name) needs an \"objects\" array of pointers.")
            }
            var ids: [String] = []
            for item in items {
                guard case .object(let p) = item, p["__type"] == .string("Pointer"), case .string(let cls)? = p["className"],
                      case .string(let id)? = p["objectId"], !id.isEmpty else {
                    throw GatewayError(.incorrectType, "\(op) on \(name) takes pointers: {\"__type\": \"Pointer\", \"className\": \"\(relation.targetClass)\", \"objectId\": \"…\"}.")
                }
                guard cls == relation.targetClass else {
                    throw GatewayError(.incorrectType, "schema mismatch for \(name); expected Relation<\(relation.targetClass)> but got Relation<\(cls)>")
                }
                ids.append(id)
            }
            if op == "AddRelation" {
                adding += ids
                removing.removeAll { ids.contains($0) }
            } else {
                removing += ids
                adding.removeAll { ids.contains($0) }
            }
        case "Batch" where allowBatch:
            guard case .array(let ops)? = o["ops"] else { throw GatewayError(.invalidJSON, "Batch on \(name) needs an \"ops\" array.") }
            for inner in ops { try read(inner, name: name, allowBatch: false) }
        case "Delete":
            throw GatewayError(.operationForbidden, "\(name) is a relation: remove its links with RemoveRelation.")
        default:
            throw GatewayError(.incorrectType, "\(op) cannot be applied to \(name), a relation; use AddRelation or RemoveRelation.")
        }
    }
}

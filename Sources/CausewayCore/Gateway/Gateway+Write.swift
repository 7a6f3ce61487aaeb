import Logging

/// Writes: validation, owner fields and row rules, then the connector; the collection's cache is
/// invalidated before a write is acknowledged.
extension Gateway {
    /// For callers under row rules, an owner field or ACLs: the current object, which they must be allowed
    /// to change (101 otherwise, so that existence does not leak). nil when no rule applies.
    /// The check and the write are two statements: a concurrent change in between is not re-checked.
    private func writableObject(_ objectId: String, _ route: Route, _ context: ConnectorContext) async throws -> ParseObject? {
        guard let rule = try route.schema.access.writeFilter(context.caller, schema: route.schema) else { return nil }
        guard let current = try await route.connector.get(objectId: objectId, fields: nil, in: route.schema, context: context),
              QueryEvaluator.matches(current, rule) else {
            throw GatewayError.objectNotFound()
        }
        return current
    }

    /// The stored object, for change subscribers that need it before and after a write (LiveQuery's
    /// `enter` / `leave`); nil when it cannot be read (the write itself decides about errors).
    private func image(_ objectId: String, _ route: Route, _ context: ConnectorContext) async -> ParseObject? {
        do { return try await route.connector.get(objectId: objectId, fields: nil, in: route.schema, context: context) } catch { return nil }
    }

    /// A created or changed object must stay within the caller's write rule.
    private func checkWriteRule(_ object: ParseObject, _ route: Route, _ caller: Caller, verb: String) throws(GatewayError) {
        guard let rule = route.schema.access.writeRule, !caller.isMaster, !route.schema.access.isExempt(caller) else { return }
        let filter = try AccessPolicy.resolve(rule, caller, route.schema)
        guard QueryEvaluator.matches(object, filter) else {
            throw GatewayError(.operationForbidden, "Permission denied: you may not \(verb) a \(route.schema.className) object with these values (row-level rule).")
        }
    }

    private func writable(_ route: Route) throws(GatewayError) {
        if route.schema.readOnly || !route.connector.capabilities.writes {
            throw GatewayError(.operationForbidden, "Class \(route.schema.className) is read-only.")
        }
    }

    public func create(_ className: String, body: [String: JSONValue], caller: Caller, logger: Logger = Gateway.quietLogger) async throws -> ParseObject {
        let context = ConnectorContext(caller: caller, logger: logger)
        let route = try route(className)
        try authorize(.create, route, caller)
        try writable(route)
        let (body, relationChanges) = try splitRelationChanges(body, route.schema)
        let ops = try WriteRequestParser(schema: route.schema, capabilities: .scanOnly).parse(body, isCreate: true)
        var object = ParseObject()
        for (field, op) in ops {
            if let value = try op.apply(to: nil, field: field) { object.fields[field] = value }
        }
        let access = route.schema.access
        if let owner = access.ownerField, !caller.isMaster {
            guard let identity = access.ownerIdentity(caller) else {
                throw GatewayError(.operationForbidden, "Permission denied: sign in to create \(className) objects.")
            }
            if let given = object.fields[owner], given != .string(identity) {
                throw GatewayError(.operationForbidden, "Permission denied: \(className).\(owner) is set to the signed-in user.")
            }
            object.fields[owner] = .string(identity)
        }
        try checkWriteRule(object, route, caller, verb: "create")
        let now = ParseDate.now()
        if route.schema.createdAtColumn != nil { object.createdAt = now }
        if route.schema.updatedAtColumn != nil { object.updatedAt = now }
        if route.schema.objectId.generation == .gateway {
            object.objectId = route.schema.objectId.type == .uuid ? UUIDGenerator.make() : ObjectIdGenerator.make()
        }
        let row = object
        var stored = try await writingWithRelations(route, relationChanges, caller: caller, logger: logger,
                                                    ownerId: { $0.objectId ?? row.objectId }) { r in
            try await self.invalidating(r) { try await r.connector.create(row, in: r.schema, context: context) }
        }
        if stored.createdAt == nil { stored.createdAt = now }
        announce(.create, route, objectId: stored.objectId ?? object.objectId, object: stored)
        return stored
    }

    public func update(_ className: String, objectId: String, body: [String: JSONValue], caller: Caller,
                       logger: Logger = Gateway.quietLogger) async throws -> UpdateResult {
        let context = ConnectorContext(caller: caller, logger: logger)
        let route = try route(className)
        try authorize(.update, route, caller)
        try writable(route)
        let (body, relationChanges) = try splitRelationChanges(body, route.schema)
        let ops = try WriteRequestParser(schema: route.schema, capabilities: route.connector.capabilities).parse(body, isCreate: false)
        if let owner = route.schema.access.ownerField, ops[owner] != nil, !caller.isMaster {
            throw GatewayError(.operationForbidden, "Permission denied: \(className).\(owner) cannot be reassigned.")
        }
        var original = try await writableObject(objectId, route, context)
        let images = changes.wantsImages(for: className)
        if images, original == nil { original = await image(objectId, route, context) }
        if let current = original {
            var after = current
            for (field, op) in ops { after.fields[field] = try op.apply(to: current.fields[field], field: field) }
            try checkWriteRule(after, route, caller, verb: "update")
        }
        let now = ParseDate.now()
        let stored = try await writingWithRelations(route, relationChanges, caller: caller, logger: logger, ownerId: { _ in objectId }) { r in
            guard let stored = try await self.invalidating(r, { try await r.connector.update(objectId: objectId, operations: ops, updatedAt: now, in: r.schema, context: context) }) else {
                throw GatewayError.objectNotFound()
            }
            return stored
        }
        announce(.update, route, objectId: objectId, object: images ? await image(objectId, route, context) : nil, original: original)
        var echoed: [String: ParseValue] = [:]
        for (field, op) in ops where op.echoesResult {
            echoed[field] = stored.fields[field] ?? .null
        }
        return UpdateResult(updatedAt: stored.updatedAt ?? now, operationResults: echoed)
    }

    public func delete(_ className: String, objectId: String, caller: Caller, logger: Logger = Gateway.quietLogger) async throws {
        let context = ConnectorContext(caller: caller, logger: logger)
        let route = try route(className)
        try authorize(.delete, route, caller)
        try writable(route)
        var original = try await writableObject(objectId, route, context)
        if original == nil, changes.wantsImages(for: className) { original = await image(objectId, route, context) }
        guard try await invalidating(route, { try await route.connector.delete(objectId: objectId, in: route.schema, context: context) }) else {
            throw GatewayError.objectNotFound()
        }
        announce(.delete, route, objectId: objectId, original: original)
    }
}

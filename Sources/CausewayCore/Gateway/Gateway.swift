import Logging

/// The request-level core: resolves a class to its connector, checks permissions, validates input,
/// plans queries and finishes in memory what the connector could not do.
/// It knows nothing of HTTP; the HTTP module translates Parse requests into these calls.
public final class Gateway: Sendable {
    public let config: GatewayConfig
    public let connectors: [any Connector]
    private let routes: [String: Route]

    struct Route: Sendable {
        let connector: any Connector
        let schema: CollectionSchema
    }

    public struct FindResult: Sendable {
        public var objects: [ParseObject]
        public var count: Int?
        public var plan: QueryPlan?
    }

    public struct UpdateResult: Sendable {
        public var updatedAt: ParseDate
        /// The resulting values of fields changed by `__op` operations (Parse echoes them).
        public var operationResults: [String: ParseValue]
    }

    public init(config: GatewayConfig, connectors: [any Connector]) {
        self.config = config
        self.connectors = connectors
        var routes: [String: Route] = [:]
        for connector in connectors {
            for schema in connector.collections { routes[schema.className] = Route(connector: connector, schema: schema) }
        }
        self.routes = routes
    }

    public var classNames: [String] { routes.keys.sorted() }

    /// Runs `body` with a gateway whose classes of one connector all go through one transaction.
    /// - Throws: 119 when the classes span several connectors or the connector has no transactions.
    public func withTransaction<T: Sendable>(classNames: Set<String>, _ body: @Sendable (Gateway) async throws -> T) async throws -> T {
        var connectorNames: Set<String> = []
        for name in classNames { connectorNames.insert(try route(name).connector.name) }
        guard connectorNames.count <= 1 else {
            throw GatewayError(.operationForbidden, "A transactional batch must target classes of one connector; this one spans \(connectorNames.sorted().joined(separator: ", ")).")
        }
        guard let name = connectorNames.first else { return try await body(self) }
        guard let connector = connectors.first(where: { $0.name == name }) as? any TransactionalConnector else {
            throw GatewayError(.operationForbidden, "Connector '\(name)' does not support transactional batches; send the batch without \"transaction\": true.")
        }
        let config = self.config
        let others = connectors.filter { $0.name != name }
        return try await connector.withTransaction { bound in
            try await body(Gateway(config: config, connectors: others + [bound]))
        }
    }

    public func schema(for className: String) throws(GatewayError) -> CollectionSchema {
        try route(className).schema
    }

    private func route(_ className: String) throws(GatewayError) -> Route {
        if let r = routes[className] { return r }
        guard CollectionSchemaReader.isValidClassName(className) || className.hasPrefix("_") else {
            throw GatewayError(.invalidClassName, "Invalid classname: \(className), classnames can only have alphanumeric characters and _, and must start with an alpha character ")
        }
        throw GatewayError(.invalidClassName, "Class \(className) is not served by this gateway (no connector maps it).")
    }

    private func authorize(_ op: ClassPermissions.Operation, _ route: Route, _ caller: Caller) throws(GatewayError) {
        guard route.schema.permissions.allows(op, caller: caller) else {
            throw GatewayError(.operationForbidden, "Permission denied for action \(op.rawValue) on class \(route.schema.className).")
        }
    }

    // MARK: Reads

    public func parseFind(_ className: String, _ params: [String: JSONValue]) throws(GatewayError) -> FindQuery {
        try FindRequestParser(schema: route(className).schema, limits: config.limits).parse(params)
    }

    public func find(_ className: String, _ query: FindQuery, caller: Caller, logger: Logger) async throws -> FindResult {
        let route = try route(className)
        try authorize(query.limit == 0 && query.count ? .count : .find, route, caller)
        if query.count { try authorize(.count, route, caller) }
        try await route.connector.ready()
        let plan = QueryPlanner.plan(query, connector: route.connector, collection: route.schema)
        logger.debug("query plan", metadata: [
            "causeway.class": .string(className),
            "causeway.connector": .string(route.connector.name),
            "causeway.pushed": .string(String(describing: plan.source)),
            "causeway.residual": .string(plan.residualFilter.map { String(describing: $0) } ?? "none"),
        ])
        // Count alone.
        if query.limit == 0 && query.count && plan.countInSource {
            let n = try await route.connector.count(plan.source.filter, in: route.schema)
            return FindResult(objects: [], count: n, plan: plan)
        }
        var count: Int?
        var objects: [ParseObject]
        if plan.isFullyPushed {
            objects = query.limit == 0 ? [] : try await route.connector.find(plan.source, in: route.schema)
            if query.count {
                count = try await route.connector.count(plan.source.filter, in: route.schema)
            }
        } else {
            var candidates = try await route.connector.find(plan.source, in: route.schema)
            if let residual = plan.residualFilter {
                candidates.removeAll { !QueryEvaluator.matches($0, residual) }
            }
            if let sort = plan.memorySort {
                candidates = QueryEvaluator.sort(candidates, by: sort, numericIds: route.schema.objectId.type == .integer)
            }
            if query.count {
                count = candidates.count  // the source returned every candidate (no paging was pushed)
            }
            let start = min(plan.memorySkip, candidates.count)
            let end = plan.memoryLimit.map { min(start + $0, candidates.count) } ?? candidates.count
            objects = Array(candidates[start..<end])
        }
        if query.keys != nil || !query.excludeKeys.isEmpty {
            objects = objects.map { $0.projected(keys: query.keys, excluding: query.excludeKeys) }
        }
        return FindResult(objects: objects, count: count, plan: plan)
    }

    public func get(_ className: String, objectId: String, keys: Set<String>?, excludeKeys: Set<String> = [],
                    caller: Caller) async throws -> ParseObject {
        let route = try route(className)
        try authorize(.get, route, caller)
        let fields = keys.map { Set($0.map { String($0.split(separator: ".").first ?? Substring($0)) }) }
        guard let object = try await route.connector.get(objectId: objectId, fields: route.connector.capabilities.projection ? fields : nil, in: route.schema) else {
            throw GatewayError.objectNotFound()
        }
        if keys != nil || !excludeKeys.isEmpty { return object.projected(keys: keys, excluding: excludeKeys) }
        return object
    }

    // MARK: Writes

    private func writable(_ route: Route) throws(GatewayError) {
        if route.schema.readOnly || !route.connector.capabilities.writes {
            throw GatewayError(.operationForbidden, "Class \(route.schema.className) is read-only.")
        }
    }

    public func create(_ className: String, body: [String: JSONValue], caller: Caller) async throws -> ParseObject {
        let route = try route(className)
        try authorize(.create, route, caller)
        try writable(route)
        let ops = try WriteRequestParser(schema: route.schema, capabilities: .scanOnly).parse(body, isCreate: true)
        var object = ParseObject()
        for (field, op) in ops {
            if let value = try op.apply(to: nil, field: field) { object.fields[field] = value }
        }
        let now = ParseDate.now()
        if route.schema.createdAtColumn != nil { object.createdAt = now }
        if route.schema.updatedAtColumn != nil { object.updatedAt = now }
        if route.schema.objectId.generation == .gateway {
            object.objectId = route.schema.objectId.type == .uuid ? UUIDGenerator.make() : ObjectIdGenerator.make()
        }
        var stored = try await route.connector.create(object, in: route.schema)
        if stored.createdAt == nil { stored.createdAt = now }
        return stored
    }

    public func update(_ className: String, objectId: String, body: [String: JSONValue], caller: Caller) async throws -> UpdateResult {
        let route = try route(className)
        try authorize(.update, route, caller)
        try writable(route)
        let ops = try WriteRequestParser(schema: route.schema, capabilities: route.connector.capabilities).parse(body, isCreate: false)
        let now = ParseDate.now()
        guard let stored = try await route.connector.update(objectId: objectId, operations: ops, updatedAt: now, in: route.schema) else {
            throw GatewayError.objectNotFound()
        }
        var echoed: [String: ParseValue] = [:]
        for (field, op) in ops where op.echoesResult {
            echoed[field] = stored.fields[field] ?? .null
        }
        return UpdateResult(updatedAt: stored.updatedAt ?? now, operationResults: echoed)
    }

    public func delete(_ className: String, objectId: String, caller: Caller) async throws {
        let route = try route(className)
        try authorize(.delete, route, caller)
        try writable(route)
        guard try await route.connector.delete(objectId: objectId, in: route.schema) else {
            throw GatewayError.objectNotFound()
        }
    }
}

import Logging
import Synchronization

/// The request-level core: resolves a class to its connector, checks permissions, validates input,
/// plans queries and finishes in memory what the connector could not do.
/// It knows nothing of HTTP; the HTTP module translates Parse requests into these calls.
public final class Gateway: Sendable {
    public let config: GatewayConfig
    public let connectors: [any Connector]
    public let caches: CacheSet
    let status: ComponentStatus?
    private let routes: [String: Route]
    private let findMemo = Mutex<[String: ParsedFind]>([:])

    struct Route: Sendable {
        let connector: any Connector
        let schema: CollectionSchema
        /// The connector's status when it runs under a `ConnectorService` (nil: always considered up).
        let status: ComponentStatus.Entry?
    }

    public struct FindResult: Sendable {
        public var objects: [ParseObject]
        public var count: Int?
        public var plan: QueryPlan?
        /// What the cache did (nil when the collection is not cached).
        public var cache: CacheOutcome?
        /// The encoded answer when it came through the cache (then `objects` is empty).
        public var body: [UInt8]?
    }

    /// Whether a read may use the cache (a master-key caller may bypass it).
    public enum CacheMode: Sendable { case use, bypass }

    public struct UpdateResult: Sendable {
        public var updatedAt: ParseDate
        /// The resulting values of fields changed by `__op` operations (Parse echoes them).
        public var operationResults: [String: ParseValue]
    }

    /// `status`: the components' status when connectors run as services (then the classes of a connector
    /// that is not up answer 100); nil when the caller starts the connectors itself.
    public init(config: GatewayConfig, connectors: [any Connector], caches: CacheSet = .none, status: ComponentStatus? = nil) {
        self.config = config
        self.connectors = connectors
        self.caches = caches
        self.status = status
        var routes: [String: Route] = [:]
        for connector in connectors {
            let entry = status?.entry(ConnectorService.componentName(connector.name))
            for schema in connector.collections { routes[schema.className] = Route(connector: connector, schema: schema, status: entry) }
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
        let caches = self.caches
        let status = self.status
        let others = connectors.filter { $0.name != name }
        // Writes inside invalidate as they go; invalidating again after the end also drops answers
        // read by others between a write and the commit.
        defer { for c in classNames { caches.invalidate(className: c, connector: name) } }
        return try await connector.withTransaction { bound in
            try await body(Gateway(config: config, connectors: others + [bound], caches: caches, status: status))
        }
    }

    public func schema(for className: String) throws(GatewayError) -> CollectionSchema {
        try route(className).schema
    }

    private func route(_ className: String) throws(GatewayError) -> Route {
        if let r = routes[className] {
            if let entry = r.status, !entry.up { throw unavailable(r, entry) }
            return r
        }
        guard CollectionSchemaReader.isValidClassName(className) || className.hasPrefix("_") else {
            throw GatewayError(.invalidClassName, "Invalid classname: \(className), classnames can only have alphanumeric characters and _, and must start with an alpha character ")
        }
        throw GatewayError(.invalidClassName, "Class \(className) is not served by this gateway (no connector maps it).")
    }

    private func unavailable(_ route: Route, _ entry: ComponentStatus.Entry) -> GatewayError {
        let why: String
        switch entry.current {
        case .starting: why = "it is starting"
        case .stopping: why = "the gateway is shutting down"
        case .unavailable(let reason): why = reason
        case .up: why = "it was not reachable a moment ago"
        }
        return GatewayError(.connectionFailed, "Class \(route.schema.className) is not available: connector '\(route.connector.name)' is not up (\(why)); retry shortly.")
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

    public func find(_ className: String, _ request: FindQuery, caller: Caller, logger: Logger, cacheMode: CacheMode = .use) async throws -> FindResult {
        try await find(className, ParsedFind(query: request, canonical: nil), caller: caller, logger: logger, cacheMode: cacheMode)
    }

    /// A parsed `find` and, when known, its canonical text (before the caller's permission filters).
    public struct ParsedFind: Sendable {
        public var query: FindQuery
        var canonical: String?
    }

    /// `parseFind` remembering recent answers by the raw URL query string: a repeated request (the common
    /// case for cached reads) skips JSON and query parsing. Bounded; the schema never changes at run time.
    public func parseFind(_ className: String, _ params: [String: JSONValue], rawQuery: String?) throws(GatewayError) -> ParsedFind {
        guard let rawQuery else { return ParsedFind(query: try parseFind(className, params), canonical: nil) }
        let memoKey = className + "?" + rawQuery
        if let hit = findMemo.withLock({ $0[memoKey] }) { return hit }
        let query = try parseFind(className, params)
        let parsed = ParsedFind(query: query, canonical: CanonicalQuery.text(query, hidden: []))
        findMemo.withLock { m in
            if m.count >= 4096 { m.removeAll(keepingCapacity: true) }
            m[memoKey] = parsed
        }
        return parsed
    }

    /// The parsed form of a request `parseFind(_:_:rawQuery:)` has seen (then its parameters need no decoding).
    public func rememberedFind(_ className: String, rawQuery: String) -> ParsedFind? {
        findMemo.withLock { $0[className + "?" + rawQuery] }
    }

    public func find(_ className: String, _ parsed: ParsedFind, caller: Caller, logger: Logger, cacheMode: CacheMode = .use) async throws -> FindResult {
        let context = ConnectorContext(caller: caller, logger: logger)
        let request = parsed.query
        let route = try route(className)
        try authorize(request.limit == 0 && request.count ? .count : .find, route, caller)
        if request.count { try authorize(.count, route, caller) }
        // Row rules and ACLs become part of the filter, so they are pushed down like any other condition.
        var query = request
        let hidden = route.schema.access.hiddenFields(caller)
        try refuseQueries(on: hidden, query, route.schema)
        let rows = try route.schema.access.readFilter(caller, schema: route.schema)
        if let rows { query.filter = QueryFilter.conjunction([query.filter, rows].compactMap { $0 }) }
        let operation: CachePolicy.Operation = query.limit == 0 && query.count ? .count : .find
        guard let (cache, policy) = caches.cache(for: route.schema, operation) else {
            return try await runFind(route, query, hidden: hidden, context: context)
        }
        if cacheMode == .bypass {
            var result = try await runFind(route, query, hidden: hidden, context: context)
            result.cache = .bypass
            cache.metrics.record(.bypass, className)
            return result
        }
        // The key is the query as it will run, permission filters and hidden fields included: callers
        // who may see different rows never share an entry.
        let planned = query
        let key = "find|\(className)|" + (parsed.canonical ?? CanonicalQuery.text(request, hidden: []))
            + "|rows " + CanonicalQuery.text(rows) + "|hidden " + hidden.sorted().joined(separator: ",") + callerKey(route, caller)
        let (answer, outcome) = try await cache.answer(key: key, className: className, policy: policy, logger: logger) {
            let r = try await self.runFind(route, planned, hidden: hidden, context: context)
            return .find(r.objects, count: r.count)
        }
        return FindResult(objects: [], count: nil, plan: nil, cache: outcome, body: answer.body)
    }

    private func runFind(_ route: Route, _ query: FindQuery, hidden: Set<String>, context: ConnectorContext) async throws -> FindResult {
        let className = route.schema.className
        let logger = context.logger
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
            let n = try await route.connector.count(plan.source.filter, in: route.schema, context: context)
            return FindResult(objects: [], count: n, plan: plan)
        }
        var count: Int?
        var objects: [ParseObject]
        if plan.isFullyPushed {
            objects = query.limit == 0 ? [] : try await route.connector.find(plan.source, in: route.schema, context: context)
            if query.count {
                count = try await route.connector.count(plan.source.filter, in: route.schema, context: context)
            }
        } else {
            var candidates = try await route.connector.find(plan.source, in: route.schema, context: context)
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
        if query.keys != nil || !query.excludeKeys.isEmpty || !hidden.isEmpty {
            objects = objects.map { $0.projected(keys: query.keys, excluding: query.excludeKeys.union(hidden)) }
        }
        return FindResult(objects: objects, count: count, plan: plan)
    }

    /// A protected field may not be filtered or sorted on: the answers would reveal its values.
    private func refuseQueries(on hidden: Set<String>, _ query: FindQuery, _ schema: CollectionSchema) throws(GatewayError) {
        guard !hidden.isEmpty else { return }
        let used = (query.filter?.fieldPaths ?? []).union(query.sort.map(\.fieldPath))
        for path in used {
            let root = String(path.split(separator: ".").first ?? Substring(path))
            if hidden.contains(root) {
                throw GatewayError(.operationForbidden, "Permission denied: \(schema.className).\(root) is a protected field and cannot be queried.")
            }
        }
    }

    public func get(_ className: String, objectId: String, keys: Set<String>?, excludeKeys: Set<String> = [],
                    caller: Caller, logger: Logger = Gateway.quietLogger) async throws -> ParseObject {
        let route = try route(className)
        try authorize(.get, route, caller)
        return try await runGet(route, objectId, keys, excludeKeys, try route.schema.access.readFilter(caller, schema: route.schema),
                                route.schema.access.hiddenFields(caller), ConnectorContext(caller: caller, logger: logger))
    }

    /// The logger of calls that pass none (tools and tests).
    public static let quietLogger = Logger(label: "causeway.gateway")

    /// A `get` through the cache: the encoded answer and what the cache did (nil outcome: not cached).
    public func getEncoded(_ className: String, objectId: String, keys: Set<String>?, excludeKeys: Set<String> = [],
                           caller: Caller, logger: Logger, cacheMode: CacheMode = .use) async throws -> ([UInt8], CacheOutcome?) {
        let context = ConnectorContext(caller: caller, logger: logger)
        let route = try route(className)
        try authorize(.get, route, caller)
        let rows = try route.schema.access.readFilter(caller, schema: route.schema)
        let hidden = route.schema.access.hiddenFields(caller)
        guard let (cache, policy) = caches.cache(for: route.schema, .get) else {
            return (CachedAnswer.object(try await runGet(route, objectId, keys, excludeKeys, rows, hidden, context)).body, nil)
        }
        if cacheMode == .bypass {
            cache.metrics.record(.bypass, className)
            return (CachedAnswer.object(try await runGet(route, objectId, keys, excludeKeys, rows, hidden, context)).body, .bypass)
        }
        let key = "get|\(className)|\(objectId)|" + callerKey(route, caller) + CanonicalQuery.text(rows) + "|keys " + (keys.map { $0.sorted().joined(separator: ",") } ?? "*")
            + "|exclude " + excludeKeys.union(hidden).sorted().joined(separator: ",")
        let (answer, outcome) = try await cache.answer(key: key, className: className, policy: policy, logger: logger) {
            .object(try await self.runGet(route, objectId, keys, excludeKeys, rows, hidden, context))
        }
        return (answer.body, outcome)
    }

    private func runGet(_ route: Route, _ objectId: String, _ keys: Set<String>?, _ excludeKeys: Set<String>,
                        _ rows: QueryFilter?, _ hidden: Set<String>, _ context: ConnectorContext) async throws -> ParseObject {
        // A row rule or ACL needs the fields it tests, so then the whole object is read.
        let fields = rows == nil ? keys.map { Set($0.map { String($0.split(separator: ".").first ?? Substring($0)) }) } : nil
        guard let object = try await route.connector.get(objectId: objectId, fields: route.connector.capabilities.projection ? fields : nil, in: route.schema, context: context),
              rows.map({ QueryEvaluator.matches(object, $0) }) ?? true else {
            throw GatewayError.objectNotFound()  // not there, or not visible to this caller: the same answer
        }
        if keys != nil || !excludeKeys.isEmpty || !hidden.isEmpty { return object.projected(keys: keys, excluding: excludeKeys.union(hidden)) }
        return object
    }

    // MARK: Writes

    /// For sources that answer per user: the user in the cache key.
    private func callerKey(_ route: Route, _ caller: Caller) -> String {
        guard route.connector.answersDependOnCaller else { return "" }
        return "|as " + (caller.isMaster ? "master" : caller.user?.objectId ?? "anonymous")
    }

    /// Runs a write and then drops the collection's cached answers, before the write is acknowledged
    /// (also when the write failed: it may have reached the source).
    private func invalidating<T: Sendable>(_ route: Route, _ write: () async throws -> T) async throws -> T {
        defer { caches.invalidate(className: route.schema.className, connector: route.connector.name) }
        return try await write()
    }

    /// Empties the cache of one connector (all when nil), or of one class. Returns the entries dropped.
    public func purgeCache(connector: String?, className: String?) throws(GatewayError) -> Int {
        if let className {
            let r = try route(className)
            guard let cache = caches.caches[r.connector.name] else { return 0 }
            let before = cache.entryCount
            cache.invalidate(className: className)
            return before - cache.entryCount
        }
        if let connector {
            guard connectors.contains(where: { $0.name == connector }) else {
                throw GatewayError(.objectNotFound, "No connector named \(connector).")
            }
            return caches.caches[connector]?.purge() ?? 0
        }
        return caches.caches.values.reduce(0) { $0 + $1.purge() }
    }

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
        var stored = try await invalidating(route) { try await route.connector.create(object, in: route.schema, context: context) }
        if stored.createdAt == nil { stored.createdAt = now }
        return stored
    }

    public func update(_ className: String, objectId: String, body: [String: JSONValue], caller: Caller,
                       logger: Logger = Gateway.quietLogger) async throws -> UpdateResult {
        let context = ConnectorContext(caller: caller, logger: logger)
        let route = try route(className)
        try authorize(.update, route, caller)
        try writable(route)
        let ops = try WriteRequestParser(schema: route.schema, capabilities: route.connector.capabilities).parse(body, isCreate: false)
        if let owner = route.schema.access.ownerField, ops[owner] != nil, !caller.isMaster {
            throw GatewayError(.operationForbidden, "Permission denied: \(className).\(owner) cannot be reassigned.")
        }
        if let current = try await writableObject(objectId, route, context) {
            var after = current
            for (field, op) in ops { after.fields[field] = try op.apply(to: current.fields[field], field: field) }
            try checkWriteRule(after, route, caller, verb: "update")
        }
        let now = ParseDate.now()
        guard let stored = try await invalidating(route, { try await route.connector.update(objectId: objectId, operations: ops, updatedAt: now, in: route.schema, context: context) }) else {
            throw GatewayError.objectNotFound()
        }
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
        _ = try await writableObject(objectId, route, context)
        guard try await invalidating(route, { try await route.connector.delete(objectId: objectId, in: route.schema, context: context) }) else {
            throw GatewayError.objectNotFound()
        }
    }
}

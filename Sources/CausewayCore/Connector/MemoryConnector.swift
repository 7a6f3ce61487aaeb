import Synchronization

/// The reference connector: collections held in memory, every capability declared, every query and update
/// evaluated by the core's own `QueryEvaluator` and `UpdateOperation`, so its answers are the language's
/// exact semantics. The conformance suite compares the other connectors against it; it also serves small
/// fixed data sets (`kind: memory` with `seed:` rows) and tests.
public final class MemoryConnector: Connector {
    public let name: String
    public let kind = "memory"
    public let capabilities: ConnectorCapabilities
    public let collections: [CollectionSchema]
    private let rows: Mutex<[String: [ParseObject]]>

    public static let fullCapabilities = ConnectorCapabilities(
        filterOperators: Set(FilterOperator.allCases), nestedPaths: true, sorting: true, distanceSorting: true,
        paging: true, projection: true, counting: true, updateOperations: Set(UpdateOperation.Kind.allCases), writes: true)

    public init(name: String, collections: [CollectionSchema], capabilities: ConnectorCapabilities = MemoryConnector.fullCapabilities,
                rows: [String: [ParseObject]] = [:]) {
        self.name = name
        self.collections = collections
        self.capabilities = capabilities
        self.rows = Mutex(rows)
    }

    /// Every stored object of a class, in insertion order (for tests).
    public func objects(of className: String) -> [ParseObject] { rows.withLock { $0[className] ?? [] } }

    public func find(_ query: SourceQuery, in collection: CollectionSchema, context: ConnectorContext) async throws -> [ParseObject] {
        var matches = rows.withLock { $0[collection.className] ?? [] }.filter { QueryEvaluator.matches($0, query.filter) }
        if capabilities.sorting {
            matches = QueryEvaluator.sort(matches, by: query.sort, numericIds: collection.objectId.type == .integer)
        }
        let start = min(query.skip, matches.count)
        let end = query.limit.map { min(start + $0, matches.count) } ?? matches.count
        let page = matches[start..<end]
        guard let fields = query.fields else { return Array(page) }
        return page.map { $0.projected(keys: fields, excluding: []) }
    }

    public func create(_ object: ParseObject, in collection: CollectionSchema, context: ConnectorContext) async throws -> ParseObject {
        var stored = object
        return try rows.withLock { r throws(GatewayError) -> ParseObject in
            let existing = r[collection.className, default: []]
            if stored.objectId == nil {
                // The source assigns the key, like a sequence: one past the largest so far.
                let next = (existing.compactMap { $0.objectId.flatMap { Int64($0) } }.max() ?? 0) + 1
                stored.objectId = collection.objectId.type == .integer ? String(next) : ObjectIdGenerator.make()
            }
            if existing.contains(where: { $0.objectId == stored.objectId }) {
                throw GatewayError(.duplicateValue, "A duplicate value for a field with unique values was provided")
            }
            r[collection.className, default: []].append(stored)
            return stored
        }
    }

    public func update(objectId: String, operations: [String: UpdateOperation], updatedAt: ParseDate,
                       in collection: CollectionSchema, context: ConnectorContext) async throws -> ParseObject? {
        try rows.withLock { r throws(GatewayError) -> ParseObject? in
            guard let i = r[collection.className]?.firstIndex(where: { $0.objectId == objectId }) else { return nil }
            var object = r[collection.className]![i]
            for (field, op) in operations {
                object.fields[field] = try op.apply(to: object.fields[field], field: field)
            }
            if collection.updatedAtColumn != nil { object.updatedAt = updatedAt }
            r[collection.className]![i] = object
            return object
        }
    }

    public func delete(objectId: String, in collection: CollectionSchema, context: ConnectorContext) async throws -> Bool {
        rows.withLock { r in
            guard let i = r[collection.className]?.firstIndex(where: { $0.objectId == objectId }) else { return false }
            r[collection.className]!.remove(at: i)
            return true
        }
    }
}

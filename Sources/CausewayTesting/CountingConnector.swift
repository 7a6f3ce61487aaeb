import CausewayCore
import Logging
import Synchronization

/// A deliberately slow and countable source for cache tests: wraps a real connector, counts every read,
/// waits a configurable time before each and can be made to fail like an unreachable source.
public final class CountingConnector: Connector {
    let inner: any Connector
    public let probe: SourceProbe

    public init(wrapping inner: any Connector, probe: SourceProbe) {
        self.inner = inner
        self.probe = probe
    }

    public var name: String { inner.name }
    public var kind: String { "counting" }
    public var capabilities: ConnectorCapabilities { inner.capabilities }
    public var collections: [CollectionSchema] { inner.collections }
    public func start(logger: Logger) async throws { try await inner.start(logger: logger) }
    public func runBackground(logger: Logger) async { await inner.runBackground(logger: logger) }
    public func shutdown() async { await inner.shutdown() }
    public func ready() async throws { try await inner.ready() }

    public func find(_ query: SourceQuery, in collection: CollectionSchema, context: ConnectorContext) async throws -> [ParseObject] {
        try await probe.read()
        return try await inner.find(query, in: collection, context: context)
    }
    public func count(_ filter: QueryFilter?, in collection: CollectionSchema, context: ConnectorContext) async throws -> Int {
        try await probe.read()
        return try await inner.count(filter, in: collection, context: context)
    }
    public func get(objectId: String, fields: Set<String>?, in collection: CollectionSchema, context: ConnectorContext) async throws -> ParseObject? {
        try await probe.read()
        return try await inner.get(objectId: objectId, fields: fields, in: collection, context: context)
    }
    public func create(_ object: ParseObject, in collection: CollectionSchema, context: ConnectorContext) async throws -> ParseObject {
        try await inner.create(object, in: collection, context: context)
    }
    public func update(objectId: String, operations: [String: UpdateOperation], updatedAt: ParseDate,
                       in collection: CollectionSchema, context: ConnectorContext) async throws -> ParseObject? {
        try await inner.update(objectId: objectId, operations: operations, updatedAt: updatedAt, in: collection, context: context)
    }
    public func delete(objectId: String, in collection: CollectionSchema, context: ConnectorContext) async throws -> Bool {
        try await inner.delete(objectId: objectId, in: collection, context: context)
    }
    public func canPushDown(_ path: String, _ condition: FieldCondition, in collection: CollectionSchema) -> Bool {
        inner.canPushDown(path, condition, in: collection)
    }
    public func verify(logger: Logger) async -> [CheckFinding] { await inner.verify(logger: logger) }
}

/// `kind: counting` connector files: the rest of the file is read by `inner` (e.g. the sqlite factory).
public struct CountingConnectorFactory: ConnectorFactory {
    public let kind = "counting"
    let inner: any ConnectorFactory
    let probe: SourceProbe

    public init(inner: any ConnectorFactory, probe: SourceProbe) {
        self.inner = inner
        self.probe = probe
    }

    public func makeConnector(name: String, reader: YAMLReader, baseDirectory: String) throws(ConfigError) -> any Connector {
        CountingConnector(wrapping: try inner.makeConnector(name: name, reader: reader, baseDirectory: baseDirectory), probe: probe)
    }
}

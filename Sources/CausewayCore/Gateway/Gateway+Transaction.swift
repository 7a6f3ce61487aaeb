import Logging

extension Gateway {
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
        let now = self.now
        let others = connectors.filter { $0.name != name }
        // Reads inside bypass the caches: they see the transaction's own writes, never fill a shared entry with rows
        // that may be rolled back, and never wait on a single flight led by a request that itself waits for this
        // transaction's connection (SQLite's one writer). The classes are invalidated once it is over, committed or
        // not, which also drops answers read by others meanwhile.
        defer { for c in classNames { caches.invalidate(className: c, connector: name) } }
        // Changes inside are held until the transaction has committed (a rollback announces nothing).
        let held = changes.deferred()
        let result = try await connector.withTransaction { bound in
            try await body(Gateway(config: config, connectors: others + [bound], caches: .none, status: status, changes: held, now: now))
        }
        held.commit()
        return result
    }
}

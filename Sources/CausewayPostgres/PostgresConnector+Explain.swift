import CausewayCore
import Logging
import PostgresNIO

/// The statement a pushed-down `find` runs, and PostgreSQL's plan for it on request.
extension PostgresConnector {
    /// The exact statement `find` runs for `query` on `t`, and which form it took (plain, split, keyset).
    func findStatement(_ query: SourceQuery, _ t: PostgresTable,
                       semiJoins: [PostgresSemiJoin] = []) throws(GatewayError) -> (PostgresStatement, PostgresFindStatement.Shape) {
        var builder = PostgresFindStatement(table: t, keysetSkipThreshold: keysetSkipThreshold)
        return try builder.build(query, sorting: capabilities.sorting, semiJoins: semiJoins)
    }

    /// The statement `find` would run for `query` (tests and `EXPLAIN` read it from here rather than restate it).
    func findStatement(_ query: SourceQuery, in collection: CollectionSchema) async throws -> (PostgresStatement, PostgresFindStatement.Shape) {
        try findStatement(query, try await table(collection))
    }

    /// PostgreSQL's plan (`EXPLAIN`, without running it) for `statement`, with its parameters bound as they are
    /// when it runs; one line per plan line.
    func explain(_ statement: PostgresStatement) async throws -> String {
        let query = PostgresStatement(sql: "EXPLAIN " + statement.sql, values: statement.values).query
        let logger = self.logger
        let rows = try await self.statement(on: nil) { c, _ in try await c.query(query, logger: logger).collect() }
        return try rows.map { try $0.decode(String.self) }.joined(separator: "\n")
    }


    /// Logs the statement and its plan on the request's logger (so the line carries the request id), at notice
    /// level so it shows without debug logging. A failing EXPLAIN is logged, never fails the request.
    func logPlan(_ statement: PostgresStatement, context: ConnectorContext) async {
        do {
            let plan = try await explain(statement)
            context.logger.notice("postgres plan", metadata: [
                "causeway.connector": .string(name), "causeway.sql": .string(statement.sql), "causeway.plan": .string(plan),
            ])
        } catch {
            context.logger.notice("postgres plan unavailable", metadata: [
                "causeway.connector": .string(name), "causeway.sql": .string(statement.sql), "error": .string(String(reflecting: error)),
            ])
        }
    }
}

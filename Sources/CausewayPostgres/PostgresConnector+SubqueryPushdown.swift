import CausewayCore
import Logging

/// Sub-queries inside the outer statement (`SubqueryPushdownConnector`): when the inner class is in the same
/// database, read as the same user, `$inQuery` / `$select` become `outer IN (SELECT key FROM inner WHERE …)` and the
/// negations `NOT EXISTS (…)`, in the one statement the find runs (see `PostgresSemiJoin`).
extension PostgresConnector: SubqueryPushdownConnector {
    /// The same database as `other`: the same connector, or one whose settings name the same host, port, database and
    /// user (the same rights, row-level security and search path; another user might see other rows or none).
    func sharesDatabase(with other: PostgresConnector) -> Bool {
        other === self || (other.settings.host == settings.host && other.settings.port == settings.port
                           && other.settings.database == settings.database && other.settings.user == settings.user)
    }

    /// Also refused: an outer connector declared without `$in` / `$nin` (what the two-step path would send it), and an
    /// inner table missing a mapped column (inside the sub-select an unknown column name would silently mean the outer
    /// table's column of that name; a direct query on such a mapping fails instead).
    public func canEmbed(_ semiJoin: SemiJoin, outer: CollectionSchema) -> Bool {
        guard capabilities.filterOperators.isSuperset(of: [.isIn, .notIn]),
              let other = semiJoin.innerConnector as? PostgresConnector, sharesDatabase(with: other),
              let (outerTable, outerColumn, innerTable, keyColumn) = resolve(semiJoin, outer: outer, innerConnector: other),
              innerTable.mappedColumns().allSatisfy({ innerTable.columns[$0] != nil }) else { return false }
        return Self.comparable(outerTable.info(outerColumn), innerTable.info(keyColumn))
    }

    /// Column types whose `=` is the equality of the two-step path's values: one type, text with text, or integers.
    /// Text columns of two different non-default collations are refused: PostgreSQL cannot choose between two implicit
    /// collations and fails the statement (42P22), while the two-step path compares values and works.
    static func comparable(_ a: PostgresColumn, _ b: PostgresColumn) -> Bool {
        if a.isArray || b.isArray || a.isJSON || b.isJSON { return false }
        if a.isText && b.isText { return collationsCombine(a.collation, b.collation) }
        let integers: Set<String> = ["smallint", "integer", "bigint"]
        if integers.contains(a.castType) && integers.contains(b.castType) { return true }
        return a.castType == b.castType
    }

    /// Whether two columns' implicit collations combine: the same one, or one of them the database default (or none).
    static func collationsCombine(_ a: String, _ b: String) -> Bool {
        a == b || ["", "default"].contains(a) || ["", "default"].contains(b)
    }

    private func resolve(_ s: SemiJoin, outer: CollectionSchema, innerConnector: PostgresConnector)
        -> (PostgresTable, String, PostgresTable, String)? {
        guard let outerTable = state.withLock({ $0.tables?[outer.className] }),
              let innerTable = innerConnector.state.withLock({ $0.tables?[s.inner.className] }),
              let outerColumn = outerTable.column(for: s.field), let keyColumn = innerTable.column(for: s.key) else { return nil }
        return (outerTable, outerColumn, innerTable, keyColumn)
    }

    func postgresSemiJoins(_ joins: [SemiJoin], outer: CollectionSchema) throws -> [PostgresSemiJoin] {
        try joins.map { s in
            guard let other = s.innerConnector as? PostgresConnector, sharesDatabase(with: other),
                  let (_, outerColumn, innerTable, keyColumn) = resolve(s, outer: outer, innerConnector: other) else {
                throw GatewayError(.internalServerError, "Internal server error.", detail: "semi-join \(s) cannot run on connector \(name)")
            }
            return PostgresSemiJoin(outerColumn: outerColumn, negated: s.negated, inner: innerTable, keyColumn: keyColumn, filter: s.filter)
        }
    }

    public func find(_ query: SourceQuery, semiJoins: [SemiJoin], in collection: CollectionSchema, context: ConnectorContext) async throws -> [ParseObject] {
        let t = try await table(collection)
        let (statement, _) = try findStatement(query, t, semiJoins: try postgresSemiJoins(semiJoins, outer: collection))
        if context.explainRequested { await logPlan(statement, context: context) }
        return try await rows(statement, t, fields: query.fields)
    }

    public func count(_ filter: QueryFilter?, semiJoins: [SemiJoin], in collection: CollectionSchema, context: ConnectorContext) async throws -> Int {
        let t = try await table(collection)
        var translator = PostgresFilterTranslator(table: t)
        var sql = "SELECT count(*) FROM \(t.qualifiedName)"
        if let w = translator.whereClause(filter, semiJoins: try postgresSemiJoins(semiJoins, outer: collection)) { sql += " WHERE " + w }
        let statement = try translator.statement(sql)
        if context.explainRequested { await logPlan(statement, context: context) }
        let rows = try await run(statement, on: nil)
        guard let cell = rows.first?.first, case .int(let n) = try PostgresValueCodec.decode(cell, as: .number) else { return 0 }
        return Int(n)
    }
}

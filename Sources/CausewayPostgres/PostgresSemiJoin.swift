import CausewayCore

/// A sub-query as the outer statement runs it: the outer column compared with the inner table's key column over the
/// inner rows that match the inner filter (see `SemiJoin`).
struct PostgresSemiJoin: Sendable {
    var outerColumn: String
    var negated: Bool
    var inner: PostgresTable
    var keyColumn: String
    var filter: QueryFilter?
}

extension PostgresFilterTranslator {
    /// The condition for one semi-join, its binds numbered after the outer ones. `IN (SELECT …)` for `$inQuery` /
    /// `$select` (a NULL outer value is in nothing; inner NULLs equal nothing); `NOT EXISTS (… WHERE key = outer)` for
    /// the negations, so that an outer NULL is outside every inner value (as `$nin` keeps missing values) and an inner
    /// NULL excludes nothing (a plain `NOT IN` would exclude every row once one inner value is NULL). The inner table
    /// gets an alias of its own (`_cw_s<n>`), so an outer and inner table that are the same table stay apart; the
    /// inner filter's unqualified columns resolve to it, the nearest scope.
    mutating func semiJoinCondition(_ s: PostgresSemiJoin, index: Int) -> String {
        var innerTranslator = PostgresFilterTranslator(table: s.inner)
        innerTranslator.values = values
        let condition = s.filter.map { innerTranslator.whereClause($0) }
        values = innerTranslator.values
        if let p = innerTranslator.problem { problem = problem ?? p }
        let alias = "\"_cw_s\(index)\""
        let key = "\(alias).\(s.inner.quoted(s.keyColumn))"
        let outer = "\(table.qualifiedName).\(table.quoted(s.outerColumn))"
        let from = "\(s.inner.qualifiedName) AS \(alias)"
        if s.negated {
            return "NOT EXISTS (SELECT 1 FROM \(from) WHERE \(key) = \(outer)" + (condition.map { " AND \($0)" } ?? "") + ")"
        }
        return "\(outer) IN (SELECT \(key) FROM \(from)" + (condition.map { " WHERE \($0)" } ?? "") + ")"
    }

    /// The filter's condition and every semi-join's, joined with AND (nil when there is none).
    mutating func whereClause(_ filter: QueryFilter?, semiJoins: [PostgresSemiJoin]) -> String? {
        var parts: [String] = []
        if let filter { parts.append(whereClause(filter)) }
        for (i, s) in semiJoins.enumerated() { parts.append(semiJoinCondition(s, index: i)) }
        return parts.isEmpty ? nil : parts.joined(separator: " AND ")
    }
}

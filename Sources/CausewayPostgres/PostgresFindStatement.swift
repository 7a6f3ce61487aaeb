import CausewayCore

/// Builds the one statement a pushed-down `find` runs, in a form the table's indexes can serve.
///
/// Parse places missing values first in ascending order and last in descending order (the evaluator's
/// `ValueOrdering`); PostgreSQL's btree indexes place NULLs last ascending and first descending unless built
/// otherwise, so `ORDER BY "score" DESC NULLS LAST` cannot be read from an ordinary index on `score`. The
/// catalog decides, per sort key:
/// - the column is `NOT NULL`, or the filter already excludes NULLs there (`score >= 5`): no `NULLS` clause;
/// - an index orders the column with Parse's placement (`(score DESC NULLS LAST)`): the clause, which it serves;
/// - otherwise, for the leading key of a limited query with an index on the column: a **split**: the rows whose
///   key is NULL and the others, each part ordered and limited by itself (the non-NULL part straight from the
///   index), concatenated in Parse's order by a small outer sort of at most 2 × (skip + limit) rows;
/// - otherwise the explicit clause (there is no index to lose).
///
/// A `skip` above `keysetSkipThreshold`, when every sort key is a non-NULL column and the key (the final
/// tie-breaker) is unique, becomes a **keyset** condition: one narrow query finds the sort values of the row at
/// position `skip` (`LIMIT 1 OFFSET skip`, reading only the key columns), and the page is the rows from that row
/// on in sort order, read from the index with `LIMIT` and no `OFFSET`. Both are one statement, one snapshot.
struct PostgresFindStatement {
    /// One key of the order: the SQL expression and how it sorts.
    struct Term {
        var expression: String
        var descending: Bool
        /// No NULL can occur here (a `NOT NULL` column, a filter that excludes them, the key).
        var nonNull: Bool
        /// The column, for a plain column key (not a distance).
        var column: PostgresColumn?
        /// Parse's placement of missing values, always explicit (distance: missing is farthest).
        var parseNullsFirst: Bool

        /// The term with Parse's placement, the `NULLS` clause left out where no NULL can occur.
        var sql: String {
            let dir = descending ? "DESC" : "ASC"
            if nonNull { return "\(expression) \(dir)" }
            return "\(expression) \(dir) NULLS \(parseNullsFirst ? "FIRST" : "LAST")"
        }
    }

    enum Shape: String, Sendable { case plain, split, keyset }

    var translator: PostgresFilterTranslator
    let table: PostgresTable
    let keysetSkipThreshold: Int

    init(table: PostgresTable, keysetSkipThreshold: Int) {
        self.table = table
        self.translator = PostgresFilterTranslator(table: table)
        self.keysetSkipThreshold = keysetSkipThreshold
    }

    /// The statement for `query`, and which form it took.
    /// `semiJoins`: sub-queries run inside the statement, conjuncts of the filter (`PostgresSemiJoin`).
    mutating func build(_ query: SourceQuery, sorting: Bool, semiJoins: [PostgresSemiJoin] = []) throws(GatewayError) -> (PostgresStatement, Shape) {
        let select = table.selectList(fields: query.fields)
        let from = table.qualifiedName
        let whereSQL = translator.whereClause(query.filter, semiJoins: semiJoins)
        guard sorting else {
            var sql = "SELECT \(select) FROM \(from)" + (whereSQL.map { " WHERE " + $0 } ?? "")
            if let limit = query.limit { sql += " LIMIT \(translator.bind(String(limit), as: "bigint"))" }
            if query.skip > 0 { sql += " OFFSET \(translator.bind(String(query.skip), as: "bigint"))" }
            return (try translator.statement(sql), .plain)
        }
        let terms = self.terms(query.sort, filter: query.filter)
        let orderBy = terms.map(\.sql).joined(separator: ", ")

        if query.skip > keysetSkipThreshold, table.keyIsUnique, terms.allSatisfy({ $0.nonNull && $0.column != nil }) {
            // Built before `statement` reads the binds it adds.
            let sql = keyset(terms, select: select, whereSQL: whereSQL, skip: query.skip, limit: query.limit)
            return (try translator.statement(sql), .keyset)
        }
        if let limit = query.limit, let first = terms.first, !first.nonNull, let column = first.column,
           !table.indexes.contains(where: { $0.orders(column, descending: first.descending, nullsFirst: first.parseNullsFirst) }),
           let index = table.indexes.first(where: { $0.ordersIgnoringNulls(column) }) {
            let sql = split(terms, index: index, select: select, whereSQL: whereSQL, skip: query.skip, limit: limit)
            return (try translator.statement(sql), .split)
        }
        var sql = "SELECT \(select) FROM \(from)" + (whereSQL.map { " WHERE " + $0 } ?? "") + " ORDER BY " + orderBy
        if let limit = query.limit { sql += " LIMIT \(translator.bind(String(limit), as: "bigint"))" }
        if query.skip > 0 { sql += " OFFSET \(translator.bind(String(query.skip), as: "bigint"))" }
        return (try translator.statement(sql), .plain)
    }

    // MARK: Terms

    /// The order's terms, the key appended as the final tie-breaker (ascending, as the evaluator breaks ties).
    mutating func terms(_ keys: [SortKey], filter: QueryFilter?) -> [Term] {
        var out: [Term] = []
        let key = table.info(table.schema.objectId.column)
        let keyExpression = table.quoted(key.name) + translator.collate(key)
        func keyTerm(_ descending: Bool) -> Term {
            Term(expression: keyExpression, descending: descending, nonNull: true, column: key, parseNullsFirst: !descending)
        }
        for sortKey in keys {
            switch sortKey {
            case .field(let path, let descending):
                if path == "objectId" { out.append(keyTerm(descending)); continue }
                guard let name = table.column(for: path) else { _ = translator.untranslatable("no column to sort by \(path)"); continue }
                let info = table.info(name)
                let nonNull = info.notNull || (filter.map { Self.excludesMissing(path, $0) } ?? false)
                out.append(Term(expression: table.quoted(name) + translator.collate(info), descending: descending, nonNull: nonNull,
                                column: info, parseNullsFirst: !descending))
            case .distance(let path, let from):
                out.append(Term(expression: translator.distanceExpression(path, from), descending: false, nonNull: false,
                                column: nil, parseNullsFirst: false))
            }
        }
        out.append(keyTerm(false))
        return out
    }

    /// Whether every row the filter selects has a value in `path` (a top-level conjunct that no missing value
    /// satisfies), so NULLs need no placing.
    static func excludesMissing(_ path: String, _ filter: QueryFilter) -> Bool {
        switch filter {
        case .and(let parts): return parts.contains { excludesMissing(path, $0) }
        case .or, .nor: return false
        case .field(let p, let condition):
            guard p == path else { return false }
            switch condition {
            case .equal(let v): return !v.isNull
            case .notEqual(let v): return v.isNull
            case .lessThan, .lessThanOrEqual, .greaterThan, .greaterThanOrEqual, .regex: return true
            case .isIn(let vs): return !vs.contains(where: \.isNull)
            case .exists(let b): return b
            default: return false
            }
        }
    }

    // MARK: Split

    /// The leading key's NULL rows and its other rows as two ordered, limited parts in Parse's order:
    /// `SELECT * FROM ((non-NULL part by the index) UNION ALL (NULL part)) ORDER BY part, keys LIMIT … OFFSET …`.
    private mutating func split(_ terms: [Term], index: PostgresIndex, select: String, whereSQL: String?, skip: Int, limit: Int) -> String {
        let lead = terms[0]
        let column = table.quoted(lead.column!.name)
        // The non-NULL part in the placement the index scans (no NULL is there, so it changes nothing).
        let k = index.keys[0]
        let indexNullsFirst = k.descending == lead.descending ? k.nullsFirst : !k.nullsFirst
        var indexLead = lead
        indexLead.nonNull = false
        indexLead.parseNullsFirst = indexNullsFirst
        let rest = terms.dropFirst().map(\.sql)
        let keyColumns = terms.enumerated().map { "\($1.expression) AS \"_cw_k\($0)\"" }.joined(separator: ", ")
        let partLimit = translator.bind(String(skip + limit), as: "bigint")
        func part(_ n: Int, _ test: String, _ order: [String]) -> String {
            "(SELECT \(select), \(n) AS \"_cw_part\", \(keyColumns) FROM \(table.qualifiedName) WHERE "
                + (whereSQL.map { "\($0) AND " } ?? "") + "\(column) \(test) ORDER BY \(order.joined(separator: ", ")) LIMIT \(partLimit))"
        }
        let nullPart = part(lead.parseNullsFirst ? 0 : 1, "IS NULL", Array(rest))
        let valuePart = part(lead.parseNullsFirst ? 1 : 0, "IS NOT NULL", [indexLead.sql] + rest)
        let parts = lead.parseNullsFirst ? [nullPart, valuePart] : [valuePart, nullPart]
        let outer = terms.enumerated().map { i, t in
            var o = t
            o.expression = "\"_cw_u\".\"_cw_k\(i)\"" + (t.column.map(translator.collate) ?? "")
            return o.sql
        }
        var sql = "SELECT * FROM (\(parts.joined(separator: " UNION ALL "))) AS \"_cw_u\" ORDER BY \"_cw_u\".\"_cw_part\", \(outer.joined(separator: ", "))"
        sql += " LIMIT \(translator.bind(String(limit), as: "bigint"))"
        if skip > 0 { sql += " OFFSET \(translator.bind(String(skip), as: "bigint"))" }
        return sql
    }

    // MARK: Keyset

    /// The page from the row at position `skip` on: its sort values from one narrow query (`_cw_b`), then a
    /// range condition on them that an index on the leading key serves, and `LIMIT` without `OFFSET`.
    private mutating func keyset(_ terms: [Term], select: String, whereSQL: String?, skip: Int, limit: Int?) -> String {
        let order = terms.map(\.sql).joined(separator: ", ")
        let keyColumns = terms.enumerated().map { "\($1.expression) AS \"_cw_k\($0)\"" }.joined(separator: ", ")
        let boundary = "WITH \"_cw_b\" AS MATERIALIZED (SELECT \(keyColumns) FROM \(table.qualifiedName)"
            + (whereSQL.map { " WHERE " + $0 } ?? "") + " ORDER BY \(order) LIMIT 1 OFFSET \(translator.bind(String(skip), as: "bigint")))"
        let condition = Self.keysetCondition(terms, boundary: { "(SELECT \"_cw_k\($0)\" FROM \"_cw_b\")" })
        var sql = "\(boundary) SELECT \(select) FROM \(table.qualifiedName) WHERE " + (whereSQL.map { "\($0) AND " } ?? "")
            + condition + " ORDER BY \(order)"
        if let limit { sql += " LIMIT \(translator.bind(String(limit), as: "bigint"))" }
        return sql
    }

    /// "At or after the boundary row in sort order" for non-NULL terms ending in a unique key:
    /// `k0 <= b0 AND (k0 < b0 OR (k0 = b0 AND (k1 > b1 OR (k1 = b1 AND key >= bkey))))` (for `-k0, k1`); the
    /// leading inclusive bound is what an index on `k0` serves. This is the cursor form clients use too.
    static func keysetCondition(_ terms: [Term], boundary: (Int) -> String) -> String {
        func op(_ t: Term, strict: Bool) -> String { t.descending ? (strict ? "<" : "<=") : (strict ? ">" : ">=") }
        var inner = "\(terms[terms.count - 1].expression) \(op(terms[terms.count - 1], strict: false)) \(boundary(terms.count - 1))"
        for i in stride(from: terms.count - 2, through: 0, by: -1) {
            let t = terms[i]
            inner = "(\(t.expression) \(op(t, strict: true)) \(boundary(i)) OR (\(t.expression) = \(boundary(i)) AND \(inner)))"
        }
        guard terms.count > 1 else { return inner }
        return "\(terms[0].expression) \(op(terms[0], strict: false)) \(boundary(0)) AND \(inner)"
    }
}

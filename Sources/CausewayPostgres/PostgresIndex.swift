/// An index of a mapped table as `pg_index` describes it: what the sort pushdown, keyset paging and
/// `causeway check`'s `indexHints` findings need to know.
struct PostgresIndex: Sendable, Hashable {
    struct KeyColumn: Sendable, Hashable {
        /// nil for an expression.
        var column: String?
        /// `indoption` bit 0.
        var descending: Bool
        /// `indoption` bit 1.
        var nullsFirst: Bool
        /// The key's collation ('' for types without one, `default`, `C`, …): a sort is served only when it
        /// orders by the same collation.
        var collation: String
    }

    var name: String
    /// `btree`, `hash`, `gin`, `gist`, …
    var method: String
    var unique: Bool
    /// A partial index (`WHERE …`) serves only queries that imply its predicate: never assumed here.
    var partial: Bool
    /// The key columns in order (`INCLUDE` columns are left out).
    var keys: [KeyColumn]

    /// Whether a scan of this index (forward or backward) yields `column` in the given order with NULLs
    /// placed as asked, as its leading key.
    func orders(_ column: PostgresColumn, descending: Bool, nullsFirst: Bool) -> Bool {
        guard method == "btree", !partial, let k = keys.first, k.column == column.name, k.collation == column.sortCollation else { return false }
        let forward = k.descending == descending && k.nullsFirst == nullsFirst
        let backward = k.descending != descending && k.nullsFirst != nullsFirst
        return forward || backward
    }

    /// Whether this index orders `column` in either NULL placement (for the non-NULL part of a split sort).
    func ordersIgnoringNulls(_ column: PostgresColumn) -> Bool {
        orders(column, descending: false, nullsFirst: false) || orders(column, descending: false, nullsFirst: true)
    }

    /// Whether this index can serve a condition on `column` (it is the leading key of a complete index).
    func leads(with column: String) -> Bool { !partial && keys.first?.column == column }

    /// Whether it makes `column` unique by itself.
    func makesUnique(_ column: String) -> Bool { unique && !partial && keys.count == 1 && keys[0].column == column }

    /// One row per key column of every valid index of a table: index name, method, unique, partial, position,
    /// column name ('' for an expression), `indoption`, collation name ('' when none), number of key columns.
    static let catalogQuery = """
        SELECT ic.relname::text, am.amname::text, ix.indisunique, ix.indpred IS NOT NULL, k.n::int4,
               coalesce(a.attname::text, ''), ix.indoption[k.n - 1]::int4, coalesce(co.collname::text, ''), ix.indnkeyatts::int4
        FROM pg_catalog.pg_index ix
        JOIN pg_catalog.pg_class ic ON ic.oid = ix.indexrelid
        JOIN pg_catalog.pg_class t ON t.oid = ix.indrelid
        JOIN pg_catalog.pg_namespace ns ON ns.oid = t.relnamespace
        JOIN pg_catalog.pg_am am ON am.oid = ic.relam
        CROSS JOIN LATERAL unnest(ix.indkey::int2[]) WITH ORDINALITY AS k(attnum, n)
        LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum AND k.attnum > 0
        LEFT JOIN pg_catalog.pg_collation co ON co.oid = ix.indcollation[k.n - 1]
        WHERE ns.nspname = $1 AND t.relname = $2 AND ix.indisvalid AND k.n <= ix.indnkeyatts
        ORDER BY ic.relname, k.n
        """

    /// Whether a collation orders text by bytes, as the evaluator does. `default` does when the database's own
    /// collation is `C` or `POSIX` (`databaseCollation`).
    static func byteOrdered(collation: String, databaseCollation: String) -> Bool {
        switch collation {
        case "", "C", "POSIX", "ucs_basic": return true
        case "default": return ["C", "POSIX"].contains(databaseCollation)
        default: return false
        }
    }
}

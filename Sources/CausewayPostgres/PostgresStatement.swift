import PostgresNIO

/// One planned statement: SQL whose values are all bind parameters (`$n::type`, sent as text and cast by
/// PostgreSQL), never spliced into the text.
struct PostgresStatement: Sendable {
    let sql: String
    /// The parameters in order; nil is SQL NULL.
    let values: [String?]

    var query: PostgresQuery {
        var binds = PostgresBindings(capacity: values.count)
        for v in values { if let v { binds.append(v) } else { binds.appendNull() } }
        return PostgresQuery(unsafeSQL: sql, binds: binds)
    }

    /// The parameters for a statement prepared on the connection.
    var data: [PostgresData] { values.map { $0.map { PostgresData(string: $0) } ?? PostgresData(type: .text, value: nil) } }
}

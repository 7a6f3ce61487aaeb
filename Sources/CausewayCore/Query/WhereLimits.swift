/// Bounds on the size of a `where` clause, checked on its JSON before it is parsed, so no query shape can
/// make planning, SQL generation or in-memory evaluation expensive (or exceed a source's own limits, such
/// as SQLite's expression depth). Each refusal is a 102 naming the limit and its `limits.*` key.
public struct WhereLimits: Sendable, Hashable {
    /// Field conditions and operators in all, at any depth (`limits.maxWhereConditions`).
    public var maxConditions = 500
    /// Nesting of `$and` / `$or` / `$nor` (`limits.maxWhereDepth`).
    public var maxDepth = 8
    /// Values in one `$in`, `$nin`, `$all` or `$containedBy` list (`limits.maxWhereListValues`).
    public var maxListValues = 10_000

    public init() {}

    static let listOperators: Set<String> = ["$in", "$nin", "$all", "$containedBy"]

    public func check(_ json: JSONValue) throws(GatewayError) {
        var conditions = 0
        try walk(json, depth: 0, conditions: &conditions)
    }

    private func walk(_ json: JSONValue, depth: Int, conditions: inout Int) throws(GatewayError) {
        guard case .object(let object) = json else { return }
        for (key, value) in object {
            switch key {
            case "$and", "$or", "$nor":
                guard depth < maxDepth else {
                    throw GatewayError(.invalidQuery, "The where clause nests $and/$or/$nor more than \(maxDepth) levels deep (limits.maxWhereDepth).")
                }
                guard case .array(let branches) = value else { continue }
                for branch in branches { try walk(branch, depth: depth + 1, conditions: &conditions) }
            default:
                conditions += 1
                if case .object(let ops) = value, ops.keys.contains(where: { $0.hasPrefix("$") }) {
                    conditions += max(0, ops.count - 1)
                    for (op, operand) in ops where WhereLimits.listOperators.contains(op) {
                        if case .array(let items) = operand, items.count > maxListValues {
                            throw GatewayError(.invalidQuery, "\(op) on \(LogText.clean(key, limit: 64)) lists \(items.count) values; at most \(maxListValues) are allowed (limits.maxWhereListValues).")
                        }
                    }
                }
            }
            if conditions > maxConditions {
                throw GatewayError(.invalidQuery, "The where clause has more than \(maxConditions) conditions (limits.maxWhereConditions).")
            }
        }
    }
}

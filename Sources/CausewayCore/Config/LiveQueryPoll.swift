/// A collection's change source for LiveQuery besides writes through the gateway: polling.
///
/// ```yaml
/// collections:
///   Ticket:
///     liveQuery:
///       poll: { updatedAtField: updatedAt, intervalSeconds: 5 }
/// ```
///
/// Every interval the gateway asks the source for rows whose `updatedAtField` advanced and announces them
/// (create when `createdAt` is newer than the last poll, update otherwise). Deletions cannot be seen this way.
public struct LiveQueryPoll: Sendable, Hashable {
    /// `updatedAt` or a date field of the collection.
    public var updatedAtField: String
    public var interval: Duration
    /// Rows read per poll at most (the rest follow at the next one).
    public var batchSize: Int

    public init(updatedAtField: String, interval: Duration, batchSize: Int = 1000) {
        self.updatedAtField = updatedAtField
        self.interval = interval
        self.batchSize = batchSize
    }

    /// `liveQuery` of one collection (nil when absent). `triggers` is set from `liveQuery.triggers` (PostgreSQL
    /// sources: changes announced by triggers that send NOTIFY, see `causeway live-triggers`).
    static func read(_ r: YAMLReader, schema: CollectionSchema, triggers: inout Bool) throws(ConfigError) -> LiveQueryPoll? {
        guard let lq = try r.optionalChild("liveQuery") else { return nil }
        triggers = try lq.bool("triggers", default: false)
        var result: LiveQueryPoll?
        if let p = try lq.optionalChild("poll") {
            let field = try p.optionalString("updatedAtField") ?? "updatedAt"
            guard schema.type(of: field) == .date else {
                throw p.error("updatedAtField", "'\(field)' is not a date field of \(schema.className) (use updatedAt, mapped with updatedAt: COLUMN, or a field of type date)")
            }
            let seconds = try p.int("intervalSeconds", default: 5, range: 1...86_400)
            let batch = try p.int("batchSize", default: 1000, range: 1...100_000)
            try p.finish()
            result = LiveQueryPoll(updatedAtField: field, interval: .seconds(seconds), batchSize: batch)
        }
        try lq.finish()
        return result
    }
}

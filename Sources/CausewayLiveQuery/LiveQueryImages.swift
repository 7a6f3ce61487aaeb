import CausewayCore
import Synchronization

/// The last known image of each object that some subscriber sees, by class and objectId, within a byte
/// budget (`liveQuery.rememberedObjectsBytes`, least recently used first out).
///
/// Some changes arrive without the object as it was before: a row deleted or updated directly in PostgreSQL
/// (the trigger sends only the key; the row is gone by the time the hub hears of it) and writes announced by
/// other nodes. With the remembered image the hub decides, per subscriber and with that subscriber's query and
/// permissions, who saw the object (they get the `delete`, or the `leave`) and what of it they may be shown —
/// the same decision a write through this gateway gets with its exact image. An object whose image is not (or no
/// longer) remembered falls back to the rule for unknown images: its `delete` reaches only master-key
/// subscriptions without `where` (counted in `causeway_livequery_unrouted_deletes_total`).
///
/// Images come from every change the hub delivers (the object after it, when some subscription sees it) and,
/// for classes whose changes may arrive without images, from a read when a subscription starts. Sizes are the
/// objects' encoded JSON plus a fixed overhead per entry, so the budget bounds this node's memory for them.
final class LiveQueryImages: Sendable {
    struct Key: Hashable, Sendable {
        var className: String
        var objectId: String
    }

    private struct Entry: Sendable {
        var object: ParseObject
        var bytes: Int
        var used: UInt64
    }

    private struct State: Sendable {
        var entries: [Key: Entry] = [:]
        var bytes = 0
        var clock: UInt64 = 0
        var limit: Int
    }

    /// Bookkeeping per entry beyond the encoded object (key strings, dictionary slot), in bytes.
    static let entryOverhead = 96

    private let state: Mutex<State>

    init(maxBytes: Int) { state = Mutex(State(limit: max(0, maxBytes))) }

    /// The remembered image (marked as used), or nil.
    func image(_ className: String, _ objectId: String) -> ParseObject? {
        state.withLock { s in
            let key = Key(className: className, objectId: objectId)
            guard var e = s.entries[key] else { return nil }
            s.clock += 1
            e.used = s.clock
            s.entries[key] = e
            return e.object
        }
    }

    /// Remembers `object` (it replaces an older image unless `ifAbsent`). An object larger than the whole
    /// budget is not kept. Returns the image's size in bytes (0: already remembered, with `ifAbsent`).
    @discardableResult
    func remember(_ object: ParseObject, className: String, ifAbsent: Bool = false) -> Int {
        guard let id = object.objectId else { return 0 }
        let key = Key(className: className, objectId: id)
        if ifAbsent, state.withLock({ $0.entries[key] != nil }) { return 0 }
        let size = JSONWriter.string(ParseCodec.json(object)).utf8.count + className.utf8.count + id.utf8.count + Self.entryOverhead
        state.withLock { s in
            if ifAbsent, s.entries[key] != nil { return }
            if let old = s.entries.removeValue(forKey: key) { s.bytes -= old.bytes }
            guard size <= s.limit else { return }
            s.clock += 1
            s.entries[key] = Entry(object: object, bytes: size, used: s.clock)
            s.bytes += size
            if s.bytes > s.limit { Self.evict(&s) }
        }
        return size
    }

    func forget(_ className: String, _ objectId: String) {
        state.withLock { s in
            if let old = s.entries.removeValue(forKey: Key(className: className, objectId: objectId)) { s.bytes -= old.bytes }
        }
    }

    /// Forgets every image of the classes `keep` does not accept (a class no longer served, or no longer live).
    func forgetClasses(keeping keep: (String) -> Bool) {
        state.withLock { s in
            for (key, e) in s.entries where !keep(key.className) {
                s.entries.removeValue(forKey: key)
                s.bytes -= e.bytes
            }
        }
    }

    /// A new budget (configuration reload); images beyond it go now.
    func setLimit(_ maxBytes: Int) {
        state.withLock { s in
            s.limit = max(0, maxBytes)
            if s.bytes > s.limit { Self.evict(&s) }
        }
    }

    var usage: (count: Int, bytes: Int, limit: Int) { state.withLock { ($0.entries.count, $0.bytes, $0.limit) } }

    /// Drops the least recently used images until at most 7/8 of the budget is used, so that a full memory
    /// sorts its entries once per many inserts, not on each one.
    private static func evict(_ s: inout State) {
        let target = s.limit - s.limit / 8
        for (key, e) in s.entries.sorted(by: { $0.value.used < $1.value.used }) {
            guard s.bytes > target else { break }
            s.entries.removeValue(forKey: key)
            s.bytes -= e.bytes
        }
    }
}

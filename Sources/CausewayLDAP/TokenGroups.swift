import Foundation
import Synchronization

/// Active Directory security identifiers (SIDs) as `tokenGroups` and `objectSid` carry them.
///
/// Binary form (MS-DTYP 2.4.2.2): revision (1 byte), sub-authority count (1 byte), identifier authority
/// (6 bytes, big-endian), then each sub-authority as 4 bytes little-endian.
enum SID {
    /// `S-1-5-21-1004336348-1177238915-682003330-512`, or nil when the bytes are not a SID.
    static func string(_ bytes: [UInt8]) -> String? {
        guard bytes.count >= 8, bytes[0] == 1 else { return nil }
        let count = Int(bytes[1])
        guard count <= 15, bytes.count == 8 + 4 * count else { return nil }
        var authority: UInt64 = 0
        for b in bytes[2..<8] { authority = authority << 8 | UInt64(b) }
        var out = "S-1-\(authority)"
        for i in 0..<count {
            let o = 8 + 4 * i
            let value = UInt32(bytes[o]) | UInt32(bytes[o + 1]) << 8 | UInt32(bytes[o + 2]) << 16 | UInt32(bytes[o + 3]) << 24
            out += "-\(value)"
        }
        return out
    }

    /// The binary SID as an RFC 4515 filter value: every byte as `\xx`.
    static func filterValue(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef")
        var out = ""
        out.reserveCapacity(bytes.count * 3)
        for b in bytes {
            out.append("\\")
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 15)])
        }
        return out
    }

    /// `(|(objectSid=\01\05…)(objectSid=…))` for a batch of binary SIDs.
    static func filter(_ sids: [[UInt8]]) -> String {
        if sids.count == 1 { return "(objectSid=\(filterValue(sids[0])))" }
        return "(|" + sids.map { "(objectSid=\(filterValue($0)))" }.joined() + ")"
    }
}

/// SID → group (DN and CN) under `groups.search.baseDN`, or "no group there" (a SID such as Domain Users
/// that lives elsewhere), each for `ttl`; at most `capacity` entries (the ones that expire soonest go first).
/// A renamed, moved or deleted group is therefore seen within `ttl`; a new group has a new SID.
final class SIDCache: Sendable {
    struct Group: Sendable, Equatable { var dn: String; var cn: String? }
    private struct Item { var group: Group?; var expires: ContinuousClock.Instant }
    private let items = Mutex<[String: Item]>([:])
    let ttl: Duration
    let capacity: Int

    init(ttl: Duration, capacity: Int = 50_000) {
        self.ttl = ttl
        self.capacity = capacity
    }

    /// The cached answer for each SID that has one (`.some(nil)`: known not to be a group under the base).
    func lookup(_ sids: [String], now: ContinuousClock.Instant = .now) -> [String: Group?] {
        guard ttl > .zero else { return [:] }
        return items.withLock { items in
            var found: [String: Group?] = [:]
            for sid in sids {
                guard let item = items[sid] else { continue }
                if item.expires > now { found[sid] = .some(item.group) } else { items[sid] = nil }
            }
            return found
        }
    }

    func store(_ answers: [String: Group?], now: ContinuousClock.Instant = .now) {
        guard ttl > .zero, !answers.isEmpty else { return }
        let expires = now + ttl
        items.withLock { items in
            for (sid, group) in answers { items[sid] = Item(group: group, expires: expires) }
            if items.count > capacity {
                items = items.filter { $0.value.expires > now }
                if items.count > capacity {
                    let drop = items.sorted { $0.value.expires < $1.value.expires }.prefix(items.count - capacity)
                    for (sid, _) in drop { items[sid] = nil }
                }
            }
        }
    }

    var count: Int { items.withLock { $0.count } }
}

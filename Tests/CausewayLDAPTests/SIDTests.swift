@testable import CausewayLDAP
import Foundation
import Testing

/// Binary SIDs (tokenGroups, objectSid) without a directory.
@Suite struct SIDTests {
    /// S-1-5-21-1004336348-1177238915-682003330-512 (a domain's Domain Admins) as AD stores it.
    static let domainAdmins: [UInt8] = [0x01, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x15, 0x00, 0x00, 0x00, 0xdc, 0xf4, 0xdc, 0x3b,
                                        0x83, 0x3d, 0x2b, 0x46, 0x82, 0x8b, 0xa6, 0x28, 0x00, 0x02, 0x00, 0x00]

    @Test func parsesTheBinaryForm() {
        #expect(SID.string(SIDTests.domainAdmins) == "S-1-5-21-1004336348-1177238915-682003330-512")
        // BUILTIN\Users: two sub-authorities.
        #expect(SID.string([0x01, 0x02, 0, 0, 0, 0, 0, 0x05, 0x20, 0, 0, 0, 0x21, 0x02, 0, 0]) == "S-1-5-32-545")
        // Everyone: S-1-1-0.
        #expect(SID.string([0x01, 0x01, 0, 0, 0, 0, 0, 0x01, 0, 0, 0, 0]) == "S-1-1-0")
        // Sub-authorities are unsigned 32-bit.
        #expect(SID.string([0x01, 0x01, 0, 0, 0, 0, 0, 0x05, 0xff, 0xff, 0xff, 0xff]) == "S-1-5-4294967295")
    }

    @Test func refusesWhatIsNotASID() {
        #expect(SID.string([]) == nil)
        #expect(SID.string(Array(SIDTests.domainAdmins.dropLast())) == nil)  // one byte short
        #expect(SID.string(SIDTests.domainAdmins + [0]) == nil)              // one byte too many
        var revision2 = SIDTests.domainAdmins
        revision2[0] = 2
        #expect(SID.string(revision2) == nil)
    }

    @Test func filtersEscapeEveryByte() {
        #expect(SID.filterValue([0x01, 0x05, 0x2a, 0x28, 0x29, 0x5c, 0x00, 0xff]) == "\\01\\05\\2a\\28\\29\\5c\\00\\ff")
        let one = SID.filter([SIDTests.domainAdmins])
        #expect(one == "(objectSid=\\01\\05\\00\\00\\00\\00\\00\\05\\15\\00\\00\\00\\dc\\f4\\dc\\3b\\83\\3d\\2b\\46\\82\\8b\\a6\\28\\00\\02\\00\\00)")
        let two = SID.filter([SIDTests.domainAdmins, [0x01, 0x01, 0, 0, 0, 0, 0, 0x01, 0, 0, 0, 0]])
        #expect(two.hasPrefix("(|(objectSid=\\01\\05") && two.hasSuffix("(objectSid=\\01\\01\\00\\00\\00\\00\\00\\01\\00\\00\\00\\00))"))
    }

    @Test func theCacheExpiresAndStaysBounded() {
        let cache = SIDCache(ttl: .seconds(60), capacity: 3)
        let t0 = ContinuousClock.now
        let admins = SIDCache.Group(dn: "CN=Admins,OU=Groups,DC=corp", cn: "Admins")
        let none: SIDCache.Group? = nil  // known: not a group under the base
        cache.store(["S-1-5-21-1-512": admins, "S-1-5-21-1-513": none], now: t0)
        let hit = cache.lookup(["S-1-5-21-1-512", "S-1-5-21-1-513", "S-1-5-21-1-514"], now: t0 + .seconds(59))
        #expect(hit.count == 2 && hit["S-1-5-21-1-512"] == .some(admins) && hit["S-1-5-21-1-513"] == .some(none))
        #expect(cache.lookup(["S-1-5-21-1-512"], now: t0 + .seconds(61)).isEmpty)
        // Over capacity: the entries that expire soonest go first.
        let cache2 = SIDCache(ttl: .seconds(60), capacity: 3)
        for i in 0..<5 { cache2.store(["S-\(i)": none], now: t0 + .seconds(i)) }
        #expect(cache2.count == 3)
        #expect(cache2.lookup(["S-0", "S-1", "S-2", "S-3", "S-4"], now: t0 + .seconds(5)).keys.sorted() == ["S-2", "S-3", "S-4"])
        // A TTL of 0 caches nothing.
        let off = SIDCache(ttl: .zero)
        off.store(["S-1": admins], now: t0)
        #expect(off.lookup(["S-1"], now: t0).isEmpty)
    }
}

import Logging
import Metrics
import Synchronization

/// A cached answer: the response body as it goes on the wire (encoded once, when stored), so a hit costs
/// no encoding.
public struct CachedAnswer: Sendable {
    public let body: [UInt8]

    public static func find(_ objects: [ParseObject], count: Int?) -> CachedAnswer {
        var w = JSONWriter(capacity: 256 * max(1, objects.count))
        ParseCodec.writeFindResponse(objects, count: count, to: &w)
        return CachedAnswer(body: w.bytes)
    }

    public static func object(_ object: ParseObject) -> CachedAnswer {
        var w = JSONWriter(capacity: 256)
        ParseCodec.write(object, to: &w)
        return CachedAnswer(body: w.bytes)
    }

    /// The bytes an entry takes: the body plus bookkeeping.
    var size: Int { body.count + 160 }
}

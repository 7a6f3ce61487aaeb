import Foundation
import Synchronization

/// Compiles `$regex` patterns once and shares them. Bounded: past `capacity` entries it starts over.
public final class RegexCache: Sendable {
    public static let shared = RegexCache(capacity: 512)

    private let capacity: Int
    private let entries = Mutex<[String: NSRegularExpressionBox]>([:])

    init(capacity: Int) { self.capacity = capacity }

    /// Returns a compiled expression; throws 102 for an invalid pattern.
    public func regex(_ pattern: String, options: String) throws(GatewayError) -> NSRegularExpressionBox {
        let key = options + "/" + pattern
        if let hit = entries.withLock({ $0[key] }) { return hit }
        var opts: NSRegularExpression.Options = []
        if options.contains("i") { opts.insert(.caseInsensitive) }
        if options.contains("m") { opts.insert(.anchorsMatchLines) }
        if options.contains("x") { opts.insert(.allowCommentsAndWhitespace) }
        if options.contains("s") { opts.insert(.dotMatchesLineSeparators) }
        let compiled: NSRegularExpression
        do { compiled = try NSRegularExpression(pattern: pattern, options: opts) } catch {
            throw GatewayError(.invalidQuery, "Invalid regular expression: \(pattern)")
        }
        let box = NSRegularExpressionBox(compiled)
        entries.withLock { cache in
            if cache.count >= capacity { cache.removeAll(keepingCapacity: true) }
            cache[key] = box
        }
        return box
    }
}

/// An immutable compiled expression; `NSRegularExpression` is safe to share once built.
public final class NSRegularExpressionBox: @unchecked Sendable {
    public let expression: NSRegularExpression
    init(_ expression: NSRegularExpression) { self.expression = expression }

    public func matches(_ text: String) -> Bool {
        let ns = text as NSString
        return expression.firstMatch(in: text, options: [], range: NSRange(location: 0, length: ns.length)) != nil
    }
}

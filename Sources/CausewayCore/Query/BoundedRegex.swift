import CPCRE2
import Synchronization

/// A compiled `$regex` pattern, matched by PCRE2 (the engine MongoDB uses, so Parse's dialect) under hard
/// limits: at most `matchLimit` backtracking steps, `depthLimit` nested backtracking points and
/// `heapLimitKiB` of memory per match. A pattern such as `(a+)+$` against `aaaa…a!` stops at the limit in
/// milliseconds instead of holding a core for minutes; the match throws `RegexBudgetExceeded`.
///
/// Syntax: PCRE2 in UTF mode with Unicode properties (`\w`, `\d`, case folding follow Unicode), options
/// `i` (caseless), `m` (multiline), `x` (extended), `s` (dot matches newline). Patterns are compiled once
/// and shared (`BoundedRegex.compile`). Immutable after compilation, so safe to use from any thread.
public final class BoundedRegex: @unchecked Sendable {
    public static let matchLimit: UInt32 = 200_000
    public static let depthLimit: UInt32 = 5_000
    public static let heapLimitKiB: UInt32 = 8_192

    private let code: OpaquePointer
    private let context: OpaquePointer
    public let pattern: String

    private init(code: OpaquePointer, context: OpaquePointer, pattern: String) {
        self.code = code
        self.context = context
        self.pattern = pattern
    }

    deinit {
        pcre2_code_free_8(code)
        pcre2_match_context_free_8(context)
    }

    private static let cache = Mutex<[String: BoundedRegex]>([:])
    private static let cacheCapacity = 512

    /// A compiled pattern (shared); throws 102 for a pattern PCRE2 rejects, naming where.
    public static func compile(_ pattern: String, options: String) throws(GatewayError) -> BoundedRegex {
        let key = options + "/" + pattern
        if let hit = cache.withLock({ $0[key] }) { return hit }
        var flags = causeway_pcre2_utf() | causeway_pcre2_ucp()
        if options.contains("i") { flags |= causeway_pcre2_caseless() }
        if options.contains("m") { flags |= causeway_pcre2_multiline() }
        if options.contains("x") { flags |= causeway_pcre2_extended() }
        if options.contains("s") { flags |= causeway_pcre2_dotall() }
        var errorCode: Int32 = 0
        var errorOffset = 0
        let bytes = Array(pattern.utf8)
        let compiled = bytes.withUnsafeBufferPointer { p in
            pcre2_compile_8(p.baseAddress, p.count, flags, &errorCode, &errorOffset, nil)
        }
        guard let compiled else {
            var message = [UInt8](repeating: 0, count: 256)
            let n = pcre2_get_error_message_8(errorCode, &message, message.count)
            let reason = n > 0 ? String(decoding: message.prefix(Int(n)), as: UTF8.self) : "error \(errorCode)"
            throw GatewayError(.invalidQuery, "Invalid regular expression at offset \(errorOffset): \(reason).")
        }
        guard let context = pcre2_match_context_create_8(nil) else {
            pcre2_code_free_8(compiled)
            throw GatewayError(.internalServerError, "Internal server error.", detail: "pcre2_match_context_create failed")
        }
        pcre2_set_match_limit_8(context, matchLimit)
        pcre2_set_depth_limit_8(context, depthLimit)
        pcre2_set_heap_limit_8(context, heapLimitKiB)
        let regex = BoundedRegex(code: compiled, context: context, pattern: pattern)
        cache.withLock { c in
            if c.count >= cacheCapacity { c.removeAll(keepingCapacity: true) }
            c[key] = regex
        }
        return regex
    }

    /// Whether `text` contains a match. Throws when the match would need more than the limits allow.
    public func matches(_ text: String) throws(RegexBudgetExceeded) -> Bool {
        guard let data = pcre2_match_data_create_from_pattern_8(code, nil) else { throw RegexBudgetExceeded(pattern: pattern) }
        defer { pcre2_match_data_free_8(data) }
        var subject = text
        let rc = subject.withUTF8 { p in
            pcre2_match_8(code, p.baseAddress, p.count, 0, causeway_pcre2_no_utf_check(), data, context)
        }
        if rc >= 0 { return true }
        if rc == causeway_pcre2_error_nomatch() { return false }
        // The match, depth or heap limit, or any other failure to finish: never an answer either way.
        throw RegexBudgetExceeded(pattern: pattern)
    }
}

/// A `$regex` match that would need more work than `BoundedRegex` allows.
public struct RegexBudgetExceeded: Error, Sendable {
    public let pattern: String

    /// The client's answer: 102 naming the pattern (cut) and the usual cause.
    public var gatewayError: GatewayError {
        GatewayError(.invalidQuery, "The $regex \(LogText.clean(pattern, limit: 80)) needs more backtracking than this server allows for one value; simplify it (nested quantifiers such as (a+)+ are the usual cause).")
    }
}

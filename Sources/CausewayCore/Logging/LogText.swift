/// Client-supplied text made safe for a log line: control characters (newlines, NUL, escape sequences)
/// are written as `\u{…}` escapes, so one value cannot forge or break a log line, and long values are cut
/// to `limit` characters with the original length noted, so one request cannot flood the log.
public enum LogText {
    public static func clean(_ text: some StringProtocol, limit: Int = 256) -> String {
        let needsEscape = text.unicodeScalars.contains { $0.properties.generalCategory == .control || $0 == "\u{2028}" || $0 == "\u{2029}" }
        if !needsEscape && text.count <= limit { return String(text) }
        var out = ""
        var count = 0
        for scalar in text.unicodeScalars {
            if count >= limit {
                out += "…(\(text.utf8.count) bytes)"
                break
            }
            if scalar.properties.generalCategory == .control || scalar == "\u{2028}" || scalar == "\u{2029}" {
                out += "\\u{" + String(scalar.value, radix: 16) + "}"
            } else {
                out.unicodeScalars.append(scalar)
            }
            count += 1
        }
        return out
    }
}

/// Paths into API answers as written in connector files: object keys joined by dots, and `[n]` for the
/// n-th element of an array (`rows[0]`, `data.items`, `[0]` for the first element of a bare array).
/// Parsed into segments; an element segment is kept as "[n]".
enum RESTPath {
    static func parse(_ text: String) -> [String]? {
        guard !text.isEmpty else { return [] }
        var segments: [String] = []
        for part in text.split(separator: ".", omittingEmptySubsequences: false) {
            var rest = Substring(part)
            // A key, then any number of [n].
            if let open = rest.firstIndex(of: "[") {
                let key = rest[..<open]
                if !key.isEmpty { segments.append(String(key)) }
                rest = rest[open...]
                while !rest.isEmpty {
                    guard rest.first == "[", let close = rest.firstIndex(of: "]") else { return nil }
                    let digits = rest[rest.index(after: rest.startIndex)..<close]
                    guard let n = Int(digits), n >= 0 else { return nil }
                    segments.append("[\(n)]")
                    rest = rest[rest.index(after: close)...]
                }
            } else {
                guard !rest.isEmpty else { return nil }
                segments.append(String(rest))
            }
        }
        return segments
    }

    /// The element index of a segment, nil for an object key.
    static func index(_ segment: String) -> Int? {
        guard segment.hasPrefix("["), segment.hasSuffix("]") else { return nil }
        return Int(segment.dropFirst().dropLast())
    }

    static func text(_ path: [String]) -> String {
        var out = ""
        for s in path {
            if index(s) != nil || out.isEmpty { out += s } else { out += "." + s }
        }
        return out.isEmpty ? "the body" : out
    }
}

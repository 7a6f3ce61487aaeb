/// Building the admin page's HTML. Every value that comes from configuration, a source, a client or an
/// error goes through `text` (or `attribute`), which escapes `& < > " '`: a connector name or an error
/// message can never become markup.
struct AdminHTML {
    private(set) var out = ""

    static func escape(_ s: some StringProtocol) -> String {
        var r = ""
        r.reserveCapacity(s.utf8.count)
        for c in s.unicodeScalars {
            switch c {
            case "&": r += "&amp;"
            case "<": r += "&lt;"
            case ">": r += "&gt;"
            case "\"": r += "&quot;"
            case "'": r += "&#39;"
            default:
                // Control characters other than tab and newline are shown as their code, never emitted.
                if c.properties.generalCategory == .control && c != "\n" && c != "\t" { r += "&#xFFFD;" } else { r.unicodeScalars.append(c) }
            }
        }
        return r
    }

    /// Markup written by this code (never a value from outside).
    mutating func raw(_ s: String) { out += s }
    /// A value: escaped.
    mutating func text(_ s: some StringProtocol) { out += AdminHTML.escape(s) }
    /// `<tag class="…">value</tag>` with the value escaped.
    mutating func element(_ tag: String, _ value: some StringProtocol, cls: String? = nil) {
        out += "<\(tag)" + (cls.map { " class=\"\($0)\"" } ?? "") + ">" + AdminHTML.escape(value) + "</\(tag)>"
    }

    /// A page: the viewport meta for phones, the stylesheet and script from the admin path (no CDN).
    static func page(title: String, base: String, body: String) -> String {
        """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(escape(title))</title>
        <link rel="icon" href="data:,">
        <link rel="stylesheet" href="\(escape(base))/admin.css">
        <script src="\(escape(base))/admin.js" defer></script>
        </head><body>\(body)</body></html>
        """
    }

    /// A hidden CSRF field and a submit button in a POST form.
    static func form(action: String, csrf: String, fields: [(String, String)] = [], button: String, cls: String = "") -> String {
        var s = "<form method=\"post\" action=\"\(escape(action))\" class=\"inline \(cls)\"><input type=\"hidden\" name=\"csrf\" value=\"\(escape(csrf))\">"
        for (k, v) in fields { s += "<input type=\"hidden\" name=\"\(escape(k))\" value=\"\(escape(v))\">" }
        return s + "<button type=\"submit\">\(escape(button))</button></form>"
    }

    static func number(_ v: Double?, digits: Int = 1, unit: String = "") -> String {
        guard let v, v.isFinite else { return "–" }
        if digits == 0 || v == v.rounded() { return String(Int(v.rounded())) + unit }
        var p = 1.0
        for _ in 0..<digits { p *= 10 }
        return String((v * p).rounded() / p) + unit
    }

    static func bytes(_ n: Int) -> String {
        if n < 1024 { return "\(n) B" }
        if n < 1024 * 1024 { return number(Double(n) / 1024, unit: " KiB") }
        return number(Double(n) / 1_048_576, unit: " MiB")
    }
}

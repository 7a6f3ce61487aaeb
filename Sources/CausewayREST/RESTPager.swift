import CausewayCore
import Foundation
import NIOHTTP1

/// Walks the pages of a list endpoint in the collection's pagination style.
struct RESTPager {
    let collection: RESTCollection
    let baseURL: String
    let path: String
    var params: [String: String]
    let pageSize: Int
    private var page = 0
    private var offset = 0
    private var nextURL: String?
    private var cursor: String?
    private var done = false
    private var started = false

    init(collection: RESTCollection, baseURL: String, path: String, params: [String: String], pageSize: Int? = nil) {
        self.collection = collection
        self.baseURL = baseURL
        self.path = path
        self.params = params
        self.pageSize = pageSize ?? collection.pageSize
    }

    /// Paging by offset after the style's own pages ended early (`fallback`), from this offset.
    private var fallbackOffset: Int?
    private var fallbackReceivedNothing = false

    /// The next URL to fetch, or nil when there are no more pages.
    mutating func next() -> String? {
        guard !done else { return nil }
        var p = params
        if let at = fallbackOffset, let names = collection.paging.fallbackOffset {
            p[names.offsetParam] = String(at)
            p[names.limitParam] = String(pageSize)
            return baseURL + path + RESTPager.queryString(p)
        }
        if started, let nextURL { return absolute(nextURL) }
        switch collection.pagination {
        case .offset(let offsetParam, let limitParam):
            p[offsetParam] = String(offset)
            p[limitParam] = String(pageSize)
        case .page(let pageParam, let sizeParam, let firstPage):
            p[pageParam] = String(firstPage + page)
            p[sizeParam] = String(pageSize)
        case .cursor(_, let param):
            if let cursor { p[param] = cursor }
        case .nextURL, .linkHeader, .none:
            break
        }
        // The declared page size goes with every request this pager builds, whatever the style.
        if let sizeParam = collection.paging.sizeParam, p[sizeParam] == nil { p[sizeParam] = String(pageSize) }
        return baseURL + path + RESTPager.queryString(p)
    }

    /// Whether the pages have ended.
    var isDone: Bool { done }

    /// The API said "no more data" (a declared end answer).
    mutating func end() { done = true }

    /// Goes on reading by offset from `offset` after the pages ended before the API's total: by the style's
    /// own offset for offset paging, by the declared `fallback` parameters otherwise. False when neither
    /// applies, or the last offset page brought nothing (the total cannot be reached).
    mutating func resumeByOffset(at offset: Int) -> Bool {
        guard !fallbackReceivedNothing else { return false }
        if case .offset = collection.pagination, collection.paging.fallbackOffset == nil {
            guard self.offset == offset, started else { return false }
            done = false
            return true
        }
        guard collection.paging.fallbackOffset != nil else { return false }
        fallbackOffset = offset
        done = false
        return true
    }

    /// Records what the last page said about the next one.
    mutating func advance(received: Int, body: JSONValue, headers: HTTPHeaders) {
        started = true
        if fallbackOffset != nil {
            fallbackOffset! += received
            if received == 0 { fallbackReceivedNothing = true }
            if received < pageSize { done = true }
            return
        }
        switch collection.pagination {
        case .offset, .page:
            offset += received
            page += 1
            if received < pageSize { done = true }
        case .cursor(let bodyPath, _):
            if case .string(let c)? = body.value(at: bodyPath), !c.isEmpty { cursor = c } else { done = true }
        case .nextURL(let bodyPath):
            if case .string(let u)? = body.value(at: bodyPath), !u.isEmpty { nextURL = u } else { done = true }
        case .linkHeader:
            if let next = RESTPager.nextLink(headers) { nextURL = next } else { done = true }
        case .none:
            done = true
        }
        if received == 0 {
            done = true
            if case .offset = collection.pagination { fallbackReceivedNothing = true }
        }
    }

    private func absolute(_ url: String) -> String {
        if url.hasPrefix("http://") || url.hasPrefix("https://") { return url }
        if url.hasPrefix("/"), let base = URL(string: baseURL), let scheme = base.scheme, let host = base.host {
            return "\(scheme)://\(host)\(base.port.map { ":\($0)" } ?? "")\(url)"
        }
        return baseURL + "/" + url
    }

    /// RFC 8288: the target of `rel="next"` in `Link` headers.
    static func nextLink(_ headers: HTTPHeaders) -> String? {
        for header in headers[canonicalForm: "Link"] {
            for part in header.split(separator: ",") {
                let pieces = part.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
                guard let target = pieces.first, target.hasPrefix("<"), target.hasSuffix(">") else { continue }
                let isNext = pieces.dropFirst().contains { p in
                    let lower = p.lowercased().replacingOccurrences(of: " ", with: "")
                    return lower == "rel=\"next\"" || lower == "rel=next" || (lower.hasPrefix("rel=\"") && lower.dropFirst(5).dropLast().split(separator: " ").contains("next"))
                }
                if isNext { return String(target.dropFirst().dropLast()) }
            }
        }
        return nil
    }

    static func queryString(_ params: [String: String]) -> String {
        guard !params.isEmpty else { return "" }
        return "?" + params.keys.sorted().map { k in "\(RESTURLEncoding.encode(k))=\(RESTURLEncoding.encode(params[k]!))" }.joined(separator: "&")
    }
}

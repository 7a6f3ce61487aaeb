import CausewayCore
import Foundation

/// How one collection maps onto endpoints.
struct RESTCollection: Sendable {
    enum Pagination: Sendable {
        /// `?offset=&limit=`
        case offset(offsetParam: String, limitParam: String)
        /// `?page=&size=` (pages counted from `firstPage`)
        case page(pageParam: String, sizeParam: String, firstPage: Int)
        /// A cursor token in the body, sent back as a parameter.
        case cursor(bodyPath: [String], param: String)
        /// The next page's URL in the body.
        case nextURL(bodyPath: [String])
        /// RFC 8288 `Link: <…>; rel="next"`.
        case linkHeader
        /// One request returns everything.
        case none
    }

    /// Everything about paging besides the style.
    struct Paging: Sendable {
        var style = Pagination.none
        var pageSize = 100
        /// The page-size parameter sent with every first request (and every request of offset, page and
        /// cursor paging); nil: none is sent (`offset` and `page` always send theirs).
        var sizeParam: String?
        /// Offset parameters to fall back on when link or cursor pages end before the API's `total`.
        var fallbackOffset: (offsetParam: String, limitParam: String)?
        /// Answers after the first page that mean "no more data" (`endOn`).
        var end = PageEnd()
    }

    /// Which answers to a page after the first are the end of the data rather than an error.
    struct PageEnd: Sendable {
        var statuses: Set<Int> = []
        var empty = false
        var nonJSON = false

        var isDeclared: Bool { !statuses.isEmpty || empty || nonJSON }
    }

    enum DateFormat: String, Sendable, CaseIterable { case iso8601, epochSeconds, epochMillis }

    struct Field: Sendable {
        var name: String
        var path: [String]
        var type: FieldType
        var dateFormat: DateFormat
    }

    struct Endpoint: Sendable {
        var method: String
        var path: String
        var query: [String: String]
        /// A JSON body around the record (see RESTBodyTemplate; nil: the record is the body).
        var bodyTemplate: JSONValue? = nil
    }

    /// `order` the API applies: a parameter, field → API name, and how descending is written.
    struct SortParam: Sendable {
        enum Direction: Sendable {
            /// `sort=-title`: a prefix on the name (ascending may have one too, e.g. `+`).
            case prefix(descending: String, ascending: String)
            /// `sort=title:desc`: a suffix on the name.
            case suffix(descending: String, ascending: String)
            /// `_sort=title` / `_sort_desc=title`: descending names go in another parameter.
            case separateParam(descending: String)
            /// `sort=title&order=desc`: a direction parameter beside the name.
            case directionParam(param: String, descending: String, ascending: String)
        }

        var param: String
        var fields: [String: String]
        var direction: Direction

        /// The query parameters for one sort key.
        func parameters(_ apiName: String, descending: Bool) -> [String: String] {
            switch direction {
            case .prefix(let d, let a): return [param: (descending ? d : a) + apiName]
            case .suffix(let d, let a): return [param: apiName + (descending ? d : a)]
            case .separateParam(let d): return [descending ? d : param: apiName]
            case .directionParam(let p, let d, let a): return [param: apiName, p: descending ? d : a]
            }
        }
    }

    /// A `where` condition the upstream evaluates: field, operator → query parameter.
    struct FilterParam: Sendable, Hashable {
        var field: String
        var op: FilterOperator
        var param: String
    }

    var schema: CollectionSchema
    var list: Endpoint
    var get: Endpoint?
    var create: Endpoint?
    var update: Endpoint?
    var delete: Endpoint?
    var recordsPath: [String]
    /// Where the one record is in the answers of get, create and update (`record`; default: `records`,
    /// a one-element array there taken as its element).
    var recordPath: [String]?
    var totalPath: [String]?
    var idPath: [String]
    var fields: [Field]
    var paging: Paging
    var filters: [FilterParam]
    var maxScan: Int
    /// The list endpoint returns records in ascending objectId order (then pages can stop early).
    var listedByObjectId: Bool
    var sort: SortParam?
    /// The API's filters are exact (never looser than Parse's), so its `total` may answer a filtered count.
    var exactFilters: Bool

    var pagination: Pagination { paging.style }
    var pageSize: Int { paging.pageSize }

    /// The list parameter that selects one record by id (a declared `equal` filter on objectId).
    var idFilter: FilterParam? { filters.first { $0.field == "objectId" && $0.op == .equal } }
}

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
        case cursor(bodyPath: String, param: String)
        /// The next page's URL in the body.
        case nextURL(bodyPath: String)
        /// RFC 8288 `Link: <…>; rel="next"`.
        case linkHeader
        /// One request returns everything.
        case none
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
        /// A JSON body around the record: the string "{record}" stands for it (nil: the record is the body).
        var bodyTemplate: JSONValue? = nil
    }

    /// `order` the API applies: a parameter, field → API name, and how descending is written.
    struct SortParam: Sendable {
        var param: String
        var fields: [String: String]
        var descendingPrefix: String
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
    var totalPath: [String]?
    var idPath: [String]
    var fields: [Field]
    var pagination: Pagination
    var pageSize: Int
    var filters: [FilterParam]
    var maxScan: Int
    /// The list endpoint returns records in ascending objectId order (then pages can stop early).
    var listedByObjectId: Bool
    var sort: SortParam?
}

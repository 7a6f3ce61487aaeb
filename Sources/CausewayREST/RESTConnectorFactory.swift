import CausewayCore

/// Reads `kind: rest` connector files.
public struct RESTConnectorFactory: ConnectorFactory {
    public let kind = "rest"
    public init() {}

    public func makeConnector(name: String, reader r: YAMLReader, baseDirectory: String) throws(ConfigError) -> any Connector {
        let settings = try RESTSettings.read(r, baseDirectory: baseDirectory)
        var collections: [RESTCollection] = []
        for entry in try r.entries("collections") {
            let c = try r.reader(for: entry)
            var schema = try CollectionSchemaReader.read(c, className: entry.name, connectorName: name, classLocation: entry.location, idColumnDefault: "id")
            schema.objectId.generation = .source  // the API makes ids
            func endpoint(_ key: String, defaultMethod: String) throws(ConfigError) -> RESTCollection.Endpoint? {
                if !c.isMapping(key), let path = try c.optionalString(key) {
                    guard path.hasPrefix("/") else { throw c.error(key, "paths start with / (they are appended to baseURL)") }
                    return RESTCollection.Endpoint(method: defaultMethod, path: path, query: [:])
                }
                guard let e = try c.optionalChild(key) else { return nil }
                let method = (try e.optionalString("method") ?? defaultMethod).uppercased()
                guard ["GET", "POST", "PUT", "PATCH", "DELETE"].contains(method) else { throw e.error("method", "expected GET, POST, PUT, PATCH or DELETE, found '\(method)'") }
                let path = try e.string("path")
                guard path.hasPrefix("/") else { throw e.error("path", "paths start with / (they are appended to baseURL)") }
                var query: [String: String] = [:]
                if let q = try e.optionalChild("query") {
                    for k in q.keys { query[k] = try q.string(k) }
                    try q.finish()
                }
                let body = e.optionalJSON("body")
                if let body, !RESTCollection.containsRecordPlaceholder(body) {
                    throw e.error("body", "the body template must contain the string \"{record}\" where the record goes")
                }
                try e.finish()
                return RESTCollection.Endpoint(method: method, path: path, query: query, bodyTemplate: body)
            }
            guard let list = try endpoint("list", defaultMethod: "GET") else { throw c.error("list", "missing key 'list': the endpoint that lists records, e.g. list: /tickets") }
            let get = try endpoint("get", defaultMethod: "GET")
            let create = try endpoint("create", defaultMethod: "POST")
            let update = try endpoint("update", defaultMethod: "PATCH")
            let delete = try endpoint("delete", defaultMethod: "DELETE")
            for (key, e) in [("get", get), ("update", update), ("delete", delete)] where e != nil && !(e!.path.contains("{objectId}")) {
                throw c.error(key, "the path must contain {objectId}")
            }
            if !schema.readOnly && create == nil && update == nil && delete == nil { schema.readOnly = true }
            let records = try c.optionalString("records") ?? ""
            let total = try c.optionalString("total")
            var pagination = RESTCollection.Pagination.none
            var pageSize = 100
            if let p = try c.optionalChild("pagination") {
                let style = try p.string("style")
                switch style {
                case "offset": pagination = .offset(offsetParam: try p.optionalString("offsetParam") ?? "offset", limitParam: try p.optionalString("limitParam") ?? "limit")
                case "page": pagination = .page(pageParam: try p.optionalString("pageParam") ?? "page", sizeParam: try p.optionalString("sizeParam") ?? "size",
                                                firstPage: try p.int("firstPage", default: 1, range: 0...1))
                case "cursor": pagination = .cursor(bodyPath: try p.string("cursorPath"), param: try p.optionalString("cursorParam") ?? "cursor")
                case "nextURL": pagination = .nextURL(bodyPath: try p.string("nextPath"))
                case "linkHeader": pagination = .linkHeader
                case "none": pagination = .none
                default: throw p.error("style", "expected offset, page, cursor, nextURL, linkHeader or none, found '\(style)'")
                }
                pageSize = try p.int("pageSize", default: 100, range: 1...10_000)
                if case .cursor = pagination { p.accept("sizeParam") }
                try p.finish()
            }
            var dateFormats: [String: RESTCollection.DateFormat] = [:]
            if let d = try c.optionalChild("dateFormats") {
                for k in d.keys {
                    guard let f = try d.choice(k, default: nil, RESTCollection.DateFormat.self) else { continue }
                    dateFormats[k] = f
                }
                try d.finish()
            }
            var filters: [RESTCollection.FilterParam] = []
            if let f = try c.optionalChild("filters") {
                for field in f.keys {
                    guard schema.type(of: field) != nil else { throw f.error(field, "'\(field)' is not a field of \(entry.name)") }
                    let ops = try f.child(field)
                    for opName in ops.keys {
                        guard let op = FilterOperator(rawValue: opName), [.equal, .notEqual, .lessThan, .lessThanOrEqual, .greaterThan, .greaterThanOrEqual, .isIn].contains(op) else {
                            throw ops.error(opName, "expected one of equal, notEqual, lessThan, lessThanOrEqual, greaterThan, greaterThanOrEqual, isIn")
                        }
                        filters.append(RESTCollection.FilterParam(field: field, op: op, param: try ops.string(opName)))
                    }
                    try ops.finish()
                }
                try f.finish()
            }
            let maxScan = try c.int("maxScan", default: 10_000, range: 1...10_000_000)
            var sort: RESTCollection.SortParam?
            if let so = try c.optionalChild("sort") {
                var names: [String: String] = [:]
                if let f = try so.optionalChild("fields") {
                    for k in f.keys {
                        guard schema.type(of: k) != nil else { throw f.error(k, "'\(k)' is not a field of \(entry.name)") }
                        names[k] = try f.string(k)
                    }
                    try f.finish()
                }
                sort = .init(param: try so.optionalString("param") ?? "sort", fields: names, descendingPrefix: try so.optionalString("descendingPrefix") ?? "-")
                try so.finish()
            }
            let listOrder = try c.optionalString("listOrder") ?? "unordered"
            guard ["objectId", "unordered"].contains(listOrder) else { throw c.error("listOrder", "expected objectId or unordered, found '\(listOrder)'") }
            var fields: [RESTCollection.Field] = []
            for f in schema.fields.values.sorted(by: { $0.name < $1.name }) {
                fields.append(.init(name: f.name, path: f.column.split(separator: ".").map(String.init), type: f.type, dateFormat: dateFormats[f.name] ?? .iso8601))
            }
            for (builtin, column) in [("createdAt", schema.createdAtColumn), ("updatedAt", schema.updatedAtColumn)] {
                if let column { fields.append(.init(name: builtin, path: column.split(separator: ".").map(String.init), type: .date, dateFormat: dateFormats[builtin] ?? .iso8601)) }
            }
            try c.finish()
            collections.append(RESTCollection(schema: schema, list: list, get: get, create: create, update: update, delete: delete,
                                              recordsPath: records.isEmpty ? [] : records.split(separator: ".").map(String.init),
                                              totalPath: total.map { $0.split(separator: ".").map(String.init) },
                                              idPath: schema.objectId.column.split(separator: ".").map(String.init),
                                              fields: fields, pagination: pagination, pageSize: pageSize, filters: filters, maxScan: maxScan,
                                              listedByObjectId: listOrder == "objectId", sort: sort))
        }
        return RESTConnector(name: name, settings: settings, collections: collections)
    }
}

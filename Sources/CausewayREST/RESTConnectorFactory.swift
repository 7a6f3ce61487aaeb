import CausewayCore

/// Reads `kind: rest` connector files. Each part of a file is read on its own (`YAMLReader.collect`), so
/// one pass reports every problem in it.
public struct RESTConnectorFactory: ConnectorFactory {
    public let kind = "rest"
    /// The circuit breakers' clock (tests pass a `ManualClock`).
    let clock: RESTClock

    public init() { clock = RESTClock(ContinuousClock()) }

    public init<C: Clock<Duration>>(clock: C) { self.clock = RESTClock(clock) }

    public func makeConnector(name: String, reader r: YAMLReader, baseDirectory: String) throws(ConfigError) -> any Connector {
        let settings = try RESTSettings.read(r, baseDirectory: baseDirectory)
        var collections: [RESTCollection] = []
        for entry in try r.entries("collections") {
            let read = try r.collect { () throws(ConfigError) in
                try collection(try r.reader(for: entry), className: entry.name, location: entry.location, connector: name)
            }
            if let read { collections.append(read) }
        }
        return RESTConnector(name: name, settings: settings, collections: collections, clock: clock)
    }

    private func collection(_ c: YAMLReader, className: String, location: ConfigLocation, connector name: String) throws(ConfigError) -> RESTCollection {
        var schema = try CollectionSchemaReader.read(c, className: className, connectorName: name, classLocation: location, idColumnDefault: "id")
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
            if let body, !RESTBodyTemplate.placesRecord(body) {
                throw e.error("body", "the body template must place the record: the value \"{record}\", or the key \"{record}\" to merge its fields into an object")
            }
            try e.finish()
            return RESTCollection.Endpoint(method: method, path: path, query: query, bodyTemplate: body)
        }
        func part<T>(_ body: () throws(ConfigError) -> T) throws(ConfigError) -> T? { try c.collect(body) }
        func path(_ key: String) throws(ConfigError) -> [String]? {
            guard let text = try c.optionalString(key) else { return nil }
            guard let p = RESTPath.parse(text) else { throw c.error(key, "expected a path such as data.items or rows[0], found '\(text)'") }
            return p
        }

        let list = try part { () throws(ConfigError) -> RESTCollection.Endpoint in
            guard let list = try endpoint("list", defaultMethod: "GET") else { throw c.error("list", "missing key 'list': the endpoint that lists records, e.g. list: /tickets") }
            return list
        }
        var endpoints: [String: RESTCollection.Endpoint] = [:]
        for (key, method) in [("get", "GET"), ("create", "POST"), ("update", "PATCH"), ("delete", "DELETE")] {
            guard let e = try part({ () throws(ConfigError) in try endpoint(key, defaultMethod: method) }), let e else { continue }
            if key != "create" && !e.path.contains("{objectId}") {
                _ = try part { () throws(ConfigError) in throw c.error(key, "the path must contain {objectId}") }
                continue
            }
            endpoints[key] = e
        }
        if !schema.readOnly && endpoints["create"] == nil && endpoints["update"] == nil && endpoints["delete"] == nil { schema.readOnly = true }
        let records = try part { () throws(ConfigError) in try path("records") } ?? nil
        let record = try part { () throws(ConfigError) in try path("record") } ?? nil
        let total = try part { () throws(ConfigError) in try path("total") } ?? nil
        let paging = try part { () throws(ConfigError) in try Self.paging(c) } ?? RESTCollection.Paging()
        var dateFormats: [String: RESTCollection.DateFormat] = [:]
        _ = try part { () throws(ConfigError) in
            if let d = try c.optionalChild("dateFormats") {
                for k in d.keys {
                    guard let f = try d.choice(k, default: nil, RESTCollection.DateFormat.self) else { continue }
                    dateFormats[k] = f
                }
                try d.finish()
            }
        }
        var filters: [RESTCollection.FilterParam] = []
        if let f = try part({ () throws(ConfigError) in try c.optionalChild("filters") }), let f {
            for field in f.keys {
                f.accept(field)  // reported below when wrong, never also as unknown
                _ = try f.collect { () throws(ConfigError) in
                    guard schema.type(of: field) != nil else { throw f.error(field, "'\(field)' is not a field of \(className)") }
                    let ops = try f.child(field)
                    for opName in ops.keys {
                        ops.accept(opName)
                        _ = try ops.collect { () throws(ConfigError) in
                            guard let op = FilterOperator(rawValue: opName), [.equal, .notEqual, .lessThan, .lessThanOrEqual, .greaterThan, .greaterThanOrEqual, .isIn].contains(op) else {
                                throw ops.error(opName, "expected one of equal, notEqual, lessThan, lessThanOrEqual, greaterThan, greaterThanOrEqual, isIn")
                            }
                            filters.append(RESTCollection.FilterParam(field: field, op: op, param: try ops.string(opName)))
                        }
                    }
                    try ops.finish()
                }
            }
            try f.finish()
        }
        let maxScan = try part { () throws(ConfigError) in try c.int("maxScan", default: 10_000, range: 1...10_000_000) } ?? 10_000
        let exactFilters = try part { () throws(ConfigError) in try c.bool("exactFilters", default: false) } ?? false
        let sort = try part { () throws(ConfigError) in try Self.sort(c, schema: schema, className: className) } ?? nil
        let listOrder = try part { () throws(ConfigError) -> String in
            let listOrder = try c.optionalString("listOrder") ?? "unordered"
            guard ["objectId", "unordered"].contains(listOrder) else { throw c.error("listOrder", "expected objectId or unordered, found '\(listOrder)'") }
            return listOrder
        } ?? "unordered"
        var fields: [RESTCollection.Field] = []
        for f in schema.fields.values.sorted(by: { $0.name < $1.name }) {
            fields.append(.init(name: f.name, path: f.column.split(separator: ".").map(String.init), type: f.type, dateFormat: dateFormats[f.name] ?? .iso8601))
        }
        for (builtin, column) in [("createdAt", schema.createdAtColumn), ("updatedAt", schema.updatedAtColumn)] {
            if let column { fields.append(.init(name: builtin, path: column.split(separator: ".").map(String.init), type: .date, dateFormat: dateFormats[builtin] ?? .iso8601)) }
        }
        try c.finish()
        guard let list else { throw c.error("list", "missing key 'list': the endpoint that lists records, e.g. list: /tickets") }
        return RESTCollection(schema: schema, list: list, get: endpoints["get"], create: endpoints["create"], update: endpoints["update"], delete: endpoints["delete"],
                              recordsPath: records ?? [], recordPath: record, totalPath: total,
                              idPath: schema.objectId.column.split(separator: ".").map(String.init),
                              fields: fields, paging: paging, filters: filters, maxScan: maxScan,
                              listedByObjectId: listOrder == "objectId", sort: sort, exactFilters: exactFilters)
    }

    /// `pagination`: the style and its parameters, `pageSize`, `sizeParam` (any style), `fallback`
    /// (offset parameters for when link or cursor pages end before `total`) and `endOn`.
    static func paging(_ c: YAMLReader) throws(ConfigError) -> RESTCollection.Paging {
        var paging = RESTCollection.Paging()
        guard let p = try c.optionalChild("pagination") else { return paging }
        func path(_ key: String) throws(ConfigError) -> [String] {
            let text = try p.string(key)
            guard let parsed = RESTPath.parse(text), !parsed.isEmpty else { throw p.error(key, "expected a path such as links.next, found '\(text)'") }
            return parsed
        }
        let style = try p.string("style")
        switch style {
        case "offset": paging.style = .offset(offsetParam: try p.optionalString("offsetParam") ?? "offset", limitParam: try p.optionalString("limitParam") ?? "limit")
        case "page":
            let size = try p.optionalString("sizeParam") ?? "size"
            paging.style = .page(pageParam: try p.optionalString("pageParam") ?? "page", sizeParam: size, firstPage: try p.int("firstPage", default: 1, range: 0...1))
        case "cursor": paging.style = .cursor(bodyPath: try path("cursorPath"), param: try p.optionalString("cursorParam") ?? "cursor")
        case "nextURL": paging.style = .nextURL(bodyPath: try path("nextPath"))
        case "linkHeader": paging.style = .linkHeader
        case "none": paging.style = .none
        default: throw p.error("style", "expected offset, page, cursor, nextURL, linkHeader or none, found '\(style)'")
        }
        paging.pageSize = try p.int("pageSize", default: 100, range: 1...10_000)
        if case .page = paging.style {} else { paging.sizeParam = try p.optionalString("sizeParam") }
        if let f = try p.optionalChild("fallback") {
            paging.fallbackOffset = (try f.optionalString("offsetParam") ?? "offset", try f.optionalString("limitParam") ?? "limit")
            try f.finish()
        }
        for token in try p.optionalStringList("endOn") ?? [] {
            switch token {
            case "empty": paging.end.empty = true
            case "nonJSON": paging.end.nonJSON = true
            default:
                guard let status = Int(token), (300...599).contains(status) else {
                    throw p.error("endOn", "expected empty, nonJSON or HTTP statuses such as 404, found '\(token)'")
                }
                paging.end.statuses.insert(status)
            }
        }
        try p.finish()
        return paging
    }

    /// `sort`: the parameter, field names, and one way of writing descending order.
    static func sort(_ c: YAMLReader, schema: CollectionSchema, className: String) throws(ConfigError) -> RESTCollection.SortParam? {
        guard let so = try c.optionalChild("sort") else { return nil }
        var names: [String: String] = [:]
        if let f = try so.optionalChild("fields") {
            for k in f.keys {
                guard schema.type(of: k) != nil else { throw f.error(k, "'\(k)' is not a field of \(className)") }
                names[k] = try f.string(k)
            }
            try f.finish()
        }
        let prefix = try so.optionalString("descendingPrefix"), suffix = try so.optionalString("descendingSuffix")
        let separate = try so.optionalString("descendingParam"), directionParam = try so.optionalString("directionParam")
        let given = [("descendingPrefix", prefix), ("descendingSuffix", suffix), ("descendingParam", separate), ("directionParam", directionParam)].filter { $0.1 != nil }
        if given.count > 1 {
            throw so.error(given[1].0, "give one way of writing descending order, not both \(given[0].0) and \(given[1].0)")
        }
        let direction: RESTCollection.SortParam.Direction
        if let suffix {
            direction = .suffix(descending: suffix, ascending: try so.optionalString("ascendingSuffix") ?? "")
        } else if let separate {
            direction = .separateParam(descending: separate)
        } else if let directionParam {
            direction = .directionParam(param: directionParam, descending: try so.optionalString("descendingValue") ?? "desc",
                                        ascending: try so.optionalString("ascendingValue") ?? "asc")
        } else {
            direction = .prefix(descending: prefix ?? "-", ascending: try so.optionalString("ascendingPrefix") ?? "")
        }
        let sort = RESTCollection.SortParam(param: try so.optionalString("param") ?? "sort", fields: names, direction: direction)
        try so.finish()
        return sort
    }
}

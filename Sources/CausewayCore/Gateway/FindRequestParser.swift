/// Turns the parameters of a Parse `find` request (URL query values or the JSON body of a
/// `POST` with `_method: GET`) into a validated `FindQuery`.
public struct FindRequestParser: Sendable {
    public let schema: CollectionSchema
    public let limits: GatewayConfig.Limits

    public init(schema: CollectionSchema, limits: GatewayConfig.Limits) {
        self.schema = schema
        self.limits = limits
    }

    public static let allowedParameters: Set<String> = [
        "skip", "limit", "order", "count", "keys", "excludeKeys", "include", "includeAll", "where",
        "readPreference", "includeReadPreference", "subqueryReadPreference", "hint", "explain", "comment",
        "redirectClassNameForKey",
    ]

    /// Parameters that Parse accepts but that have no meaning for Causeway's sources; they are ignored.
    public static let ignoredParameters: Set<String> = [
        "readPreference", "includeReadPreference", "subqueryReadPreference", "hint", "comment",
    ]

    public func parse(_ params: [String: JSONValue]) throws(GatewayError) -> FindQuery {
        for key in params.keys.sorted() where !FindRequestParser.allowedParameters.contains(key) {
            throw GatewayError(.invalidQuery, "Invalid parameter for query: \(key)")
        }
        for unsupported in ["explain", "redirectClassNameForKey"] where params[unsupported] != nil {
            throw GatewayError(.invalidQuery, "The query parameter \(unsupported) is not supported by Causeway.")
        }
        var query = FindQuery(limit: limits.defaultLimit)
        if let whereValue = params["where"] {
            let json: JSONValue
            switch whereValue {
            case .string(let text):
                do { json = try JSONParser.parse(text) } catch {
                    throw GatewayError(.invalidJSON, "where is not valid JSON: \(error.description)")
                }
            default:
                json = whereValue
            }
            try limits.whereClause.check(json)
            if SubqueryRewriter.contains(json) || Gateway.mentionsRelation(json, schema) {
                try limits.federation.checkSubqueryCount(json, schema: schema)
                query.pendingWhere = json  // parsed once the gateway has run its sub-queries for the caller
            } else {
                query.filter = try QueryParser(schema: schema).parse(json)
            }
        }
        if let v = params["limit"] {
            guard let n = integer(v), n >= 0 else { throw GatewayError(.invalidQuery, "Invalid limit: expected a non-negative integer.") }
            query.limit = min(n, limits.maxLimit)
        }
        if let v = params["skip"] {
            guard let n = integer(v), n >= 0 else { throw GatewayError(.invalidQuery, "Invalid skip: expected a non-negative integer.") }
            guard n <= limits.maxSkip else {
                throw GatewayError(.invalidQuery, "Invalid skip: at most \(limits.maxSkip) (limits.maxSkip); to page further, ask for the objects after the last one seen with a where on the sort values.")
            }
            query.skip = n
        }
        if let v = params["count"] {
            switch v {
            case .bool(let b): query.count = b
            case .int(let i): query.count = i != 0
            case .string(let s): query.count = s == "1" || s == "true"
            default: throw GatewayError(.invalidQuery, "Invalid count: expected 1 or true.")
            }
        }
        if let v = params["order"] {
            for raw in try list(v, "order") {
                let descending = raw.hasPrefix("-")
                let path = descending ? String(raw.dropFirst()) : raw
                guard QueryParser.isValidKeyPath(path) else { throw GatewayError(.invalidKeyName, "Invalid key name: \(path)") }
                guard schema.resolve(path: path) != nil else {
                    throw GatewayError(.invalidQuery, "Cannot sort by '\(path)': class \(schema.className) has no such field.")
                }
                if let type = schema.type(of: path), !type.isOrdered {
                    throw GatewayError(.invalidQuery, "Cannot sort by '\(path)': \(type.parseName) fields have no order.")
                }
                query.sort.append(.field(path, descending: descending))
            }
        }
        if query.sort.isEmpty, let near = FindRequestParser.nearSphere(in: query.filter) {
            query.sort = [.distance(field: near.field, from: near.point)]
        }
        if let v = params["keys"] { query.keys = try keyPaths(v, "keys") }
        if let v = params["excludeKeys"] { query.excludeKeys = try keyPaths(v, "excludeKeys") }
        let (include, extraKeys) = try IncludePath.paths(include: params["include"], includeAll: IncludePath.flag(params["includeAll"]),
                                                         keys: query.keys, schema: schema, limits: limits.federation)
        query.include = include
        if !extraKeys.isEmpty { query.keys?.formUnion(extraKeys) }
        return query
    }

    /// The first top-level `$nearSphere`, which implies nearest-first order.
    static func nearSphere(in filter: QueryFilter?) -> (field: String, point: GeoPoint)? {
        for conjunct in filter?.conjuncts ?? [] {
            if case .field(let path, .nearSphere(let point, _)) = conjunct { return (path, point) }
        }
        return nil
    }

    private func integer(_ v: JSONValue) -> Int? {
        switch v {
        case .int(let i): return Int(exactly: i)
        case .double(let d): return d == d.rounded() ? Int(exactly: d) : nil
        case .string(let s): return Int(s.trimmingSpaces())
        default: return nil
        }
    }

    private func keyPaths(_ v: JSONValue, _ name: String) throws(GatewayError) -> Set<String> {
        var keys: Set<String> = []
        for key in try list(v, name) {
            guard QueryParser.isValidKeyPath(key) else { throw GatewayError(.invalidKeyName, "Invalid key name: \(key)") }
            keys.insert(key)
        }
        return keys
    }

    private func list(_ v: JSONValue, _ name: String) throws(GatewayError) -> [String] { try Self.list(v, name) }

    /// A comma-separated string, a JSON array of strings, or such an array written as a string (`keys`,
    /// `order`, `include`, `excludeKeys` all read lists this way).
    static func list(_ v: JSONValue, _ name: String) throws(GatewayError) -> [String] {
        switch v {
        case .string(let s):
            if s.hasPrefix("["), case .array(let items)? = try? JSONParser.parse(s) {
                return try list(.array(items), name)
            }
            return s.split(separator: ",").map { String($0).trimmingSpaces() }.filter { !$0.isEmpty }
        case .array(let items):
            var out: [String] = []
            for item in items {
                guard case .string(let s) = item else { throw GatewayError(.invalidQuery, "\(name) must list strings.") }
                out.append(contentsOf: s.split(separator: ",").map { String($0).trimmingSpaces() }.filter { !$0.isEmpty })
            }
            return out
        default:
            throw GatewayError(.invalidQuery, "\(name) must be a comma-separated string or an array of strings.")
        }
    }
}

extension String {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while s.first == " " { s = s.dropFirst() }
        while s.last == " " { s = s.dropLast() }
        return String(s)
    }
}

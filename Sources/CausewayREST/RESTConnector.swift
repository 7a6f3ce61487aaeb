import AsyncHTTPClient
import CausewayCore
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL
import Synchronization

/// Serves records of existing HTTP/JSON APIs as collections, mapped only in YAML.
///
/// Declared filters become query parameters; every fetched record is still checked against the whole
/// pushed filter in memory (an API's filter may be looser than Parse's), and pages are fetched only
/// until the requested page is complete. A query that would scan more than `maxScan` records fails
/// with a clear error instead of answering partially.
public final class RESTConnector: Connector {
    public let name: String
    public let kind = "rest"
    let settings: RESTSettings
    let byClass: [String: RESTCollection]
    private let clientBox = Mutex<HTTPClient?>(nil)
    private let loggerBox = Mutex(Logger(label: "causeway.rest"))
    /// At most `maxConcurrency` requests in flight; the rest wait their turn (first come, first served).
    let limiter: AsyncSemaphore
    let oauth: OAuth2TokenSource?
    /// Fails requests at once while the API is down (RESTCircuitBreaker).
    let breaker: RESTCircuitBreaker
    /// The breaker's clock; the background probe sleeps on it through cool-downs.
    let clock: RESTClock
    /// Accept, User-Agent and static credentials, made once (RESTConnector+HTTP).
    let fixedHeaders: HTTPHeaders

    init(name: String, settings: RESTSettings, collections: [RESTCollection], clock: RESTClock = RESTClock(ContinuousClock())) {
        self.name = name
        self.settings = settings
        self.clock = clock
        fixedHeaders = RESTConnector.fixedHeaders(settings, name: name)
        breaker = RESTCircuitBreaker(settings: settings.circuitBreaker, now: clock.now)
        var map: [String: RESTCollection] = [:]
        for c in collections { map[c.schema.className] = c }
        byClass = map
        limiter = AsyncSemaphore(permits: settings.maxConcurrency)
        if case .oauth2(let url, let id, let secret, let scope) = settings.auth {
            oauth = OAuth2TokenSource(tokenURL: url, clientId: id, clientSecret: secret, scope: scope, connector: name)
        } else {
            oauth = nil
        }
    }

    /// Time since `clock` was read first: the breaker's clock.
    public static func stopwatch<C: Clock<Duration>>(_ clock: C) -> @Sendable () -> Duration {
        let origin = clock.now
        return { origin.duration(to: clock.now) }
    }

    /// With `forwardIdentity`, the API sees who asks, so its answers are cached per user.
    public var answersDependOnCaller: Bool { settings.forwardIdentityHeader != nil }

    public var collections: [CollectionSchema] { byClass.values.map(\.schema).sorted { $0.className < $1.className } }

    public var capabilities: ConnectorCapabilities {
        let ops = Set(byClass.values.flatMap { $0.filters.map(\.op) })
        let writes = byClass.values.contains { $0.create != nil || $0.update != nil || $0.delete != nil }
        // Sorting and paging are done here: in the API's own order (objectId, when declared) pages stop as
        // soon as the requested page is complete; any other order reads every match (up to maxScan) first.
        return ConnectorCapabilities(filterOperators: ops, nestedPaths: false, sorting: true, distanceSorting: false, paging: true,
                                     projection: false, counting: false, updateOperations: [.set, .delete], writes: writes)
    }

    public func canPushDown(_ path: String, _ condition: FieldCondition, in collection: CollectionSchema) -> Bool {
        guard let c = byClass[collection.className] else { return false }
        return c.filters.contains { $0.field == path && $0.op == condition.filterOperator } && RESTConnector.parameterValue(condition) != nil
    }

    var logger: Logger { loggerBox.withLock { $0 } }

    // MARK: Lifecycle

    public func start(logger: Logger) async throws {
        loggerBox.withLock { $0 = logger }
        let client = try makeClient()
        let previous = clientBox.withLock { c -> HTTPClient? in
            defer { c = client }
            return c
        }
        try? await previous?.shutdown()
    }

    deinit {
        // Dropped without `shutdown` (a failed start, an aborted test): close the client rather than trip
        // AsyncHTTPClient's leak check, which stops the process in debug builds.
        if let client = clientBox.withLock({ $0 }) { client.shutdown().whenComplete { _ in } }
    }

    func makeClient() throws -> HTTPClient {
        var tls = TLSConfiguration.makeClientConfiguration()
        if let ca = settings.caFile { tls.trustRoots = .file(ca) }
        if settings.insecureSkipVerify { tls.certificateVerification = .none }
        if let cert = settings.clientCertificateFile, let key = settings.clientKeyFile {
            tls.certificateChain = try NIOSSLCertificate.fromPEMFile(cert).map { .certificate($0) }
            tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
        }
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.timeout = .init(connect: .milliseconds(Int64(settings.connectTimeoutMs)), read: .milliseconds(Int64(settings.requestTimeoutMs)))
        configuration.redirectConfiguration = .disallow
        // No request spans: Causeway installs no tracer, and the no-op one still cost about 3% of an
        // uncached get (span attributes built per request).
        configuration.tracing.tracer = nil
        // A refused connection fails the request at once (AsyncHTTPClient would otherwise retry connecting
        // until the request's deadline); `send` decides what is worth repeating.
        configuration.connectionPool.retryConnectionEstablishment = false
        // As many connections as requests may be in flight (AsyncHTTPClient's default is 8 per host, so
        // with a larger maxConcurrency requests would queue inside the client).
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = settings.maxConcurrency
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    public func shutdown() async {
        let client = clientBox.withLock { c -> HTTPClient? in defer { c = nil }; return c }
        try? await client?.shutdown()
    }

    func client() throws -> HTTPClient {
        guard let c = clientBox.withLock({ $0 }) else { throw GatewayError(.connectionFailed, "Connector '\(name)' is not started.") }
        return c
    }

    func collection(_ schema: CollectionSchema) throws -> RESTCollection {
        guard let c = byClass[schema.className] else { throw GatewayError(.invalidClassName, "Class \(schema.className) is not served by connector \(name).") }
        return c
    }

    // MARK: Reads

    public func find(_ query: SourceQuery, in schema: CollectionSchema, context: ConnectorContext) async throws -> [ParseObject] {
        let c = try collection(schema)
        var params: [String: String] = c.list.query
        for conjunct in query.filter?.conjuncts ?? [] {
            if case .field(let path, let condition) = conjunct, let f = c.filters.first(where: { $0.field == path && $0.op == condition.filterOperator }),
               let value = RESTConnector.parameterValue(condition) {
                params[f.param] = value
            }
        }
        var nativeOrder = c.listedByObjectId && (query.sort.isEmpty || query.sort == [.field("objectId", descending: false)])
        // One sort key the API can apply: it sorts, and pages can stop early (ties keep the API's order).
        if !nativeOrder, let sort = c.sort, query.sort.count == 1, case .field(let field, let descending) = query.sort[0], let apiName = sort.fields[field] {
            params.merge(sort.parameters(apiName, descending: descending)) { $1 }
            nativeOrder = true
        }
        let wanted = nativeOrder ? query.limit.map { query.skip + $0 } : nil
        var matches: [ParseObject] = []
        try await readList(c, params: params, context: context) { records in
            for record in records {
                let object = try c.object(from: record, connector: name)
                if QueryEvaluator.matches(object, query.filter) { matches.append(object) }
            }
            return wanted.map { matches.count < $0 } ?? true
        }
        if !nativeOrder { matches = QueryEvaluator.sort(matches, by: query.sort, numericIds: schema.objectId.type == .integer) }
        let start = min(query.skip, matches.count)
        let end = query.limit.map { min(start + $0, matches.count) } ?? matches.count
        return Array(matches[start..<end])
    }

    /// Reads the list endpoint page by page, handing each page's records to `visit` until it answers false
    /// (the caller has what it needs) or the pages end. Pages never end silently short: when the first page
    /// reported a `total` and the pages end before it, paging goes on by offset where `fallback` is declared,
    /// and fails with a clear error otherwise. More than `maxScan` records fail too.
    func readList(_ c: RESTCollection, params: [String: String], context: ConnectorContext?, pageSize: Int? = nil,
                  via given: HTTPClient? = nil, visit: ([JSONValue]) throws -> Bool) async throws {
        var pager = RESTPager(collection: c, baseURL: settings.baseURL, path: c.list.path, params: params, pageSize: pageSize)
        var scanned = 0
        var total: Int?
        var first = true
        while let request = pager.next() {
            let reply: RESTReply
            do {
                reply = try await send(method: "GET", url: request, body: nil, idempotent: true, context: context, via: given,
                                       endOfData: first || !c.paging.end.isDeclared ? nil : c.paging.end)
            } catch let error as GatewayError where error.code == .objectNotFound {
                // A list endpoint that does not exist is a mapping problem, not a missing object.
                throw GatewayError(.internalServerError,
                                   first ? "The list endpoint of \(c.schema.className) (connector \(name)) answered HTTP 404; check `list` in the connector file."
                                         : "The list endpoint of \(c.schema.className) (connector \(name)) answered HTTP 404 for a page after the first; if that is how the API ends its data, declare `pagination.endOn: [404]`.",
                                   detail: error.detail)
            }
            guard let body = reply.json else {
                pager.end()
                if let total, scanned < total { try resumeOrFail() } else { break }
                continue
            }
            if first, let path = c.totalPath { total = RESTConnector.count(body.value(at: path)) }
            first = false
            let records = try c.records(in: body, connector: name)
            scanned += records.count
            guard try visit(records) else { return }
            if scanned > c.maxScan {
                throw GatewayError(.invalidQuery, "This query would read more than \(c.maxScan) records from \(c.schema.className)'s API (maxScan); add a condition the API can filter on.")
            }
            pager.advance(received: records.count, body: body, headers: reply.headers)
            if pager.isDone, let total, scanned < total { try resumeOrFail() }
        }

        func resumeOrFail() throws {
            guard pager.resumeByOffset(at: scanned) else {
                throw GatewayError(.internalServerError,
                                   "The API of connector \(name) reported \(total ?? 0) \(c.schema.className) records, but its pages ended after \(scanned); "
                                   + "Causeway does not answer with a short list (declare `pagination.fallback` to read the rest by offset, or retry if records were deleted meanwhile).")
            }
            context?.logger.notice("pages ended before the reported total; reading on by offset", metadata: [
                "causeway.connector": .string(name), "causeway.class": .string(c.schema.className),
                "upstream.total": .stringConvertible(total ?? 0), "upstream.read": .stringConvertible(scanned),
            ])
        }
    }

    /// A total as an API reports it (a number, or a numeric string).
    static func count(_ value: JSONValue?) -> Int? {
        switch value {
        case .int(let n)? where n >= 0: return Int(n)
        case .double(let d)? where d >= 0 && d == d.rounded(): return Int(d)
        case .string(let s)?: return Int(s).flatMap { $0 >= 0 ? $0 : nil }
        default: return nil
        }
    }

    /// With a `total` in the list answer, one request of one record answers the count of all records, or of
    /// those matching a filter the API applies whole when its filters are declared exact (`exactFilters`):
    /// otherwise the API's total could count records that Causeway's own check of the same conditions drops,
    /// and `count` would disagree with `find`. Everything else counts matching records (up to maxScan).
    public func count(_ filter: QueryFilter?, in schema: CollectionSchema, context: ConnectorContext) async throws -> Int {
        let c = try collection(schema)
        let unfiltered = filter?.conjuncts.isEmpty ?? true
        if let totalPath = c.totalPath, unfiltered || c.exactFilters, let params = apiParameters(filter, c) {
            var pager = RESTPager(collection: c, baseURL: settings.baseURL, path: c.list.path, params: c.list.query.merging(params) { $1 }, pageSize: 1)
            if let request = pager.next() {
                let reply = try await send(method: "GET", url: request, body: nil, idempotent: true, context: context)
                if let n = RESTConnector.count(reply.body.value(at: totalPath)) { return n }
            }
        }
        return try await find(SourceQuery(filter: filter), in: schema, context: context).count
    }

    /// The query parameters for a filter when the API applies every condition of it; nil otherwise.
    func apiParameters(_ filter: QueryFilter?, _ c: RESTCollection) -> [String: String]? {
        var params: [String: String] = [:]
        for conjunct in filter?.conjuncts ?? [] {
            guard case .field(let path, let condition) = conjunct,
                  let f = c.filters.first(where: { $0.field == path && $0.op == condition.filterOperator }),
                  let value = RESTConnector.parameterValue(condition) else { return nil }
            params[f.param] = value
        }
        return params
    }

    /// By `get` when declared; else by the list endpoint filtered on the id when an `equal` filter on
    /// objectId is declared (one request); else by reading the list (up to maxScan).
    public func get(objectId: String, fields: Set<String>?, in schema: CollectionSchema, context: ConnectorContext) async throws -> ParseObject? {
        let c = try collection(schema)
        guard canExist(objectId, schema) else { return nil }
        if let endpoint = c.get {
            do {
                let reply = try await send(method: endpoint.method, url: url(endpoint, objectId: objectId), body: nil, idempotent: true, context: context)
                guard let record = try c.oneRecord(in: reply.body, connector: name) else { return nil }
                return try c.object(from: record, connector: name)
            } catch let error as GatewayError where error.code == .objectNotFound {
                return nil
            }
        }
        var found: ParseObject?
        var params = c.list.query
        if let f = c.idFilter { params[f.param] = objectId }
        try await readList(c, params: params, context: context) { records in
            for record in records {
                let object = try c.object(from: record, connector: name)
                if object.objectId == objectId { found = object; return false }
            }
            return true
        }
        return found
    }

    /// Whether `objectId` can name a record at all: an integer key never matches a non-integer id, so such a
    /// request answers "not found" without asking the API (which might answer 400 or worse for it).
    func canExist(_ objectId: String, _ schema: CollectionSchema) -> Bool {
        schema.objectId.type != .integer || Int64(objectId) != nil
    }

    func url(_ e: RESTCollection.Endpoint, objectId: String?) -> String {
        let path = objectId.map { RESTURLEncoding.fill(e.path, objectId: RESTURLEncoding.encode($0)) } ?? e.path
        return settings.baseURL + path + RESTPager.queryString(e.query)
    }

    /// A `where` value as a query parameter; nil when the value has no plain text form.
    static func parameterValue(_ condition: FieldCondition) -> String? {
        func text(_ v: ParseValue) -> String? {
            switch v {
            case .string(let s): return s
            case .int(let i): return String(i)
            case .double(let d): return String(d)
            case .bool(let b): return b ? "true" : "false"
            case .date(let d): return d.iso8601
            default: return nil
            }
        }
        switch condition {
        case .equal(let v), .notEqual(let v), .lessThan(let v), .lessThanOrEqual(let v), .greaterThan(let v), .greaterThanOrEqual(let v): return text(v)
        case .isIn(let vs):
            let parts = vs.compactMap(text)
            return parts.count == vs.count && !parts.contains(where: { $0.contains(",") }) ? parts.joined(separator: ",") : nil
        default: return nil
        }
    }

    // MARK: Check

    public func verify(logger: Logger) async -> [CheckFinding] {
        var findings: [CheckFinding] = []
        if settings.insecureSkipVerify {
            findings.append(CheckFinding(.warning, name, "insecureSkipVerify is true: the API's certificate is not checked"))
        }
        // A client of its own: checking never disturbs a running connector's client.
        let http: HTTPClient
        do { http = try makeClient() } catch {
            return findings + [CheckFinding(.error, name, "cannot set up TLS: \(error)")]
        }
        for c in byClass.values.sorted(by: { $0.schema.className < $1.schema.className }) {
            let subject = "\(name)/\(c.schema.className) (\(c.list.method) \(c.list.path))"
            do {
                var pager = RESTPager(collection: c, baseURL: settings.baseURL, path: c.list.path, params: c.list.query, pageSize: 1)
                guard let request = pager.next() else { continue }
                let reply = try await send(method: "GET", url: request, body: nil, idempotent: true, context: nil, via: http)
                let records = try c.records(in: reply.body, connector: name)
                if let first = records.first {
                    _ = try c.object(from: first, connector: name)
                    let missing = c.fields.filter { first.value(at: $0.path) == nil }.map(\.name)
                    findings.append(CheckFinding(missing.isEmpty ? .ok : .warning, subject,
                                                 missing.isEmpty ? "reachable; a record maps" : "reachable; the first record has no value for \(missing.joined(separator: ", "))"))
                } else {
                    findings.append(CheckFinding(.ok, subject, "reachable; no records to check the mapping against"))
                }
            } catch {
                findings.append(CheckFinding(.error, subject, String(reflecting: error)))
            }
        }
        try? await http.shutdown()
        return findings
    }
}

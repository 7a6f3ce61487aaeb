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

    init(name: String, settings: RESTSettings, collections: [RESTCollection]) {
        self.name = name
        self.settings = settings
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
            params[sort.param] = (descending ? sort.descendingPrefix : "") + apiName
            nativeOrder = true
        }
        let wanted = nativeOrder ? query.limit.map { query.skip + $0 } : nil
        var matches: [ParseObject] = []
        var scanned = 0
        var pager = RESTPager(collection: c, baseURL: settings.baseURL, path: c.list.path, params: params)
        while let request = pager.next() {
            let (body, headers): (JSONValue, HTTPHeaders)
            do {
                (body, headers) = try await send(method: "GET", url: request, body: nil, idempotent: true, context: context)
            } catch let error as GatewayError where error.code == .objectNotFound {
                // A list endpoint that does not exist is a mapping problem, not a missing object.
                throw GatewayError(.internalServerError, "The list endpoint of \(schema.className) (connector \(name)) answered HTTP 404; check `list` in the connector file.",
                                   detail: error.detail)
            }
            let records = try c.records(in: body, connector: name)
            for record in records {
                let object = try c.object(from: record, connector: name)
                if QueryEvaluator.matches(object, query.filter) { matches.append(object) }
            }
            scanned += records.count
            if let wanted, matches.count >= wanted { break }
            if scanned > c.maxScan {
                throw GatewayError(.invalidQuery, "This query would read more than \(c.maxScan) records from \(schema.className)'s API (maxScan); add a condition the API can filter on.")
            }
            pager.advance(received: records.count, body: body, headers: headers)
        }
        if !nativeOrder { matches = QueryEvaluator.sort(matches, by: query.sort, numericIds: schema.objectId.type == .integer) }
        let start = min(query.skip, matches.count)
        let end = query.limit.map { min(start + $0, matches.count) } ?? matches.count
        return Array(matches[start..<end])
    }

    /// With a `total` in the list answer and every condition filtered by the API, one request of one
    /// record answers the count; otherwise matching records are counted (up to maxScan).
    public func count(_ filter: QueryFilter?, in schema: CollectionSchema, context: ConnectorContext) async throws -> Int {
        let c = try collection(schema)
        if let totalPath = c.totalPath, let params = apiParameters(filter, c) {
            var pager = RESTPager(collection: c, baseURL: settings.baseURL, path: c.list.path, params: c.list.query.merging(params) { $1 }, pageSize: 1)
            if let request = pager.next() {
                let (body, _) = try await send(method: "GET", url: request, body: nil, idempotent: true, context: context)
                switch body.value(at: totalPath) {
                case .int(let n)?: return Int(n)
                case .double(let d)? where d >= 0: return Int(d)
                default: break
                }
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

    public func get(objectId: String, fields: Set<String>?, in schema: CollectionSchema, context: ConnectorContext) async throws -> ParseObject? {
        let c = try collection(schema)
        guard canExist(objectId, schema) else { return nil }
        guard let endpoint = c.get else {
            return try await find(SourceQuery(), in: schema, context: context).first { $0.objectId == objectId }
        }
        do {
            let (body, _) = try await send(method: endpoint.method, url: url(endpoint, objectId: objectId), body: nil, idempotent: true, context: context)
            let record = c.recordsPath.isEmpty ? body : (body.value(at: c.recordsPath) ?? body)
            return try c.object(from: record, connector: name)
        } catch let error as GatewayError where error.code == .objectNotFound {
            return nil
        }
    }

    // MARK: Writes

    public func create(_ object: ParseObject, in schema: CollectionSchema, context: ConnectorContext) async throws -> ParseObject {
        let c = try collection(schema)
        guard let endpoint = c.create else { throw GatewayError(.operationForbidden, "\(schema.className)'s API has no create operation.") }
        let (body, _) = try await send(method: endpoint.method, url: url(endpoint, objectId: nil),
                                       body: RESTCollection.body(c.record(from: object.fields), template: endpoint.bodyTemplate), idempotent: false, context: context)
        return try c.object(from: c.recordsPath.isEmpty ? body : (body.value(at: c.recordsPath) ?? body), connector: name)
    }

    public func update(objectId: String, operations: [String: UpdateOperation], updatedAt: ParseDate,
                       in schema: CollectionSchema, context: ConnectorContext) async throws -> ParseObject? {
        let c = try collection(schema)
        guard let endpoint = c.update else { throw GatewayError(.operationForbidden, "\(schema.className)'s API has no update operation.") }
        guard canExist(objectId, schema) else { return nil }
        var fields: [String: ParseValue] = [:]
        for (field, op) in operations {
            switch op {
            case .set(let v): fields[field] = v
            case .delete: fields[field] = .null
            default: throw GatewayError(.operationForbidden, "\(schema.className)'s API cannot apply \(op.kind.parseName) atomically.")
            }
        }
        do {
            let (body, _) = try await send(method: endpoint.method, url: url(endpoint, objectId: objectId),
                                           body: RESTCollection.body(c.record(from: fields), template: endpoint.bodyTemplate), idempotent: false, context: context)
            if case .object(let o) = body, !o.isEmpty, let object = try? c.object(from: c.recordsPath.isEmpty ? body : (body.value(at: c.recordsPath) ?? body), connector: name) {
                return object
            }
            return try await get(objectId: objectId, fields: nil, in: schema, context: context)
        } catch let error as GatewayError where error.code == .objectNotFound {
            return nil
        }
    }

    public func delete(objectId: String, in schema: CollectionSchema, context: ConnectorContext) async throws -> Bool {
        let c = try collection(schema)
        guard let endpoint = c.delete else { throw GatewayError(.operationForbidden, "\(schema.className)'s API has no delete operation.") }
        guard canExist(objectId, schema) else { return false }
        do {
            _ = try await send(method: endpoint.method, url: url(endpoint, objectId: objectId), body: nil, idempotent: false, context: context)
            return true
        } catch let error as GatewayError where error.code == .objectNotFound {
            return false
        }
    }

    /// Whether `objectId` can name a record at all: an integer key never matches a non-integer id, so such a
    /// request answers "not found" without asking the API (which might answer 400 or worse for it).
    func canExist(_ objectId: String, _ schema: CollectionSchema) -> Bool {
        schema.objectId.type != .integer || Int64(objectId) != nil
    }

    func url(_ e: RESTCollection.Endpoint, objectId: String?) -> String {
        var path = e.path
        if let objectId {
            let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~"))
            path = path.replacingOccurrences(of: "{objectId}", with: objectId.addingPercentEncoding(withAllowedCharacters: allowed) ?? objectId)
        }
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

    // MARK: HTTP

    /// One request with auth, a concurrency limit, retries with backoff for idempotent requests on
    /// connection failures, timeouts and 5xx (and one retry after an OAuth2 token was refused), and upstream
    /// failures translated into Parse errors. `context` is nil for the gateway's own calls (`check`).
    func send(method: String, url: String, body: JSONValue?, idempotent: Bool, context: ConnectorContext?,
              via given: HTTPClient? = nil) async throws -> (JSONValue, HTTPHeaders) {
        let http = try given ?? client()
        let logger = context?.logger ?? self.logger
        var attempt = 0
        while true {
            do {
                return try await limiter.withPermit {
                    try await self.sendOnce(method: method, url: url, body: body, http: http, caller: context?.caller)
                }
            } catch let caught {
                // A typed upstream failure, or one from fetching an OAuth2 token (retryable by its code).
                let failure = caught as? RESTUpstreamFailure ?? (caught as? GatewayError).map {
                    RESTUpstreamFailure(status: nil, retryable: $0.code == .connectionFailed || $0.code == .timeout, error: $0)
                }
                guard let failure else { throw caught }
                let tokenRefused = oauth != nil && attempt == 0 && failure.status == 401
                guard attempt < settings.retries, tokenRefused || (idempotent && failure.retryable) else { throw failure.error }
                attempt += 1
                let delay = settings.retryBackoffMs * (1 << (attempt - 1))
                logger.notice("retrying upstream request", metadata: [
                    "causeway.connector": .string(name), "attempt": .stringConvertible(attempt), "error": .string(String(reflecting: failure.error)),
                ])
                try await Task.sleep(for: .milliseconds(delay))
            }
        }
    }

    private func sendOnce(method: String, url: String, body: JSONValue?, http: HTTPClient, caller: Caller?) async throws -> (JSONValue, HTTPHeaders) {
        var request = HTTPClientRequest(url: url)
        request.method = HTTPMethod(rawValue: method)
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "User-Agent", value: "causeway/\(name)")
        switch settings.auth {
        case .none: break
        case .header(let n, let v): request.headers.add(name: n, value: v)
        case .basic(let u, let p): request.headers.add(name: "Authorization", value: "Basic " + Base64.encode(Array("\(u):\(p)".utf8)))
        case .bearer(let t): request.headers.add(name: "Authorization", value: "Bearer " + t)
        case .oauth2: request.headers.add(name: "Authorization", value: "Bearer " + (try await oauth!.token(using: http, timeout: .milliseconds(Int64(settings.requestTimeoutMs)))))
        }
        if let header = settings.forwardIdentityHeader, let user = caller?.user {
            request.headers.add(name: header, value: settings.forwardIdentityValue == .username ? user.username : user.objectId)
        }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: JSONWriter.serialize(body)))
        }
        let response: HTTPClientResponse
        do {
            response = try await http.execute(request, timeout: .milliseconds(Int64(settings.requestTimeoutMs)))
        } catch let error as GatewayError {
            throw error
        } catch {
            throw RESTUpstreamFailure(status: nil, retryable: true, error: RESTErrors.transport(error, connector: name, url: url))
        }
        var buffer: ByteBuffer
        do {
            buffer = try await response.body.collect(upTo: settings.maxResponseBytes)
        } catch is NIOTooManyBytesError {
            throw GatewayError(.internalServerError, "The upstream API of connector \(name) answered more than \(settings.maxResponseBytes) bytes (maxResponseBytes).")
        } catch {
            throw RESTUpstreamFailure(status: nil, retryable: true, error: RESTErrors.transport(error, connector: name, url: url))
        }
        let bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
        let status = Int(response.status.code)
        if status == 401, let oauth { oauth.invalidate() }
        guard (200..<300).contains(status) else {
            throw RESTUpstreamFailure(status: status, retryable: status == 429 || status >= 500,
                                      error: RESTErrors.status(status, body: bytes, connector: name))
        }
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) { return (.object([:]), response.headers) }
        let contentType = response.headers.first(name: "Content-Type")?.lowercased() ?? ""
        guard contentType.isEmpty || contentType.contains("json") else {
            throw GatewayError(.internalServerError, "The upstream API of connector \(name) answered \(contentType), not JSON (status \(status)).")
        }
        do {
            return (try JSONParser.parse(bytes), response.headers)
        } catch {
            throw GatewayError(.internalServerError, "The upstream API of connector \(name) answered malformed JSON (status \(status)).", detail: "\(error)")
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
                let (body, _) = try await send(method: "GET", url: request, body: nil, idempotent: true, context: nil, via: http)
                let records = try c.records(in: body, connector: name)
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

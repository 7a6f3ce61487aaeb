import CausewayCore
import CausewayHTTP
import CausewaySQLite
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

/// A gateway over a temporary SQLite store, driven through Hummingbird's router test client. Shared by
/// the HTTP, REST and LDAP test targets.
public struct ParseTestApp: Sendable {
    public static let appId = "test-app"
    public static let masterKey = "test-master-key-0123"

    /// An `identityProviders` block with the gateway's own accounts (and `loginThrottle`).
    public static let localIdentity = """
    identityProviders:
      - kind: local
        fields: [department]
        defaultRoles: [Employee]
        roles: { root: [Admin] }
    loginThrottle: { maxFailuresPerUser: 5, maxFailuresPerAddress: 1000, windowSeconds: 300 }
    """

    public static let gatewayYAML = """
    server:
      mountPath: /parse
      port: 1337
    app:
      applicationId: \(appId)
      masterKey: \(masterKey)
      restAPIKey: ${REST_KEY:-}
    limits:
      maxBodyBytes: 4096
      defaultLimit: 100
      maxLimit: 500
      maxBatchRequests: 5
    """

    public static let connectorYAML = """
    kind: sqlite
    connection:
      path: store.sqlite
    collections:
      Workstation:
        table: workstations
        createdAt: created_at
        updatedAt: updated_at
        fields:
          name: { type: string }
          office: { type: string }
          floor: { type: number }
          occupied: { type: boolean }
          tags: { type: array }
          location: { type: geopoint }
          lastCleaned: { type: date }
          serial: { type: string, readOnly: true }
        seed:
          - { name: "Desk A", office: "Harbour", floor: 1, occupied: false, tags: [dock], location: { __type: GeoPoint, latitude: 47.3667, longitude: 8.5410 } }
          - { name: "Desk B", office: "Harbour", floor: 2, occupied: true, tags: [dock, monitor], location: { __type: GeoPoint, latitude: 47.3668, longitude: 8.5412 } }
          - { name: "Desk C", office: "Oerlikon", floor: 3, occupied: false, tags: [], location: { __type: GeoPoint, latitude: 47.4111, longitude: 8.5446 } }
          - { name: "Desk D", office: "Basel", floor: 1, occupied: false, location: { __type: GeoPoint, latitude: 47.5596, longitude: 7.5886 } }
      Locked:
        table: locked
        readOnly: true
        fields:
          label: { type: string }
      Private:
        table: private
        fields:
          secret: { type: string }
        permissions:
          get: [authenticated]
          find: ["role:Admin"]
          count: []
          create: []
          update: []
          delete: []
    """

    public let root: String
    public var configuration: LoadedConfiguration
    /// Where the app's caches read the time (cache tests pass a `ManualClock`).
    public let cacheClock: any Clock<Duration>

    /// `identity` is appended to the gateway file (identityProviders, sessions, loginThrottle); with it the
    /// app has users and sessions in a metadata store in the temporary folder. `identityFactories` are the
    /// provider kinds it may name (the LDAP tests add theirs).
    public init(environment: [String: String] = [:], identity: String = "", connectors: String = ParseTestApp.connectorYAML,
                factories: [any ConnectorFactory] = [SQLiteConnectorFactory()],
                identityFactories: [any IdentityProviderFactory] = [LocalIdentityProviderFactory()],
                cacheClock: any Clock<Duration> = ContinuousClock()) throws {
        self.cacheClock = cacheClock
        root = NSTemporaryDirectory() + "causeway-http-\(UUID().uuidString)"
        var loaded: LoadedConfiguration
        do {
            try FileManager.default.createDirectory(atPath: root + "/Config", withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: root + "/Connectors", withIntermediateDirectories: true)
            try (Self.gatewayYAML + "\n" + identity).write(toFile: root + "/Config/causeway.yaml", atomically: true, encoding: .utf8)
            try connectors.write(toFile: root + "/Connectors/store.yaml", atomically: true, encoding: .utf8)
            loaded = try ConfigLoader.load(configPath: root + "/Config/causeway.yaml", factories: factories,
                                           identityFactories: identityFactories, environment: environment)
        } catch {
            try? FileManager.default.removeItem(atPath: root)  // configuration error tests: nothing left behind
            throw error
        }
        loaded.makeMetadataStore = { SQLiteMetadataStore(path: $0) }
        configuration = loaded
    }

    /// The metadata store file of this app.
    public var metadataStorePath: String { configuration.gateway.metadataStorePath }

    /// Runs `body` against the app; the temporary folder is removed afterwards, also when `body` throws.
    /// `logger`: the application's logger (the JSON log tests pass one that writes to memory).
    public func run(logger: Logger? = nil, _ body: @Sendable (ParseClient) async throws -> Void) async throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        let logger = logger ?? {
            var quiet = Logger(label: "test")
            quiet.logLevel = .warning
            return quiet
        }()
        let app = CausewayApplication.build(configuration: configuration, logger: logger, cacheClock: cacheClock)
        try await app.test(.router) { client in
            try await body(ParseClient(client: client))
        }
    }
}

public struct ParseResult: Sendable {
    public let status: Int
    public let headers: HTTPFields
    public let text: String
    public let json: JSONValue?

    public subscript(key: String) -> JSONValue? { json?[key] }
    public var code: Int64? { if case .int(let c)? = json?["code"] { return c } else { return nil } }
    public var errorMessage: String { json?["error"]?.stringValue ?? "" }
    public var results: [JSONValue] { json?["results"]?.arrayValue ?? [] }
    public func ids(_ field: String = "name") -> [String] { results.compactMap { $0[field]?.stringValue } }
}

public struct ParseClient: Sendable {
    public let client: any TestClientProtocol

    public init(client: any TestClientProtocol) { self.client = client }

    public static let standardHeaders: [String: String] = ["X-Parse-Application-Id": ParseTestApp.appId, "Content-Type": "application/json"]
    public static let masterHeaders: [String: String] = standardHeaders.merging(["X-Parse-Master-Key": ParseTestApp.masterKey]) { $1 }

    @discardableResult
    public func request(_ method: HTTPRequest.Method, _ uri: String, _ body: String? = nil,
                 headers: [String: String] = ParseClient.standardHeaders) async throws -> ParseResult {
        var fields = HTTPFields()
        for (k, v) in headers { fields[HTTPField.Name(k)!] = v }
        let response = try await client.execute(uri: uri, method: method, headers: fields, body: body.map { ByteBuffer(string: $0) })
        let text = String(buffer: response.body)
        return ParseResult(status: Int(response.status.code), headers: response.headers, text: text, json: try? JSONParser.parse(text))
    }

    public func get(_ uri: String, headers: [String: String] = ParseClient.standardHeaders) async throws -> ParseResult {
        try await request(.get, uri, headers: headers)
    }

    public static func session(_ token: String) -> [String: String] {
        standardHeaders.merging(["X-Parse-Session-Token": token]) { $1 }
    }

    /// `POST /login`; returns the whole answer.
    public func logIn(_ username: String, _ password: String) async throws -> ParseResult {
        let body = String(decoding: JSONWriter.serialize(.object(["username": .string(username), "password": .string(password)])), as: UTF8.self)
        return try await request(.post, "/parse/login", body)
    }

    /// `POST /login` that must succeed; returns the session token.
    public func token(_ username: String, _ password: String, sourceLocation: SourceLocation = #_sourceLocation) async throws -> String {
        let r = try await logIn(username, password)
        #expect(r.status == 200, "login of \(username): \(r.text)", sourceLocation: sourceLocation)
        return r["sessionToken"]?.stringValue ?? ""
    }

    /// GET with URL-encoded query parameters.
    public func find(_ className: String, _ params: [String: String], headers: [String: String] = ParseClient.standardHeaders) async throws -> ParseResult {
        var allowed = CharacterSet.urlQueryAllowed
        allowed.remove(charactersIn: "&=+")
        let query = params.sorted { $0.key < $1.key }
            .map { "\($0.key)=\($0.value.addingPercentEncoding(withAllowedCharacters: allowed)!)" }.joined(separator: "&")
        return try await request(.get, "/parse/classes/\(className)?\(query)", headers: headers)
    }
}

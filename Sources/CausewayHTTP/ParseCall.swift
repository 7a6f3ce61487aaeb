import CausewayCore
import HTTPTypes

/// A Parse request after the transport details are gone: method (after `_method` override),
/// path below the mount point, parameters, JSON body and the credentials it carries.
struct ParseCall: Sendable {
    var method: HTTPRequest.Method = .get
    /// Path segments below the mount path, percent-decoded: `["classes", "Workstation", "abc"]`.
    var segments: [String] = []
    /// URL query parameters, or the body of a `POST` with `_method: GET`.
    var parameters: [String: JSONValue] = [:]
    /// The JSON body with the SDK's transport keys (`_ApplicationId`, …) removed.
    var body: JSONValue?
    var credentials = Credentials()
    /// The URL query string when it is the only source of parameters (memo key for parsed queries).
    var rawQuery: String?
    /// A `find` the gateway has parsed before (its URL query was not decoded again).
    var parsedFind: Gateway.ParsedFind?

    init() {}

    init(method: HTTPRequest.Method, segments: [String], parameters: [String: JSONValue], body: JSONValue?, credentials: Credentials) {
        self.method = method
        self.segments = segments
        self.parameters = parameters
        self.body = body
        self.credentials = credentials
    }

    /// The path as the client addressed it, below the mount path (for messages).
    func path(mountPath: String) -> String { (mountPath == "/" ? "" : mountPath) + "/" + segments.joined(separator: "/") }

    struct Credentials: Sendable {
        var applicationId: String?
        var masterKey: String?
        var clientKeys: [String: String] = [:]
        var sessionToken: String?
        var installationId: String?
        var requestId: String?
        /// The client's address (for `masterKeyIps` and login throttling).
        var remoteAddress: String?
        /// `X-Causeway-Cache: bypass` (honoured for the master key only).
        var cacheBypass = false
    }

    /// Keys Parse SDKs put in bodies instead of headers; they are stripped before validation.
    static let transportKeys: Set<String> = [
        "_method", "_ApplicationId", "_JavaScriptKey", "_ClientKey", "_RestAPIKey", "_WindowsKey", "_MasterKey",
        "_SessionToken", "_InstallationId", "_ClientVersion", "_RevocableSession", "_ContentType", "_context",
    ]

    /// The body as a JSON object (endpoints that take objects call this).
    func bodyObject() throws(GatewayError) -> [String: JSONValue] {
        switch body {
        case nil: return [:]
        case .object(let o)?: return o
        case let other?: throw GatewayError(.invalidJSON, "The request body must be a JSON object, got \(other.parseTypeName).")
        }
    }
}

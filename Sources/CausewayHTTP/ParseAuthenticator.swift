import CausewayCore

/// Checks the application id and keys the way Parse Server's `handleParseHeaders` does, and
/// establishes the caller. Failures are Parse's bare 403 `{"error":"unauthorized"}`.
struct ParseAuthenticator: Sendable {
    let app: GatewayConfig.App

    /// Header and body spellings of each client key, by configuration name.
    static let clientKeyNames: [(config: String, header: String, body: String)] = [
        ("clientKey", "X-Parse-Client-Key", "_ClientKey"),
        ("javascriptKey", "X-Parse-Javascript-Key", "_JavaScriptKey"),
        ("restAPIKey", "X-Parse-REST-API-Key", "_RestAPIKey"),
        ("dotNetKey", "X-Parse-Windows-Key", "_WindowsKey"),
    ]

    enum Outcome {
        case caller(Caller)
        case rejected(ParseReply)
    }

    func authenticate(_ credentials: ParseCall.Credentials, remoteAddress: String?) -> Outcome {
        guard let appId = credentials.applicationId, constantTimeEquals(appId, app.applicationId) else {
            return .rejected(.unauthorized)
        }
        if let given = credentials.masterKey, let master = app.masterKey, constantTimeEquals(given, master) {
            if !app.masterKeyIPs.isEmpty, !(remoteAddress.map(app.masterKeyIPs.contains) ?? false) {
                return .rejected(.unauthorized)
            }
            return .caller(.master)
        }
        if !app.clientKeys.isEmpty {
            let matched = app.clientKeys.contains { name, configured in
                credentials.clientKeys[name].map { constantTimeEquals($0, configured) } ?? false
            }
            guard matched else { return .rejected(.unauthorized) }
        }
        return .caller(.anonymous)
    }
}

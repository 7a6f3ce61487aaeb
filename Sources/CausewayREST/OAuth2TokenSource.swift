import AsyncHTTPClient
import CausewayCore
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization

/// OAuth2 client-credentials tokens for one connector: fetched on first use, shared by all requests,
/// refreshed 30 seconds before they expire (or at once after the API rejects one), one fetch at a time.
final class OAuth2TokenSource: Sendable {
    let tokenURL: String
    let clientId: String
    let clientSecret: String
    let scope: String?
    let connector: String

    private struct Token { var value: String; var expiresAt: ContinuousClock.Instant }
    private struct State { var token: Token?; var fetching: Task<Token, any Error>?; var fetches = 0 }
    private let state = Mutex(State())

    init(tokenURL: String, clientId: String, clientSecret: String, scope: String?, connector: String) {
        self.tokenURL = tokenURL
        self.clientId = clientId
        self.clientSecret = clientSecret
        self.scope = scope
        self.connector = connector
    }

    /// Tokens fetched so far (for tests and logs).
    var fetchCount: Int { state.withLock { $0.fetches } }

    func token(using client: HTTPClient, timeout: TimeAmount) async throws -> String {
        let task = state.withLock { s -> Task<Token, any Error> in
            if let fetching = s.fetching { return fetching }
            if let t = s.token, t.expiresAt > ContinuousClock.now + .seconds(30) { return Task { t } }
            let task = Task { try await self.fetch(client, timeout: timeout) }
            s.fetching = task
            return task
        }
        do {
            let token = try await task.value
            state.withLock { s in
                if s.fetching != nil { s.fetching = nil; s.token = token }
            }
            return token.value
        } catch {
            state.withLock { $0.fetching = nil }
            throw error
        }
    }

    /// Forgets the token (the API said it is no longer valid).
    func invalidate() { state.withLock { $0.token = nil } }

    private func fetch(_ client: HTTPClient, timeout: TimeAmount) async throws -> Token {
        state.withLock { $0.fetches += 1 }
        var request = HTTPClientRequest(url: tokenURL)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.headers.add(name: "Accept", value: "application/json")
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~"))
        func enc(_ s: String) -> String { s.addingPercentEncoding(withAllowedCharacters: allowed) ?? s }
        var form = "grant_type=client_credentials&client_id=\(enc(clientId))&client_secret=\(enc(clientSecret))"
        if let scope { form += "&scope=\(enc(scope))" }
        request.body = .bytes(ByteBuffer(string: form))
        let response: HTTPClientResponse
        do { response = try await client.execute(request, timeout: timeout) } catch {
            throw RESTErrors.transport(error, connector: connector, url: tokenURL)
        }
        var buffer = try await response.body.collect(upTo: 1 << 20)
        let bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
        guard response.status == .ok else {
            throw GatewayError(.operationForbidden, "The token endpoint of connector \(connector) refused the client credentials (HTTP \(response.status.code)).",
                               detail: String(decoding: bytes.prefix(300), as: UTF8.self))
        }
        guard let json = try? JSONParser.parse(bytes), case .string(let value)? = json["access_token"] else {
            throw GatewayError(.internalServerError, "The token endpoint of connector \(connector) answered without an access_token.")
        }
        let seconds: Int64
        switch json["expires_in"] {
        case .int(let i)?: seconds = i
        case .double(let d)?: seconds = Int64(d)
        case .string(let s)?: seconds = Int64(s) ?? 300
        default: seconds = 300
        }
        return Token(value: value, expiresAt: ContinuousClock.now + .seconds(seconds))
    }
}

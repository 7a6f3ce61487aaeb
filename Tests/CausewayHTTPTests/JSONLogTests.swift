import CausewayCore
import CausewayHTTPTesting
import Foundation
import Logging
import Synchronization
import Testing

/// `logging.format: json`: one JSON object per line with the request's id, method, path, status and duration,
/// and no secrets.
@Suite struct JSONLogTests {
    final class Lines: Sendable {
        let lines = Mutex<[String]>([])
        func append(_ line: String) { lines.withLock { $0.append(line) } }
        var all: [String] { lines.withLock { $0 } }
    }

    @Test func formatIsReadFromTheConfiguration() throws {
        let json = try ParseTestApp(identity: "logging:\n  level: info\n  format: json\n")
        let text = try ParseTestApp()
        defer { for app in [json, text] { try? FileManager.default.removeItem(atPath: app.root) } }
        #expect(json.configuration.gateway.logFormat == .json)
        #expect(text.configuration.gateway.logFormat == .text)
        do {
            _ = try ParseTestApp(identity: "logging:\n  format: yaml\n")
            Issue.record("format: yaml was accepted")
        } catch let error as ConfigErrors {
            let first = try #require(error.errors.first)
            // The identity text starts on the line after the gateway file; `format` is its second line.
            let line = ParseTestApp.gatewayYAML.split(separator: "\n", omittingEmptySubsequences: false).count + 2
            #expect(first.location.keyPath == "logging.format" && first.location.line == line, "\(error)")
            #expect(first.message == "expected one of text, json, found 'yaml'")
        }
    }

    @Test func renderNamesAndTypesAndRedacts() {
        let handler = JSONLogHandler(label: "causeway", secrets: ["super-master-key"]) { _ in }
        let line = handler.render(level: .info, message: "request", metadata: [
            "hb.request.id": .stringConvertible(42),
            "request.parse_id": .string("abc"),
            "http.method": .string("GET"),
            "http.path": .string("/parse/classes/X"),
            "http.status": .stringConvertible(200),
            "http.duration_ms": .string("1.25"),
            "password": .string("hunter2"),
            "user.sessionToken": .string("r:abcdef"),
            "error": .string("master key super-master-key was wrong"),
        ])
        #expect(line.hasSuffix("\n") && line.filter { $0 == "\n" }.count == 1)
        let json = try? JSONParser.parse(Array(line.utf8))
        #expect(json?["request_id"] == .int(42))
        #expect(json?["parse_request_id"] == .string("abc"))
        #expect(json?["method"] == .string("GET"))
        #expect(json?["path"] == .string("/parse/classes/X"))
        #expect(json?["status"] == .int(200))
        #expect(json?["duration_ms"] == .double(1.25))
        #expect(json?["level"] == .string("info"))
        #expect(json?["message"] == .string("request"))
        #expect(json?["timestamp"]?.stringValue.flatMap(ParseDate.init(iso8601:)) != nil)
        #expect(json?["password"] == .string("[redacted]"))
        #expect(json?["user.sessionToken"] == .string("[redacted]"))
        #expect(json?["error"] == .string("master key [redacted] was wrong"))
        #expect(!line.contains("hunter2") && !line.contains("r:abcdef") && !line.contains("super-master-key"))
    }

    @Test func requestsLogOneJSONLineEachWithoutSecrets() async throws {
        let sink = Lines()
        var logger = Logger(label: "causeway") { label in
            JSONLogHandler(label: label, secrets: [ParseTestApp.masterKey]) { sink.append($0) }
        }
        logger.logLevel = .debug
        let password = "pw-correct-horse-77"
        try await ParseTestApp(identity: ParseTestApp.localIdentity).run(logger: logger) { client in
            let signUp = try await client.request(.post, "/parse/users", #"{"username":"ada","password":"\#(password)"}"#)
            #expect(signUp.status == 201, "\(signUp.text)")
            // GET /login carries the password in the query string.
            let login = try await client.get("/parse/login?username=ada&password=\(password)")
            #expect(login.status == 200, "\(login.text)")
            let token = try #require(login["sessionToken"]?.stringValue)
            _ = try await client.get("/parse/users/me", headers: ParseClient.session(token))
            _ = try await client.get("/parse/classes/Workstation", headers: ParseClient.masterHeaders.merging(["X-Parse-Request-Id": "req-1"]) { $1 })
            _ = try await client.request(.post, "/parse/login", #"{"username":"ada","password":"wrong-\#(password)"}"#)
            _ = try await client.get("/parse/users/me", headers: ParseClient.session(token + "x"))

            let lines = sink.all
            #expect(lines.count >= 6)
            var access: [JSONValue] = []
            for line in lines {
                #expect(line.hasSuffix("\n") && line.dropLast().firstIndex(of: "\n") == nil, "one line: \(line)")
                let json = try #require(try? JSONParser.parse(Array(line.utf8)), "not JSON: \(line)")
                if json["message"] == .string("request") { access.append(json) }
                for secret in [password, token, ParseTestApp.masterKey] {
                    #expect(!line.contains(secret), "a secret in \(line)")
                }
            }
            #expect(access.count == 6)
            for a in access {
                #expect(a["request_id"]?.stringValue?.isEmpty == false)
                #expect(a["method"]?.stringValue != nil && a["path"]?.stringValue?.hasPrefix("/parse/") == true)
                #expect(a["status"]?.doubleValue != nil && a["duration_ms"]?.doubleValue != nil)
                #expect(a["timestamp"] != nil && a["level"] == .string("info"))
            }
            let find = try #require(access.first { $0["path"] == .string("/parse/classes/Workstation") })
            #expect(find["status"] == .int(200) && find["method"] == .string("GET") && find["parse_request_id"] == .string("req-1"))
            #expect(access.contains { $0["path"] == .string("/parse/login") && $0["method"] == .string("POST") && ($0["status"]?.doubleValue ?? 0) >= 400 })
        }
    }
}

import CausewayCore
import CausewayHTTPTesting
@testable import CausewayREST
import CausewayTesting
import Foundation
import Hummingbird
import HummingbirdTesting
import HummingbirdTLS
import NIOSSL
import Testing

/// The REST connector against an HTTPS upstream that requires a client certificate.
@Suite struct RESTTLSTests {
    /// A test CA, a server certificate for 127.0.0.1 and a client certificate, made with openssl.
    static func makeCertificates() throws -> String {
        let dir = NSTemporaryDirectory() + "causeway-rest-tls-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try "subjectAltName=IP:127.0.0.1,DNS:localhost\n".write(toFile: dir + "/san.ext", atomically: true, encoding: .utf8)
        let openssl = "/usr/bin/openssl"
        let steps: [[String]] = [
            [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=REST Test CA", "-keyout", dir + "/ca.key", "-out", dir + "/ca.crt"],
            [openssl, "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", dir + "/server.key", "-out", dir + "/server.csr"],
            [openssl, "x509", "-req", "-in", dir + "/server.csr", "-CA", dir + "/ca.crt", "-CAkey", dir + "/ca.key", "-CAcreateserial", "-days", "2",
             "-extfile", dir + "/san.ext", "-out", dir + "/server.crt"],
            [openssl, "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=causeway-client", "-keyout", dir + "/client.key", "-out", dir + "/client.csr"],
            [openssl, "x509", "-req", "-in", dir + "/client.csr", "-CA", dir + "/ca.crt", "-CAkey", dir + "/ca.key", "-CAcreateserial", "-days", "2",
             "-out", dir + "/client.crt"],
        ]
        for step in steps { #expect(spawnAndWait(step) == 0, "\(step[1])") }
        return dir
    }

    @Test func clientCertificatesCustomCAsAndInsecureSkipVerify() async throws {
        let dir = try Self.makeCertificates()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var tls = TLSConfiguration.makeServerConfiguration(certificateChain: try NIOSSLCertificate.fromPEMFile(dir + "/server.crt").map { .certificate($0) },
                                                           privateKey: .privateKey(try NIOSSLPrivateKey(file: dir + "/server.key", format: .pem)))
        tls.certificateVerification = .noHostnameVerification  // clients must present a certificate from the CA
        tls.trustRoots = .file(dir + "/ca.crt")
        let router = Router()
        router.get("/items") { _, _ -> Response in TestUpstream.json(.array([.object(["id": .int(1), "title": .string("secure")])])) }
        let app = Application(router: router, server: try .tls(.http1(), tlsConfiguration: tls), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            let port = client.port!
            func connector(_ tlsBlock: String) -> String {
                """
                kind: rest
                connection:
                  baseURL: https://127.0.0.1:\(port)
                  requestTimeoutSeconds: 3
                  retries: 0
                  tls: \(tlsBlock)
                collections:
                  Item:
                    list: /items
                    objectId: { column: id, type: integer }
                    fields:
                      title: { type: string }
                """
            }
            let cert = "clientCertificate: \(dir)/client.crt, clientKey: \(dir)/client.key"
            for (block, ok) in [("{ caFile: \(dir)/ca.crt, \(cert) }", true),
                                ("{ caFile: \(dir)/ca.crt }", false),                 // no client certificate
                                ("{ \(cert) }", false),                               // the server's CA is not trusted
                                ("{ insecureSkipVerify: true, \(cert) }", true)] {
                let app = try ParseTestApp(connectors: connector(block), factories: [RESTConnectorFactory()])
                try await app.run { c async throws in
                    let r = try await c.find("Item", [:])
                    if ok {
                        #expect(r.status == 200 && r.ids("title") == ["secure"], "\(block): \(r.text)")
                    } else {
                        #expect(r.status == 503 && r.code == 100, "\(block): \(r.text)")
                    }
                }
            }
        }
    }
}

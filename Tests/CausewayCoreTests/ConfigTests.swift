import Foundation
import Logging
import Testing
@testable import CausewayCore

/// A connector kind for configuration tests: reads the common collection keys plus `table`.
struct StubFactory: ConnectorFactory {
    let kind = "stub"
    func makeConnector(name: String, reader: YAMLReader, baseDirectory: String) throws(ConfigError) -> any Connector {
        var schemas: [CollectionSchema] = []
        if let conn = try reader.optionalChild("connection") {
            _ = try conn.optionalString("path")
            try conn.finish()
        }
        for entry in try reader.entries("collections") {
            let c = try reader.reader(for: entry)
            _ = try c.optionalString("table")
            schemas.append(try CollectionSchemaReader.read(c, className: entry.name, connectorName: name, classLocation: entry.location))
            try c.finish()
        }
        return StubConnector(name: name, collections: schemas)
    }
}

/// A connector that answers nothing: for configuration and planning tests. It is also the smallest
/// connector the protocol allows (everything else has a default).
struct StubConnector: Connector {
    var name = "stub"
    let kind = "stub"
    var capabilities = ConnectorCapabilities.scanOnly
    var collections: [CollectionSchema] = [testSchema]
    func find(_ query: SourceQuery, in collection: CollectionSchema, context: ConnectorContext) async throws -> [ParseObject] { [] }
}

/// A temporary Config/ + Connectors/ tree.
struct ConfigTree {
    let root: String
    init(gateway: String = ConfigTree.minimalGateway, connectors: [String: String]) throws {
        root = NSTemporaryDirectory() + "causeway-config-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: root + "/Config", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: root + "/Connectors", withIntermediateDirectories: true)
        try gateway.write(toFile: root + "/Config/causeway.yaml", atomically: true, encoding: .utf8)
        for (name, text) in connectors { try text.write(toFile: root + "/Connectors/" + name, atomically: true, encoding: .utf8) }
    }

    var configPath: String { root + "/Config/causeway.yaml" }

    static let minimalGateway = """
    app:
      applicationId: test-app
    """

    static let minimalConnector = """
    kind: stub
    collections:
      Item:
        fields:
          name: { type: string }
    """

    func load(environment: [String: String] = [:]) throws(ConfigErrors) -> LoadedConfiguration {
        try ConfigLoader.load(configPath: configPath, factories: [StubFactory()], environment: environment)
    }

    /// The single error loading produces.
    func error(environment: [String: String] = [:]) -> ConfigError? {
        do {
            _ = try load(environment: environment)
            return nil
        } catch {
            return error.errors.first
        }
    }
}

@Suite struct ConfigTests {
    @Test func loadsAMinimalConfiguration() throws {
        let tree = try ConfigTree(connectors: ["items.yaml": ConfigTree.minimalConnector])
        let loaded = try tree.load()
        #expect(loaded.gateway.app.applicationId == "test-app")
        #expect(loaded.gateway.server.mountPath == "/parse" && loaded.gateway.server.port == 1337)
        #expect(loaded.connectors.map(\.name) == ["items"], "the name defaults to the file name")
        #expect(loaded.connectors[0].collections[0].fields["name"]?.type == .string)
    }

    @Test func substitutesEnvironmentAndFileSecrets() throws {
        let secretFile = NSTemporaryDirectory() + "causeway-secret-\(UUID().uuidString)"
        try "s3cret-master-key\n".write(toFile: secretFile, atomically: true, encoding: .utf8)
        let tree = try ConfigTree(gateway: """
        server:
          port: ${PORT}
          host: ${HOST:-0.0.0.0}
        app:
          applicationId: ${APP_ID}
          masterKey: ${file:\(secretFile)}
          restAPIKey: "$${literal}"
        """, connectors: ["items.yaml": ConfigTree.minimalConnector])
        let loaded = try tree.load(environment: ["PORT": "8080", "APP_ID": "from-env"])
        #expect(loaded.gateway.server.port == 8080)
        #expect(loaded.gateway.server.host == "0.0.0.0")
        #expect(loaded.gateway.app.applicationId == "from-env")
        #expect(loaded.gateway.app.masterKey == "s3cret-master-key", "file secrets lose their trailing newline")
        #expect(loaded.gateway.app.clientKeys["restAPIKey"] == "${literal}")
    }

    func expectError(gateway: String = ConfigTree.minimalGateway, connectors: [String: String] = ["items.yaml": ConfigTree.minimalConnector],
                     environment: [String: String] = [:], file: String, line: Int, keyPath: String, _ fragment: String,
                     sourceLocation: SourceLocation = #_sourceLocation) throws {
        let tree = try ConfigTree(gateway: gateway, connectors: connectors)
        let error = try #require(tree.error(environment: environment), sourceLocation: sourceLocation)
        #expect(error.location.file.hasSuffix(file), "\(error)", sourceLocation: sourceLocation)
        #expect(error.location.line == line, "\(error)", sourceLocation: sourceLocation)
        #expect(error.location.keyPath == keyPath, "\(error)", sourceLocation: sourceLocation)
        #expect(error.message.contains(fragment), "\(error)", sourceLocation: sourceLocation)
        #expect(error.description.contains("\(file):\(line):"), "\(error)", sourceLocation: sourceLocation)
    }

    @Test func unknownKeysAreNamedWithTheKeysAccepted() throws {
        try expectError(gateway: """
        app:
          applicationId: x
          masterkey: typo
        """, file: "Config/causeway.yaml", line: 3, keyPath: "app.masterkey", "unknown key 'masterkey' (expected one of: applicationId, clientKey")
        try expectError(connectors: ["items.yaml": """
        kind: stub
        collections:
          Item:
            fields:
              name: { type: string, colum: n }
        """], file: "Connectors/items.yaml", line: 5, keyPath: "collections.Item.fields.name.colum", "unknown key 'colum'")
    }

    @Test func missingRequiredKeys() throws {
        try expectError(gateway: "server:\n  port: 1\n", file: "Config/causeway.yaml", line: 1, keyPath: "app", "required key 'app' is missing")
        try expectError(connectors: ["items.yaml": "collections: {}\n"], file: "Connectors/items.yaml", line: 1, keyPath: "kind", "required key 'kind' is missing")
        try expectError(connectors: ["items.yaml": """
        kind: stub
        collections:
          Item:
            fields:
              name: { column: n }
        """], file: "Connectors/items.yaml", line: 5, keyPath: "collections.Item.fields.name", "required key 'type' is missing (expected one of string, number")
    }

    @Test func wrongTypes() throws {
        try expectError(gateway: """
        server:
          port: eighty
        app:
          applicationId: x
        """, file: "Config/causeway.yaml", line: 2, keyPath: "server.port", "expected an integer, found 'eighty'")
        try expectError(gateway: """
        server:
          port: 70000
        app:
          applicationId: x
        """, file: "Config/causeway.yaml", line: 2, keyPath: "server.port", "from 0 to 65535")
        try expectError(gateway: """
        app:
          applicationId: [a, b]
        """, file: "Config/causeway.yaml", line: 2, keyPath: "app.applicationId", "expected a string, found a list")
        try expectError(connectors: ["items.yaml": """
        kind: stub
        collections:
          Item:
            readOnly: maybe
            fields:
              name: { type: string }
        """], file: "Connectors/items.yaml", line: 4, keyPath: "collections.Item.readOnly", "expected true or false, found 'maybe'")
        try expectError(connectors: ["items.yaml": """
        kind: stub
        collections:
          Item:
            fields:
              name: { type: text }
        """], file: "Connectors/items.yaml", line: 5, keyPath: "collections.Item.fields.name.type", "found 'text'")
        try expectError(gateway: """
        app:
          applicationId: x
        logging:
          level: loud
        """, file: "Config/causeway.yaml", line: 4, keyPath: "logging.level", "expected one of trace, debug")
    }

    @Test func duplicateClassNamesAcrossConnectors() throws {
        try expectError(connectors: ["a.yaml": ConfigTree.minimalConnector, "b.yaml": """
        kind: stub
        collections:
          Other:
            fields:
              x: { type: number }
          Item:
            fields:
              name: { type: string }
        """], file: "Connectors/b.yaml", line: 6, keyPath: "collections.Item", "class 'Item' is already served by")
    }

    @Test func secretsThatCannotBeResolved() throws {
        try expectError(gateway: """
        app:
          applicationId: x
          masterKey: ${MASTER_KEY}
        """, file: "Config/causeway.yaml", line: 3, keyPath: "app.masterKey", "environment variable MASTER_KEY is not set")
        try expectError(gateway: """
        app:
          applicationId: x
          masterKey: ${file:/nonexistent/secret}
        """, file: "Config/causeway.yaml", line: 3, keyPath: "app.masterKey", "secret file /nonexistent/secret cannot be read")
        try expectError(gateway: """
        app:
          applicationId: ${BAD NAME}
        """, file: "Config/causeway.yaml", line: 2, keyPath: "app.applicationId", "is not a valid reference")
    }

    @Test func syntaxErrorsAndDuplicateKeys() throws {
        try expectError(gateway: "app:\n  applicationId: [unclosed\n", file: "Config/causeway.yaml", line: 3, keyPath: "", "invalid YAML")
        try expectError(connectors: ["items.yaml": """
        kind: stub
        kind: stub
        collections: {}
        """], file: "Connectors/items.yaml", line: 2, keyPath: "kind", "duplicate keys kind")
    }

    @Test func invalidNamesAndShapes() throws {
        try expectError(connectors: ["items.yaml": """
        kind: stub
        collections:
          1Bad:
            fields:
              name: { type: string }
        """], file: "Connectors/items.yaml", line: 3, keyPath: "collections.1Bad", "not a valid class name")
        try expectError(connectors: ["items.yaml": """
        kind: stub
        collections:
          Item:
            fields:
              objectId: { type: string }
        """], file: "Connectors/items.yaml", line: 5, keyPath: "collections.Item.fields.objectId", "not a valid field name")
        try expectError(connectors: ["items.yaml": """
        kind: mongo
        collections: {}
        """], file: "Connectors/items.yaml", line: 1, keyPath: "kind", "unknown connector kind 'mongo' (expected one of: stub)")
        try expectError(connectors: ["items.yaml": """
        kind: stub
        collections:
          Item:
            fields:
              a: { type: geopoint }
              b: { type: geopoint }
        """], file: "Connectors/items.yaml", line: 4, keyPath: "collections.Item.fields", "only be one geopoint field")
        try expectError(connectors: ["items.yaml": """
        kind: stub
        collections:
          Item:
            fields:
              name: { type: string }
            permissions:
              find: [everyone]
        """], file: "Connectors/items.yaml", line: 7, keyPath: "collections.Item.permissions.find", "'everyone' is not a permission entry")
        try expectError(gateway: """
        app:
          applicationId: x
          masterKey: short
        """, file: "Config/causeway.yaml", line: 3, keyPath: "app.masterKey", "at least 12 characters")
    }
}

import CausewayCore
@testable import CausewaySQLite
import Foundation
import Testing

/// Table and column names from configuration become checked identifiers when the file loads: a name that
/// cannot be quoted safely is a configuration error naming the file, line and key.
@Suite struct SQLIdentifierTests {
    @Test func quotingDoublesQuotes() throws {
        #expect(try SQLIdentifier("plain").quoted == #""plain""#)
        #expect(try SQLIdentifier(#"a"b"#).quoted == #""a""b""#)
        #expect(try SQLIdentifier("Épée 1").quoted == #""Épée 1""#)
    }

    @Test(arguments: [
        ("table: \"bad\\u0000name\"", "table", "control character"),
        ("table: \"two\\nlines\"", "table", "control character"),
        ("table: \"\(String(repeating: "t", count: 64))\"", "table", "64 bytes"),
        ("table: ok\n    fields:\n      f: { type: string, column: \"\\u0007\" }", "column", "control character"),
        ("table: ok\n    createdAt: \"\"", "createdAt", "empty"),
        ("table: ok\n    objectId: { column: \"\(String(repeating: "é", count: 32))\" }", "column", "64 bytes"),
        ("table: ok\n    fields:\n      spot: { type: geopoint, column: \(String(repeating: "g", count: 60)) }", "Item", "_latitude"),
    ])
    func unusableNamesAreConfigurationErrors(_ collectionYAML: String, _ key: String, _ reason: String) throws {
        let dir = NSTemporaryDirectory() + "causeway-ident-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let fields = collectionYAML.contains("fields:") ? "" : "\n    fields:\n      name: { type: string }"
        let yaml = "kind: sqlite\nconnection:\n  path: x.sqlite\ncollections:\n  Item:\n    \(collectionYAML)\(fields)\n"
        try yaml.write(toFile: dir + "/bad.yaml", atomically: true, encoding: .utf8)
        let error = #expect(throws: ConfigError.self) {
            _ = try ConfigLoader.loadConnector(path: dir + "/bad.yaml", factories: [SQLiteConnectorFactory()], environment: [:])
        }
        let text = error?.description ?? ""
        #expect(text.contains("bad.yaml:") && text.contains(key) && text.contains(reason), "\(text)")
        #expect(!text.unicodeScalars.contains { $0 == "\u{0}" || $0 == "\u{7}" }, "the message does not echo control characters")
    }
}

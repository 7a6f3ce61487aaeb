import CausewayCore
import Foundation

/// `metadataStore: { postgres: { … } }` in causeway.yaml: the PostgreSQL connector's `connection` keys
/// (host, port, database, user, password, tls, caFile, poolSize, statementTimeoutMs, connectTimeoutMs; secrets
/// through `${file:…}` or `${ENV}`), plus `schema` (default `causeway`) and `nodeId` (default: made at start).
/// The core checks that the block is a mapping and that it stands alone; its keys are read here.
extension PostgresMetadataStore {
    public static let defaultSchema = "causeway"

    /// The store configured in `configPath`, or nil when it configures another one.
    public static func load(configPath: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws(ConfigErrors) -> PostgresMetadataStore? {
        let baseDirectory = (configPath as NSString).deletingLastPathComponent.isEmpty ? "." : (configPath as NSString).deletingLastPathComponent
        do throws(ConfigError) {
            guard let data = FileManager.default.contents(atPath: configPath), let text = String(data: data, encoding: .utf8) else {
                throw ConfigError(ConfigLocation(file: configPath, line: 0, column: 0, keyPath: ""), "cannot be read")
            }
            let root = try YAMLReader.load(file: configPath, text: text, resolver: SecretResolver(environment: environment, baseDirectory: baseDirectory))
            guard let m = try root.optionalChild("metadataStore"), let r = try m.optionalChild("postgres") else { return nil }
            return try read(r, baseDirectory: baseDirectory)
        } catch {
            throw ConfigErrors([error])
        }
    }

    static func read(_ r: YAMLReader, baseDirectory: String) throws(ConfigError) -> PostgresMetadataStore {
        let schema = try r.optionalString("schema") ?? defaultSchema
        if let problem = SQLIdentifier.problem(schema) { throw r.error("schema", "schema name \(problem)") }
        if schema.contains("\"") { throw r.error("schema", "schema name must not contain a double quote") }
        let nodeId = try r.optionalString("nodeId")
        if let nodeId, nodeId.isEmpty || nodeId.count > 64 || !nodeId.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." }) {
            throw r.error("nodeId", "use 1 to 64 letters, digits, '.', '-' and '_'")
        }
        let poolSizeGiven = r.has("poolSize")
        var settings = try PostgresConnectionSettings.read(r, baseDirectory: baseDirectory)
        if !poolSizeGiven { settings.poolSize = 4 }
        return PostgresMetadataStore(settings: settings, schema: schema, nodeId: nodeId)
    }
}

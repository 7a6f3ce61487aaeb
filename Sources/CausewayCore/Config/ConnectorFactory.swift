/// Builds connectors of one kind (`sqlite`, `postgres`, `rest`) from their YAML files.
/// The executable registers one factory per kind; the core knows none of them.
public protocol ConnectorFactory: Sendable {
    var kind: String { get }
    /// Reads the kind-specific keys (`connection`, `collections`) and returns the connector.
    /// `reader` is the whole file; `name`, `kind` and `cache` are already consumed.
    func makeConnector(name: String, reader: YAMLReader, baseDirectory: String) throws(ConfigError) -> any Connector
}

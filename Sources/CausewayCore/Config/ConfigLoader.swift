import Foundation

/// Loads `causeway.yaml` and every `*.yaml` in the connectors directory, collecting all problems.
public enum ConfigLoader {
    public static func load(configPath: String, factories: [any ConnectorFactory],
                            identityFactories: [any IdentityProviderFactory] = [LocalIdentityProviderFactory()],
                            environment: [String: String] = ProcessInfo.processInfo.environment) throws(ConfigErrors) -> LoadedConfiguration {
        var errors: [ConfigError] = []
        let baseDirectory = (configPath as NSString).deletingLastPathComponent.isEmpty ? "." : (configPath as NSString).deletingLastPathComponent
        let gateway: GatewayConfig
        var providers: [any IdentityProvider] = []
        do {
            let text = try readFile(configPath)
            let reader = try YAMLReader.load(file: configPath, text: text, resolver: SecretResolver(environment: environment, baseDirectory: baseDirectory))
            gateway = try GatewayConfig.read(reader, baseDirectory: baseDirectory, identityFactories: identityFactories, providers: &providers)
        } catch {
            throw ConfigErrors([error])
        }
        var connectors: [any Connector] = []
        var cachePolicies: [String: CachePolicy] = [:]
        let files: [String]
        do {
            files = try FileManager.default.contentsOfDirectory(atPath: gateway.connectorsDirectory)
                .filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted()
        } catch {
            throw ConfigErrors([ConfigError(ConfigLocation(file: configPath, line: 0, column: 0, keyPath: "connectorsDirectory"),
                                            "connectors directory \(gateway.connectorsDirectory) cannot be read")])
        }
        var connectorNames: [String: String] = [:]
        var classes: [String: ConfigLocation] = [:]
        for file in files {
            let path = gateway.connectorsDirectory + "/" + file
            do {
                let loaded: (any Connector, CachePolicy?)
                do {
                    loaded = try loadConnectorReportingAll(path: path, factories: factories, environment: environment)
                } catch {
                    errors.append(contentsOf: error.errors)
                    continue
                }
                let (connector, cachePolicy) = loaded
                if let cachePolicy { cachePolicies[connector.name] = cachePolicy }
                if let other = connectorNames[connector.name] {
                    throw ConfigError(ConfigLocation(file: path, line: 1, column: 1, keyPath: "name"),
                                      "connector name '\(connector.name)' is already used by \(other)")
                }
                connectorNames[connector.name] = path
                for collection in connector.collections {
                    if let first = classes[collection.className] {
                        throw ConfigError(collection.origin, "class '\(collection.className)' is already served by \(first.file):\(first.line); each class must come from exactly one connector")
                    }
                    classes[collection.className] = collection.origin
                }
                connectors.append(connector)
            } catch let error as ConfigError {
                errors.append(error)
            } catch {
                errors.append(ConfigError(ConfigLocation(file: path, line: 0, column: 0, keyPath: ""), "\(error)"))
            }
        }
        if !errors.isEmpty { throw ConfigErrors(errors) }
        var loaded = LoadedConfiguration(gateway: gateway, connectors: connectors, identityProviders: providers)
        loaded.cachePolicies = cachePolicies
        return loaded
    }

    public static func loadConnector(path: String, factories: [any ConnectorFactory],
                                     environment: [String: String]) throws(ConfigError) -> any Connector {
        try loadConnectorAndCache(path: path, factories: factories, environment: environment).0
    }

    /// A connector file: the connector and its `cache` policy (nil when off). Throws the first problem;
    /// `loadConnectorReportingAll` reports every one.
    public static func loadConnectorAndCache(path: String, factories: [any ConnectorFactory],
                                             environment: [String: String]) throws(ConfigError) -> (any Connector, CachePolicy?) {
        do {
            return try loadConnectorReportingAll(path: path, factories: factories, environment: environment)
        } catch {
            throw error.errors.first ?? ConfigError(ConfigLocation(file: path, line: 0, column: 0, keyPath: ""), "invalid connector file")
        }
    }

    /// A connector file, reporting every problem in it: the reader goes on past each one a factory reads
    /// through `YAMLReader.collect` (and past every unknown key), and all of them are thrown together.
    public static func loadConnectorReportingAll(path: String, factories: [any ConnectorFactory],
                                                 environment: [String: String]) throws(ConfigErrors) -> (any Connector, CachePolicy?) {
        let collector = ConfigErrorCollector()
        let result: (any Connector, CachePolicy?)
        do {
            result = try readConnector(path: path, factories: factories, environment: environment, collector: collector)
        } catch {
            collector.record(error)
            throw ConfigErrors(collector.errors)
        }
        let errors = collector.errors
        if !errors.isEmpty { throw ConfigErrors(errors) }
        return result
    }

    private static func readConnector(path: String, factories: [any ConnectorFactory], environment: [String: String],
                                      collector: ConfigErrorCollector) throws(ConfigError) -> (any Connector, CachePolicy?) {
        let text = try readFile(path)
        let base = (path as NSString).deletingLastPathComponent
        let reader = try YAMLReader.load(file: path, text: text, resolver: SecretResolver(environment: environment, baseDirectory: base),
                                         collector: collector)
        let defaultName = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
        let name = try reader.optionalString("name") ?? defaultName
        guard CollectionSchemaReader.isValidClassName(name.replacingOccurrences(of: "-", with: "_")) else {
            throw reader.error("name", "connector names use letters, digits, - and _, found '\(name)'")
        }
        let kind = try reader.string("kind")
        guard let factory = factories.first(where: { $0.kind == kind }) else {
            throw reader.error("kind", "unknown connector kind '\(kind)' (expected one of: \(factories.map(\.kind).joined(separator: ", ")))")
        }
        let cache = try CachePolicy.read(reader)
        let connector = try factory.makeConnector(name: name, reader: reader, baseDirectory: base)
        try reader.finish()
        return (connector, cache)
    }

    static func readFile(_ path: String) throws(ConfigError) -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError(ConfigLocation(file: path, line: 0, column: 0, keyPath: ""), "file cannot be read")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigError(ConfigLocation(file: path, line: 0, column: 0, keyPath: ""), "file is not UTF-8 text")
        }
        return text
    }
}

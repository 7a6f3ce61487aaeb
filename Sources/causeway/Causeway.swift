import ArgumentParser
import NIOCore
import CausewayCore
import CausewayHTTP
import CausewayLDAP
import CausewayPostgres
import CausewayREST
import CausewaySQLite
import Foundation
import Hummingbird
import Logging

/// The `causeway` command. The only place that knows every connector kind.
@main
struct Causeway: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "causeway",
        abstract: "An on-premise gateway that speaks the Parse Server REST dialect over your existing data sources.",
        version: CausewayVersion.current,
        subcommands: [Serve.self, Check.self],
        defaultSubcommand: Serve.self)

    /// Connector kinds this build supports.
    static let factories: [any ConnectorFactory] = [SQLiteConnectorFactory(), PostgresConnectorFactory(), RESTConnectorFactory()]
    /// Identity provider kinds this build supports.
    static let identityFactories: [any IdentityProviderFactory] = [LocalIdentityProviderFactory(), LDAPIdentityProviderFactory()]
}

struct ConfigOption: ParsableArguments {
    @Option(name: .shortAndLong, help: "Path to causeway.yaml.")
    var config: String = "Config/causeway.yaml"

    func load() throws -> LoadedConfiguration {
        do {
            var loaded = try ConfigLoader.load(configPath: config, factories: Causeway.factories, identityFactories: Causeway.identityFactories)
            loaded.makeMetadataStore = { SQLiteMetadataStore(path: $0) }
            // Several nodes on one PostgreSQL: shared users, sessions and login counters, and LISTEN/NOTIFY coherence (#15).
            if loaded.gateway.metadataStoreKind == "postgres", let store = try PostgresMetadataStore.load(configPath: config) {
                loaded.makeMetadataStore = { _ in store }
                loaded.makeClusterServices = { gateway, auth, logger in
                    do { return [try ClusterBus(store: store, gateway: gateway, auth: auth, logger: logger)] } catch {
                        logger.error("cluster coherence cannot start", metadata: ["error": .string(String(reflecting: error))])
                        return []
                    }
                }
            }
            return loaded
        } catch {
            var stderr = StandardError()
            print("Configuration is invalid:", to: &stderr)
            for e in error.errors { print("  \(e)", to: &stderr) }
            throw ExitCode(2)
        }
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the gateway.")

    @OptionGroup var options: ConfigOption

    func run() async throws {
        let loaded = try options.load()
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = Logger.Level(rawValue: loaded.gateway.logLevel) ?? .info
            return handler
        }
        let logger = Logger(label: "causeway")
        logger.info("starting", metadata: [
            "causeway.config": .string(options.config),
            "causeway.listen": .string("\(loaded.gateway.server.host):\(loaded.gateway.server.port)\(loaded.gateway.server.mountPath)"),
        ])
        do {
            // SIGTERM: readiness fails, then the listener closes and in-flight requests drain (server.drainSeconds).
            try await CausewayApplication.run(configuration: loaded, logger: logger)
        } catch let error as IOError where error.errnoCode == EADDRINUSE || error.errnoCode == EACCES || error.errnoCode == EADDRNOTAVAIL {
            // One clear line for the operator; every service has been shut down by now.
            var stderr = StandardError()
            print("causeway: cannot listen on \(loaded.gateway.server.host):\(loaded.gateway.server.port): \(String(cString: strerror(error.errnoCode)))", to: &stderr)
            throw ExitCode(1)
        }
    }
}

struct Check: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Validate the configuration and verify every mapped table, column and endpoint in its source.")

    @OptionGroup var options: ConfigOption

    func run() async throws {
        let loaded = try options.load()
        var logger = Logger(label: "causeway.check")
        logger.logLevel = .warning
        print("configuration: ok (\(loaded.gateway.file), \(loaded.connectors.count) connector(s))")
        var errors = 0
        for connector in loaded.connectors {
            print("connector \(connector.name) (\(connector.kind)):")
            // verify() connects by itself and changes nothing in the source.
            let findings = await connector.verify(logger: logger)
            if findings.isEmpty { print("  ok (this connector kind has nothing to verify)") }
            for finding in findings {
                print("  \(finding)")
                if finding.severity == .error { errors += 1 }
            }
        }
        for provider in loaded.identityProviders {
            print("identity provider \(provider.name) (\(provider.kind)):")
            let findings = await provider.verify(logger: logger)
            if findings.isEmpty { print("  ok") }
            for finding in findings {
                print("  \(finding)")
                if finding.severity == .error { errors += 1 }
            }
        }
        if loaded.gateway.metadataStoreKind == "postgres", let store = loaded.makeMetadataStore?(loaded.gateway.metadataStorePath) {
            print("metadata store (postgres):")
            for finding in await store.verify(logger: logger) {
                print("  \(finding)")
                if finding.severity == .error { errors += 1 }
            }
        }
        if errors > 0 {
            print("check failed: \(errors) problem(s)")
            throw ExitCode(1)
        }
        print("check passed")
    }
}

struct StandardError: TextOutputStream {
    mutating func write(_ string: String) { FileHandle.standardError.write(Data(string.utf8)) }
}

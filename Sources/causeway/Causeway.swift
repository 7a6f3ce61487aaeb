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
        subcommands: [Serve.self, Check.self, LiveTriggers.self],
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
            // PostgreSQL collections with `liveQuery: { triggers: true }`: a NOTIFY listener per connector (#17).
            let triggerSources = loaded.connectors.compactMap { $0 as? PostgresConnector }.filter(\.usesChangeTriggers)
            if !triggerSources.isEmpty {
                loaded.makeChangeSourceServices = { gateway, logger in
                    triggerSources.compactMap { connector in
                        do { return try PostgresChangeListener(connector: connector, gateway: gateway, logger: logger) } catch {
                            logger.error("LiveQuery triggers: cannot listen", metadata: [
                                "causeway.connector": .string(connector.name), "error": .string(String(reflecting: error))])
                            return nil
                        }
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
        let level = Logger.Level(rawValue: loaded.gateway.logLevel) ?? .info
        switch loaded.gateway.logFormat {
        case .text:
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
        case .json:
            // The configured secrets are cut out of every line, whatever logs them.
            let secrets = [loaded.gateway.app.masterKey].compactMap { $0 } + Array(loaded.gateway.app.clientKeys.values)
            LoggingSystem.bootstrap { label in
                var handler = JSONLogHandler.standardError(label: label, secrets: secrets)
                handler.logLevel = level
                return handler
            }
        }
        let logger = Logger(label: "causeway")
        logger.info("starting", metadata: [
            "causeway.config": .string(options.config),
            "causeway.listen": .string("\(loaded.gateway.server.host):\(loaded.gateway.server.port)\(loaded.gateway.server.mountPath)"),
        ])
        do {
            // SIGTERM: readiness fails, then the listener closes and in-flight requests drain (server.drainSeconds).
            let path = options.config
            // SIGHUP and the admin page re-read the configuration (errors are reported, not printed and exited on).
            try await CausewayApplication.run(configuration: loaded, logger: logger, reload: {
                try ConfigLoader.load(configPath: path, factories: Causeway.factories, identityFactories: Causeway.identityFactories)
            })
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

    @Flag(help: "Print one JSON document (findings with file, line, key, severity and message, and a summary) instead of text.")
    var json = false

    func run() async throws {
        if json { return try await runJSON() }
        let loaded = try options.load()
        var logger = Logger(label: "causeway.check")
        logger.logLevel = .warning
        print("configuration: ok (\(loaded.gateway.file), \(loaded.connectors.count) connector(s))")
        var errors = 0
        for connector in loaded.connectors {
            print("connector \(connector.name) (\(connector.kind)):")
            // verify() connects by itself and changes nothing in the source.
            let findings = await PointerCheck.verify(connector, among: loaded.connectors, logger: logger)
            if findings.isEmpty { print("  ok (this connector kind has nothing to verify)") }
            for finding in findings {
                print("  \(finding)")
                if finding.severity == .error { errors += 1 }
            }
        }
        let pointers = PointerCheck.findings(loaded.connectors)
        if !pointers.isEmpty { print("pointers across connectors:") }
        for finding in pointers {
            print("  \(finding)")
            if finding.severity == .error { errors += 1 }
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

    /// `--json`: the same checks as one JSON document on standard output; exit status as without it
    /// (2 for an invalid configuration, 1 when a source check fails).
    func runJSON() async throws {
        var report = CheckReport()
        let loaded: LoadedConfiguration
        do {
            // Nothing is started, so no metadata store is needed.
            loaded = try ConfigLoader.load(configPath: options.config, factories: Causeway.factories, identityFactories: Causeway.identityFactories)
        } catch {
            for e in error.errors { report.add(configuration: e) }
            print(report.json(configFile: options.config, valid: false))
            throw ExitCode(2)
        }
        var logger = Logger(label: "causeway.check")
        logger.logLevel = .critical
        for connector in loaded.connectors {
            for finding in await PointerCheck.verify(connector, among: loaded.connectors, logger: logger) { report.add(finding, connector: connector) }
        }
        for finding in PointerCheck.findings(loaded.connectors) { report.add(pointer: finding, connectors: loaded.connectors) }
        for provider in loaded.identityProviders {
            for finding in await provider.verify(logger: logger) {
                report.add(finding, component: "identity provider \(provider.name)", kind: provider.kind,
                           location: ConfigLocation(file: loaded.gateway.file, line: 0, column: 0, keyPath: "identityProviders"))
            }
        }
        if loaded.gateway.metadataStoreKind == "postgres" {
            // The shared metadata store's schema: missing, older, current or newer than this build (#15).
            do {
                if let store = try PostgresMetadataStore.load(configPath: options.config) {
                    for finding in await store.verify(logger: logger) {
                        report.add(finding, component: "metadata store", kind: "postgres",
                                   location: ConfigLocation(file: loaded.gateway.file, line: 0, column: 0, keyPath: "metadataStore.postgres"))
                    }
                }
            } catch {
                for e in error.errors { report.add(configuration: e) }
            }
        }
        print(report.json(configFile: loaded.gateway.file, valid: true))
        if report.errors > 0 { throw ExitCode(1) }
    }
}

/// The findings of `causeway check --json`.
struct CheckReport {
    var findings: [JSONValue] = []
    var errors = 0, warnings = 0, ok = 0

    mutating func count(_ severity: CheckFinding.Severity) {
        switch severity {
        case .error: errors += 1
        case .warning: warnings += 1
        case .ok: ok += 1
        }
    }

    mutating func add(configuration error: ConfigError) {
        count(.error)
        findings.append(.object([
            "component": .string("configuration"),
            "file": .string(CheckReport.tidy(error.location.file)),
            "line": error.location.line > 0 ? .int(Int64(error.location.line)) : .null,
            "column": error.location.column > 0 ? .int(Int64(error.location.column)) : .null,
            "key": .string(error.location.keyPath),
            "severity": .string(CheckFinding.Severity.error.rawValue),
            "subject": .string("configuration"),
            "message": .string(error.message),
        ]))
    }

    /// A connector's finding, placed at the collection it names (its subject names the class), else at the
    /// connector's file.
    mutating func add(_ finding: CheckFinding, connector: any Connector) {
        let location = finding.location ?? CheckReport.collection(named: finding, in: connector)?.origin
            ?? connector.collections.first.map { ConfigLocation(file: $0.origin.file, line: 0, column: 0, keyPath: "connection") } ?? .unknown
        add(finding, component: "connector \(connector.name)", kind: connector.kind, location: location)
    }

    /// A finding of the pointer check (`Class.field`), placed at the class that declares the pointer.
    mutating func add(pointer finding: CheckFinding, connectors: [any Connector]) {
        for connector in connectors {
            if let c = CheckReport.collection(named: finding, in: connector) {
                return add(finding, component: "pointers", kind: connector.kind, location: finding.location ?? c.origin)
            }
        }
        add(finding, component: "pointers", kind: "", location: .unknown)
    }

    /// The collection a finding's subject names (`Class`, `Class.field`, `connector/Class (table t)`).
    static func collection(named finding: CheckFinding, in connector: any Connector) -> CollectionSchema? {
        connector.collections.first { c in
            finding.subject == c.className || finding.subject.contains("/\(c.className) ") || finding.subject.hasSuffix("/\(c.className)")
                || finding.subject.hasPrefix("\(c.className).") || finding.subject.hasPrefix("\(c.className) ")
        }
    }

    mutating func add(_ finding: CheckFinding, component: String, kind: String, location: ConfigLocation) {
        count(finding.severity)
        findings.append(.object([
            "component": .string(component),
            "kind": .string(kind),
            "file": location == .unknown ? .null : .string(CheckReport.tidy(location.file)),
            "line": location.line > 0 ? .int(Int64(location.line)) : .null,
            "column": location.column > 0 ? .int(Int64(location.column)) : .null,
            "key": .string(location.keyPath),
            "severity": .string(finding.severity.rawValue),
            "subject": .string(finding.subject),
            "message": .string(finding.message),
        ]))
    }

    /// `Config/../Connectors/x.yaml` → `Connectors/x.yaml`.
    static func tidy(_ path: String) -> String {
        var parts: [Substring] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            if part == "..", let last = parts.last, last != ".." { parts.removeLast(); continue }
            parts.append(part)
        }
        return (path.hasPrefix("/") ? "/" : "") + parts.joined(separator: "/")
    }

    func json(configFile: String, valid: Bool) -> String {
        JSONWriter.string(.object([
            "configuration": .object(["file": .string(CheckReport.tidy(configFile)), "valid": .bool(valid)]),
            "findings": .array(findings),
            "summary": .object([
                "errors": .int(Int64(errors)), "warnings": .int(Int64(warnings)), "ok": .int(Int64(ok)),
                "passed": .bool(valid && errors == 0),
            ]),
        ]))
    }
}

struct StandardError: TextOutputStream {
    mutating func write(_ string: String) { FileHandle.standardError.write(Data(string.utf8)) }
}

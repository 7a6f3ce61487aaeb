import ArgumentParser
import CausewayCore
import CausewayPostgres
import Logging

/// `causeway live-triggers --connector NAME [--apply]`: the trigger SQL that makes a PostgreSQL source announce
/// changes other applications make (collections with `liveQuery: { triggers: true }`). Printed for review;
/// installed only with `--apply`, in one transaction. Causeway never installs it by itself.
struct LiveTriggers: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "live-triggers",
        abstract: "Print (or with --apply install) the PostgreSQL triggers that announce other applications' changes to LiveQuery.")

    @OptionGroup var options: ConfigOption

    @Option(help: "The PostgreSQL connector whose collections declare liveQuery: { triggers: true }.")
    var connector: String

    @Flag(help: "Run the SQL on the connector's database, in one transaction (needs the tables' owner and CREATE on their schemas).")
    var apply = false

    func run() async throws {
        let loaded = try options.load()
        var stderr = StandardError()
        guard let found = loaded.connectors.first(where: { $0.name == connector }) else {
            print("causeway: no connector named '\(connector)' (connectors: \(loaded.connectors.map(\.name).sorted().joined(separator: ", ")))", to: &stderr)
            throw ExitCode(2)
        }
        guard let postgres = found as? PostgresConnector else {
            print("causeway: connector '\(connector)' is of kind \(found.kind); triggers are for PostgreSQL connectors (use liveQuery.poll for others)", to: &stderr)
            throw ExitCode(2)
        }
        guard postgres.usesChangeTriggers else {
            print("causeway: no collection of connector '\(connector)' declares liveQuery: { triggers: true }", to: &stderr)
            throw ExitCode(1)
        }
        guard apply else {
            print(postgres.changeTriggerScript(), terminator: "")
            return
        }
        var logger = Logger(label: "causeway.live-triggers")
        logger.logLevel = .warning
        do {
            try await postgres.installChangeTriggers(logger: logger)
        } catch {
            print("causeway: the triggers were not installed (nothing changed): \(String(reflecting: error))", to: &stderr)
            throw ExitCode(1)
        }
        print("installed the LiveQuery triggers of connector '\(connector)' (\(postgres.changeTriggerStatements().count / 3) table(s))")
    }
}

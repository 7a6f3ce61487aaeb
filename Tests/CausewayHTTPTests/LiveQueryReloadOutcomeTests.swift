import CausewayCore
@testable import CausewayHTTP
import CausewayHTTPTesting
import CausewaySQLite
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

/// A reload through the admin page with LiveQuery on (#17): the settings built into the running HTTP server
/// are named as needing a restart, and removing `liveQuery` says what happens to subscriptions.
@Suite struct LiveQueryReloadOutcomeTests {
    static let liveQuery = "\nliveQuery:\n  classes: [Workstation]\n"

    @Test func channelSettingsWaitForARestartAndRemovingLiveQueryIsReported() async throws {
        let app = try ParseTestApp(identity: AdminPageTests.identity + Self.liveQuery, connectors: ReloadTests.cached)
        defer { try? FileManager.default.removeItem(atPath: app.root) }
        #expect(app.configuration.gateway.liveQuery?.classes == ["Workstation"])
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let file = app.root + "/Config/causeway.yaml"
        let built = CausewayApplication.build(configuration: app.configuration, logger: logger, reload: {
            var l = try ConfigLoader.load(configPath: file, factories: [SQLiteConnectorFactory()])
            l.makeMetadataStore = { SQLiteMetadataStore(path: $0) }
            return l
        })
        try await built.test(.router) { client in
            let c = ParseClient(client: client)
            let original = try String(contentsOfFile: file, encoding: .utf8)
            let changed = original.replacingOccurrences(of: Self.liveQuery, with: Self.liveQuery + "  path: /live\n  maxMessageBytes: 4096\n  maxClients: 5\n")
            #expect(changed != original)
            try changed.write(toFile: file, atomically: true, encoding: .utf8)
            var outcome = try await ReloadTests.reload(c)
            #expect(outcome.contains("Configuration 2 serving"), "\(outcome)")
            #expect(outcome.contains("liveQuery.path changed: takes effect at the next restart"), "\(outcome)")
            #expect(outcome.contains("liveQuery.maxMessageBytes changed: takes effect at the next restart"), "\(outcome)")
            #expect(!outcome.contains("liveQuery.pingIntervalSeconds") && !outcome.contains("maxClients"), "\(outcome)")

            try original.replacingOccurrences(of: Self.liveQuery, with: "\n").write(toFile: file, atomically: true, encoding: .utf8)
            outcome = try await ReloadTests.reload(c)
            #expect(outcome.contains("Configuration 3 serving"), "\(outcome)")
            #expect(outcome.contains("liveQuery removed: no class accepts subscriptions now"), "\(outcome)")
        }
    }
}

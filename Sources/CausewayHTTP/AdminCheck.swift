import CausewayCore
import Logging
import Synchronization

/// `causeway check` on demand from the admin page: every connector's and identity provider's `verify`,
/// as the CLI runs it, remembered for a minute (a second press within it shows the same result).
final class AdminCheck: Sendable {
    struct Result: Sendable {
        var atMs: Int64
        var sections: [(name: String, findings: [CheckFinding])]
        var errors: Int { sections.reduce(0) { $0 + $1.findings.filter { $0.severity == .error }.count } }
    }

    static let reuseMs: Int64 = 60_000
    private let last = Mutex<Result?>(nil)
    private let running = AsyncSemaphore(permits: 1)

    var result: Result? { last.withLock { $0 } }

    func run(connectors: [any Connector], providers: [any IdentityProvider]) async throws -> Result {
        try await running.acquire()
        defer { running.release() }
        let now = ParseDate.now().millisecondsSince1970
        if let r = last.withLock({ $0 }), now - r.atMs < AdminCheck.reuseMs { return r }
        var logger = Logger(label: "causeway.check")
        logger.logLevel = .warning
        var sections: [(String, [CheckFinding])] = []
        for c in connectors { sections.append(("connector \(c.name) (\(c.kind))", await PointerCheck.verify(c, among: connectors, logger: logger))) }
        for p in providers { sections.append(("identity provider \(p.name) (\(p.kind))", await p.verify(logger: logger))) }
        let r = Result(atMs: ParseDate.now().millisecondsSince1970, sections: sections)
        last.withLock { $0 = r }
        return r
    }
}

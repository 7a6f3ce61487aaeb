import CausewayCore
import Foundation
import Logging
import Metrics
import NIOPosix
import ServiceLifecycle
import Synchronization

/// Hot reload of Config/ and Connectors/ (SIGHUP, or the admin page's button).
///
/// Everything is read and validated first; on any problem the running configuration keeps serving and the
/// problems are logged and reported with file:line:key. Otherwise connectors whose file is unchanged (the same
/// YAML text) keep their instance, pools and cache; added and changed ones start under the
/// `ConnectorSupervisor` (the gateway waits up to `server.startupWaitSeconds` for their first start attempt);
/// then the new gateway replaces the old one between requests (`GatewayHolder`), keeping the same
/// `ChangeFeed` and statistics; once the old generation's requests in flight have ended, connectors that were
/// removed or replaced are shut down. `server`, `admin`, `metrics`, the metadata store, the identity providers,
/// `sessions`, `cache.maxBytes`, `logging` and LiveQuery's `path`, `pingIntervalSeconds` and `maxMessageBytes` (or
/// turning LiveQuery on) take effect at the next restart (the outcome says so when they changed). Hooks
/// (`onReload`) run once the new gateway serves: LiveQuery re-makes its subscriptions there.
public final class GatewayReloader: Sendable {
    public struct Outcome: Sendable {
        public var at: ParseDate
        public var trigger: String
        public var ok: Bool
        public var summary: String
        /// Configuration errors (file:line:column: key: message), or settings that need a restart.
        public var problems: [String]
    }

    struct Running: Sendable {
        var connector: any Connector
        var fingerprint: String
        var handle: ConnectorSupervisor.Handle
        var entry: ComponentStatus.Entry
    }

    struct State: Sendable {
        var running: [String: Running] = [:]
        var generation = 1
        var last: Outcome?
    }

    let load: @Sendable () throws -> LoadedConfiguration
    let holder: GatewayHolder
    let supervisor: ConnectorSupervisor
    let status: ComponentStatus
    let auth: AuthService?
    let makeResponder: @Sendable (Gateway) -> ParseResponder
    let metricsFactory: (any MetricsFactory)?
    let cacheClock: any Clock<Duration>
    let retry: ConnectorService.RetryPolicy
    let logger: Logger
    /// How long a reload waits for the old generation's requests before shutting its connectors down anyway.
    let drainLimit: Duration
    private let state: Mutex<State>
    private let serial = AsyncSemaphore(permits: 1)
    private let hooks = Mutex<[@Sendable (Gateway) async -> Void]>([])

    /// Runs `hook` with the new gateway after each reload that took effect, once it serves and before the
    /// reload returns (LiveQuery re-evaluates its subscriptions there).
    public func onReload(_ hook: @escaping @Sendable (Gateway) async -> Void) {
        hooks.withLock { $0.append(hook) }
    }

    init(load: @escaping @Sendable () throws -> LoadedConfiguration, holder: GatewayHolder, supervisor: ConnectorSupervisor,
         status: ComponentStatus, auth: AuthService?, makeResponder: @escaping @Sendable (Gateway) -> ParseResponder, metricsFactory: (any MetricsFactory)?,
         cacheClock: any Clock<Duration>, retry: ConnectorService.RetryPolicy, logger: Logger, drainLimit: Duration = .seconds(30),
         running: [String: Running]) {
        self.load = load
        self.holder = holder
        self.supervisor = supervisor
        self.status = status
        self.auth = auth
        self.makeResponder = makeResponder
        self.metricsFactory = metricsFactory
        self.cacheClock = cacheClock
        self.retry = retry
        self.logger = logger
        self.drainLimit = drainLimit
        state = Mutex(State(running: running))
    }

    public var last: Outcome? { state.withLock { $0.last } }

    /// The text a connector was read from: its file's path and content (nil when unknown).
    static func fingerprint(_ connector: any Connector) -> String {
        guard let file = connector.collections.first?.origin.file,
              let data = FileManager.default.contents(atPath: file) else { return "unknown:\(connector.name):\(UUID().uuidString)" }
        return file + "\n" + String(decoding: data, as: UTF8.self)
    }

    /// Reloads; never throws: the outcome says what happened (also logged).
    @discardableResult
    public func reload(trigger: String) async -> Outcome {
        do { try await serial.acquire() } catch { return finish(.init(at: .now(), trigger: trigger, ok: false, summary: "Reload cancelled.", problems: [])) }
        defer { serial.release() }
        if Task.isShuttingDownGracefully {
            return finish(.init(at: .now(), trigger: trigger, ok: false, summary: "The gateway is shutting down; nothing reloaded.", problems: []))
        }
        logger.info("reloading configuration", metadata: ["causeway.trigger": .string(trigger)])
        var loaded: LoadedConfiguration
        do {
            // Reading and validating files blocks: on NIO's blocking-work pool, never on a concurrency thread.
            let load = self.load
            loaded = try await NIOThreadPool.singleton.runIfActive { try load() }
        } catch let errors as ConfigErrors {
            return finish(.init(at: .now(), trigger: trigger, ok: false,
                                summary: "The configuration is invalid; the previous one keeps serving (\(errors.errors.count) problem(s)).",
                                problems: errors.errors.map(\.description)))
        } catch {
            return finish(.init(at: .now(), trigger: trigger, ok: false, summary: "The configuration could not be read; the previous one keeps serving.",
                                problems: [String(describing: error)]))
        }
        let old = holder.current
        let oldConfig = old.gateway.config
        var notes: [String] = []
        func restartNeeded(_ what: String, _ changed: Bool) { if changed { notes.append("\(what) changed: takes effect at the next restart") } }
        restartNeeded("server", loaded.gateway.server.host != oldConfig.server.host || loaded.gateway.server.port != oldConfig.server.port
                      || loaded.gateway.server.mountPath != oldConfig.server.mountPath)
        restartNeeded("admin", loaded.gateway.admin != oldConfig.admin)
        restartNeeded("metadataStore", loaded.gateway.metadataStorePath != oldConfig.metadataStorePath)
        restartNeeded("cache.maxBytes", loaded.gateway.cacheMaxBytes != oldConfig.cacheMaxBytes)
        // LiveQuery: the WebSocket route and its channel settings are part of the HTTP server, built at start.
        if let running = oldConfig.liveQuery {
            if var next = loaded.gateway.liveQuery {
                restartNeeded("liveQuery.path", next.path != running.path)
                restartNeeded("liveQuery.pingIntervalSeconds", next.pingIntervalSeconds != running.pingIntervalSeconds)
                restartNeeded("liveQuery.maxMessageBytes", next.maxMessageBytes != running.maxMessageBytes)
                next.path = running.path
                next.pingIntervalSeconds = running.pingIntervalSeconds
                next.maxMessageBytes = running.maxMessageBytes
                loaded.gateway.liveQuery = next
            } else {
                notes.append("liveQuery removed: no class accepts subscriptions now and existing ones were ended; the WebSocket endpoint stays until the next restart")
            }
        } else if loaded.gateway.liveQuery != nil {
            restartNeeded("liveQuery (turning LiveQuery on)", true)
            loaded.gateway.liveQuery = nil
        }
        restartNeeded("identityProviders", loaded.identityProviders.map { "\($0.name)/\($0.kind)" } != (auth?.providers.map { "\($0.name)/\($0.kind)" } ?? []))
        // What needs a restart keeps its running value.
        loaded.gateway.server = oldConfig.server
        loaded.gateway.admin = oldConfig.admin
        loaded.gateway.metrics = oldConfig.metrics
        loaded.gateway.metadataStorePath = oldConfig.metadataStorePath
        loaded.gateway.cacheMaxBytes = oldConfig.cacheMaxBytes
        loaded.gateway.auth = oldConfig.auth

        let before = state.withLock { $0.running }
        var kept: [String] = [], started: [String] = [], replaced: [Running] = []
        var connectors: [any Connector] = []
        var running: [String: Running] = [:]
        for fresh in loaded.connectors {
            let fp = GatewayReloader.fingerprint(fresh)
            if let current = before[fresh.name], current.fingerprint == fp {
                connectors.append(current.connector)
                running[fresh.name] = current
                kept.append(fresh.name)
                continue
            }
            if let current = before[fresh.name] { replaced.append(current) }
            let entry = status.replaceEntry(ConnectorService.componentName(fresh.name))
            let handle = supervisor.start(ConnectorService(connector: fresh, entry: entry, logger: logger, retry: retry))
            connectors.append(fresh)
            running[fresh.name] = Running(connector: fresh, fingerprint: fp, handle: handle, entry: entry)
            started.append(fresh.name)
        }
        let removed = before.values.filter { running[$0.connector.name] == nil }
        if !started.isEmpty {
            let wait = Duration.seconds(loaded.gateway.server.startupWaitSeconds)
            if await !status.waitForFirstAttempts(limit: wait, clock: ContinuousClock()) {
                notes.append("some connectors were still starting when the new configuration took over (their classes answer 100 until they are up)")
            }
        }
        let caches = CacheSet(reloading: old.gateway.caches, policies: loaded.cachePolicies, keep: Set(kept), metricsFactory: metricsFactory,
                              clock: cacheClock)
        let gateway = Gateway(config: loaded.gateway, connectors: connectors, caches: caches, status: status,
                              changes: old.gateway.changes, stats: old.gateway.stats)
        let number = state.withLock { s -> Int in
            s.generation += 1
            s.running = running
            return s.generation
        }
        let next = GatewayHolder.Generation(number: number, gateway: gateway,
                                            responder: makeResponder(gateway))
        let previous = holder.swap(next)
        for hook in hooks.withLock({ $0 }) { await hook(gateway) }
        // The old generation's requests finish on the old connectors; then those no longer used stop.
        let drained = await withTaskGroup(of: Bool.self) { group in
            group.addTask { await previous.drained(); return true }
            group.addTask { [drainLimit] in (try? await Task.sleep(for: drainLimit)) == nil ? false : false }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
        if !drained { notes.append("requests of the previous configuration were still running after \(drainLimit); its connectors were stopped anyway") }
        for r in replaced + removed {
            _ = old.gateway.caches.caches[r.connector.name].map { caches.caches[r.connector.name] === $0 ? 0 : $0.purge() }
            await supervisor.stop(r.handle)
        }
        for r in removed where status.allEntries.contains(where: { $0 === r.entry }) { status.remove(r.entry) }
        var summary = "Configuration \(number) serving: \(connectors.count) connector(s)"
        var parts: [String] = []
        if !kept.isEmpty { parts.append("unchanged: " + kept.sorted().joined(separator: ", ")) }
        let added = started.filter { before[$0] == nil }, changed = started.filter { before[$0] != nil }
        if !added.isEmpty { parts.append("added: " + added.sorted().joined(separator: ", ")) }
        if !changed.isEmpty { parts.append("restarted: " + changed.sorted().joined(separator: ", ")) }
        if !removed.isEmpty { parts.append("removed: " + removed.map(\.connector.name).sorted().joined(separator: ", ")) }
        if !parts.isEmpty { summary += " (" + parts.joined(separator: "; ") + ")" }
        return finish(.init(at: .now(), trigger: trigger, ok: true, summary: summary + ".", problems: notes))
    }

    private func finish(_ outcome: Outcome) -> Outcome {
        state.withLock { $0.last = outcome }
        if outcome.ok {
            logger.notice("configuration reloaded", metadata: ["causeway.summary": .string(outcome.summary),
                                                               "causeway.notes": .string(outcome.problems.joined(separator: "; "))])
        } else {
            logger.error("configuration reload refused; the previous configuration keeps serving", metadata: [
                "causeway.summary": .string(outcome.summary), "causeway.problems": .string(outcome.problems.joined(separator: "\n")),
            ])
        }
        return outcome
    }
}

/// Reloads on each signal delivered through `signals` (the executable feeds it SIGHUP), until graceful shutdown.
public struct ReloadSignalService: Service {
    let reloader: GatewayReloader
    let signals: AsyncStream<Void>

    public func run() async throws {
        for await _ in signals.cancelOnGracefulShutdown() {
            await reloader.reload(trigger: "SIGHUP")
        }
    }
}

import CausewayCore
import Foundation
import Logging
import NIOCore
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// Hears the changes other applications make to a PostgreSQL connector's tables, through the triggers
/// `causeway live-triggers` installs (`liveQuery: { triggers: true }`), and announces them on the gateway's
/// change feed with origin `.source` (kind from the operation, class from the table, objectId from the key,
/// no object: LiveQuery reads it).
///
/// - It LISTENs on `causeway_changes` over a connection of its own (`application_name` `causeway/<connector>/listen`);
///   a lost connection is reopened with back-off from 100 ms to 2 s, and a heartbeat (`SELECT 1` every
///   `heartbeat`, closed when slower than `heartbeatTimeout`) finds one that died silently. Changes made while
///   it is not listening are not announced; each time it listens (again) it drops the cached answers of the
///   trigger-sourced classes, so reads are fresh, and announces a gap for them on the change feed (LiveQuery
///   reads again what its subscriptions match).
/// - Each change also drops the class's cached answers (the source changed behind the cache's back).
/// - Writes made through this gateway fire the triggers too. They are skipped by the notification's `by` (the
///   writer's `application_name`): this connector's own sessions (`causeway/<connector>`, `causeway/<connector>/tx`)
///   have been announced by the gateway already, with the object. Other gateway nodes' writes arrive over the
///   cluster bus when the metadata store is PostgreSQL.
/// - Notifications for tables not mapped with `triggers: true`, and ones it cannot read, are ignored.
public final class PostgresChangeListener: Service, Sendable {
    public enum Event: Sendable, Equatable {
        /// Listening (again).
        case listening
        /// The listening connection is lost; reconnecting.
        case lost
        /// A change announced on the feed.
        case announced(ObjectChange)
        /// A notification skipped: the gateway's own write, or not one of ours.
        case skipped(String)
    }

    public let connectorName: String
    public let channel = PostgresConnector.changeChannel
    let configuration: PostgresConnection.Configuration
    /// `schema.table` → the classes served from that table.
    let classes: [String: [String]]
    /// `application_name`s of this connector's own sessions.
    let ownSessions: Set<String>
    let gateway: Gateway
    let logger: Logger
    let heartbeat: Duration
    let heartbeatTimeout: Duration

    private struct State {
        var listening = false
    }
    private let state = Mutex(State())
    private let observers = Broadcast<Event>()

    public init(connector: PostgresConnector, gateway: Gateway, logger: Logger,
                heartbeat: Duration = .seconds(5), heartbeatTimeout: Duration = .seconds(5)) throws {
        var configuration = try connector.tlsChecked { try connector.settings.connectionConfiguration(connectorName: connector.name) }
        configuration.options.additionalStartupParameters = [("application_name", "causeway/\(connector.name)/listen")]
        self.configuration = configuration
        self.connectorName = connector.name
        self.classes = connector.triggerTables.mapValues(\.classNames)
        self.ownSessions = Set(connector.settings.startupParameters(connectorName: connector.name).map(\.1)
            + connector.settings.startupParameters(connectorName: connector.name, role: "tx").map(\.1))
            .filter { $0.hasPrefix("causeway/") }
        self.gateway = gateway
        self.logger = logger
        self.heartbeat = heartbeat
        self.heartbeatTimeout = heartbeatTimeout
    }

    public var isListening: Bool { state.withLock { $0.listening } }

    /// What the listener does from now on (tests await these instead of sleeping).
    public func events() -> AsyncStream<Event> { observers.subscribe(bufferSize: 10_000) }

    private func emit(_ event: Event) { observers.publish(event) }

    public func run() async throws {
        guard !classes.isEmpty else {
            try? await gracefulShutdown()
            return
        }
        await cancelWhenGracefulShutdown { await self.listenLoop() }
        state.withLock { $0.listening = false }
    }

    private func listenLoop() async {
        let listener = PostgresListener(configuration: configuration, channel: channel, heartbeat: heartbeat,
                                        heartbeatTimeout: heartbeatTimeout, logger: logger)
        let connector = connectorName
        await listener.run(.init(
            listening: { _ in self.setListening(true) },
            notification: { self.receive($0) },
            lost: { error in
                self.logger.warning("LiveQuery triggers: listening connection lost; changes made meanwhile are not announced",
                                    metadata: ["causeway.connector": .string(connector), "error": .string(String(reflecting: error))])
            },
            cannotConnect: { error in
                self.logger.warning("LiveQuery triggers: cannot connect to PostgreSQL to listen; retrying",
                                    metadata: ["causeway.connector": .string(connector), "error": .string(String(describing: error))])
            },
            down: { self.setListening(false) }))
    }

    private func setListening(_ listening: Bool) {
        let changed = state.withLock { s -> Bool in defer { s.listening = listening }; return s.listening != listening }
        guard changed else { return }
        if listening {
            // What changed while nobody listened went unheard: cached answers of these classes may be stale, and so
            // may what LiveQuery remembers of their objects.
            for names in classes.values {
                for className in names {
                    gateway.caches.coherence.invalidate(className: className, connector: connectorName)
                    gateway.changes.announceGap(className: className)
                }
            }
            logger.notice("LiveQuery triggers: listening", metadata: ["causeway.connector": .string(connectorName), "causeway.channel": .string(channel)])
        }
        emit(listening ? .listening : .lost)
    }

    struct Notification: Decodable {
        var table: String
        var op: String
        var id: String?
        var by: String?
    }

    /// One notification: announced, or skipped when it is the gateway's own write or not one of ours.
    func receive(_ payload: String) {
        guard let n = try? JSONDecoder().decode(Notification.self, from: Data(payload.utf8)), let names = classes[n.table], let objectId = n.id else {
            emit(.skipped(payload))
            return
        }
        if let by = n.by, ownSessions.contains(by) {
            emit(.skipped(payload))
            return
        }
        let kind: ObjectChange.Kind
        switch n.op {
        case "INSERT": kind = .create
        case "UPDATE": kind = .update
        case "DELETE": kind = .delete
        default:
            emit(.skipped(payload))
            return
        }
        for className in names {
            gateway.caches.coherence.invalidate(className: className, connector: connectorName)
            let change = ObjectChange(kind: kind, className: className, connector: connectorName, objectId: objectId, origin: .source)
            gateway.changes.publish(change)
            emit(.announced(change))
        }
    }
}

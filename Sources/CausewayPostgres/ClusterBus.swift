import CausewayCore
import Logging
import NIOCore
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// Keeps several gateway nodes that share a PostgreSQL metadata store coherent, through PostgreSQL's
/// LISTEN/NOTIFY on one channel per schema (`causeway_<schema>`), on one connection of its own:
///
/// - it announces this node's writes (class, objectId; from `Gateway.changes`, local writes only), session
///   ends and user changes (from `AuthService`) and cache purges (from `CacheCoherence`);
/// - it applies the other nodes' announcements as they arrive (its own are recognised by the node id in the
///   payload and ignored): a write drops the class's cached answers and is re-published on this node's
///   change feed with `origin: .node(id)` (LiveQuery); a session end drops the session from memory;
/// - while it is not listening (at start, and from the moment its connection is lost until it listens
///   again) the node's caches are suspended and emptied and sessions are read from the store at each
///   request, so the node never serves something another node has changed. A heartbeat on the connection
///   (every `heartbeat`, closed when it takes longer than `heartbeatTimeout`) finds a connection that died
///   silently; reconnection backs off from 100 ms to 2 s.
public final class ClusterBus: Service, Sendable {
    public enum Event: Sendable, Equatable {
        /// Listening (again): the node's caches and in-memory sessions are back in use.
        case listening
        /// The listening connection is lost: caches suspended, sessions read from the store.
        case lost
        case sent(ClusterMessage)
        case applied(from: String, ClusterMessage)
    }

    public let nodeId: String
    public let channel: String
    let configuration: PostgresConnection.Configuration
    let gateway: Gateway
    let auth: AuthService?
    let logger: Logger
    let heartbeat: Duration
    let heartbeatTimeout: Duration
    /// Awaited before each reconnection attempt (tests hold a node disconnected with it).
    let beforeReconnect: @Sendable () async -> Void
    private let outbox: AsyncStream<ClusterMessage>
    private let outboxInput: AsyncStream<ClusterMessage>.Continuation

    private struct State {
        var connection: PostgresConnection?
        var listening = false
    }
    private let state = Mutex(State())
    private let observers = Broadcast<Event>()

    public convenience init(store: PostgresMetadataStore, gateway: Gateway, auth: AuthService?, logger: Logger,
                            heartbeat: Duration = .seconds(2), heartbeatTimeout: Duration = .seconds(5)) throws {
        var configuration = try store.settings.connectionConfiguration(connectorName: "cluster")
        configuration.options.additionalStartupParameters = [("application_name", "causeway/cluster/\(store.nodeId)")]
        self.init(nodeId: store.nodeId, schema: store.schema, configuration: configuration, gateway: gateway, auth: auth, logger: logger,
                  heartbeat: heartbeat, heartbeatTimeout: heartbeatTimeout)
    }

    init(nodeId: String, schema: String, configuration: PostgresConnection.Configuration, gateway: Gateway, auth: AuthService?, logger: Logger,
         heartbeat: Duration, heartbeatTimeout: Duration, beforeReconnect: @escaping @Sendable () async -> Void = {}) {
        self.beforeReconnect = beforeReconnect
        self.nodeId = nodeId
        self.channel = "causeway_" + String(schema.prefix(50))
        self.configuration = configuration
        self.gateway = gateway
        self.auth = auth
        self.logger = logger
        self.heartbeat = heartbeat
        self.heartbeatTimeout = heartbeatTimeout
        (outbox, outboxInput) = AsyncStream.makeStream(bufferingPolicy: .bufferingOldest(100_000))
    }

    /// Whether the node hears the other nodes now.
    public var isListening: Bool { state.withLock { $0.listening } }

    /// What the bus does from now on (tests await these instead of sleeping).
    public func events() -> AsyncStream<Event> { observers.subscribe(bufferSize: 10_000) }

    private func emit(_ event: Event) { observers.publish(event) }

    public func run() async throws {
        setCoherent(false, announce: false)
        let local = gateway.changes.subscribe(bufferSize: 100_000, wantsImages: false)  // class and objectId are all it sends
        let input = outboxInput
        auth?.observeSessionEvents { input.yield(.session($0)) }
        gateway.caches.coherence.observePurges { input.yield(.purge(connector: $0, className: $1)) }
        try? await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask {
                    for await change in local where change.origin == .local {
                        input.yield(.write(kind: change.kind, className: change.className, connector: change.connector, objectId: change.objectId))
                    }
                }
                group.addTask { await self.sendLoop() }
                group.addTask { await self.listenLoop() }
            }
        }
        auth?.observeSessionEvents(nil)
        gateway.caches.coherence.observePurges(nil)
        let c = state.withLock { s -> PostgresConnection? in defer { s.connection = nil; s.listening = false }; return s.connection }
        try? await c?.close()
    }

    // MARK: Sending

    /// Sends each message on the listening connection, waiting (up to about 5 s) while it is being reopened.
    private func sendLoop() async {
        for await message in outbox {
            let payload = message.payload(node: nodeId)
            var waited = 0
            while !Task.isCancelled {
                if let c = state.withLock({ $0.listening ? $0.connection : nil }) {
                    do {
                        try await c.query("SELECT pg_notify(\(channel), \(payload))", logger: logger)
                        emit(.sent(message))
                        break
                    } catch {
                        logger.debug("cluster notification not sent; retrying", metadata: ["error": .string(String(describing: error))])
                    }
                }
                waited += 1
                if waited > 100 {
                    logger.warning("cluster notification dropped: no connection to PostgreSQL for 5 s; other nodes rely on their cache TTLs for it",
                                   metadata: ["causeway.cluster.payload": .string(payload)])
                    break
                }
                try? await Task.sleep(for: .milliseconds(50))
            }
        }
    }

    // MARK: Listening

    private func listenLoop() async {
        let listener = PostgresListener(configuration: configuration, channel: channel, heartbeat: heartbeat,
                                        heartbeatTimeout: heartbeatTimeout, logger: logger)
        await listener.run(.init(
            listening: { c in
                self.state.withLock { $0.connection = c }
                self.setCoherent(true, announce: true)
            },
            notification: { self.receive($0) },
            lost: { error in
                self.logger.warning("cluster: listening connection lost; caches suspended and sessions read from the store until it is back",
                                    metadata: ["error": .string(String(reflecting: error))])
            },
            cannotConnect: { error in
                self.logger.warning("cluster: cannot connect to PostgreSQL to listen; retrying", metadata: ["error": .string(String(describing: error))])
            },
            ended: { c in
                self.state.withLock { if $0.connection === c { $0.connection = nil } }
                if !Task.isCancelled { self.setCoherent(false, announce: true) }
            },
            down: { self.setCoherent(false, announce: true) },
            beforeReconnect: beforeReconnect))
    }

    private func setCoherent(_ coherent: Bool, announce: Bool) {
        let changed = state.withLock { s -> Bool in
            defer { s.listening = coherent }
            return s.listening != coherent || !announce
        }
        // Empty both ways: on loss, what other nodes may change from now on goes unheard; on return, what
        // they changed meanwhile was unheard.
        let coherence = gateway.caches.coherence
        coherence.setSuspended(true)
        coherence.purge()
        auth?.setSessionReuse(coherent)
        if coherent { coherence.setSuspended(false) }
        guard changed, announce else { return }
        if coherent { logger.notice("cluster: listening", metadata: ["causeway.cluster.node": .string(nodeId), "causeway.cluster.channel": .string(channel)]) }
        emit(coherent ? .listening : .lost)
    }

    // MARK: Receiving

    func receive(_ payload: String) {
        guard let (node, message) = ClusterMessage.parse(payload) else {
            logger.debug("cluster: ignoring a notification that is not ours", metadata: ["causeway.cluster.payload": .string(LogText.clean(payload, limit: 200))])
            return
        }
        guard node != nodeId else { return }
        switch message {
        case .write(let kind, let className, let connector, let objectId):
            // Through the coherence state: it knows the caches serving now, also after a configuration reload.
            gateway.caches.coherence.invalidate(className: className, connector: connector)
            gateway.changes.publish(ObjectChange(kind: kind, className: className, connector: connector, objectId: objectId, origin: .node(node)))
        case .session(let event):
            auth?.apply(event)
        case .purge(let connector, let className):
            if let className, let connector {
                gateway.caches.coherence.invalidate(className: className, connector: connector)
            } else {
                gateway.caches.coherence.purge(connector: connector)
            }
        }
        emit(.applied(from: node, message))
    }
}

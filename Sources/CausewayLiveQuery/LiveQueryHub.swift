import CausewayCore
import Logging
import Metrics
import ServiceLifecycle
import Synchronization

/// Parse LiveQuery, independent of the transport: clients, their subscriptions, and the events each
/// change means for each subscriber.
///
/// The hub reads the gateway's `ChangeFeed` (writes through this gateway, changes other nodes announce and
/// changes seen in sources: all alike). For each change it works out, per subscription, whether the object
/// was and is both in the query and visible to that subscriber (class `find` permission, row rules, ACL),
/// and sends `create`, `enter`, `update`, `leave` or `delete` with the object as that subscriber may see it
/// (protected fields removed, `keys` applied). Sessions that end end their subscriptions.
///
/// It runs as a `Service`: until graceful shutdown, then it closes every connection.
public final class LiveQueryHub: Service, Sendable {
    /// The gateway serving now (a configuration reload swaps it; the change feed stays the same).
    private let currentGateway: @Sendable () -> Gateway
    var gateway: Gateway { currentGateway() }
    let sessions: (any LiveQuerySessions)?
    let authenticate: @Sendable (LiveQueryCredentials) -> Caller?
    let metrics: LiveQueryMetrics
    let logger: Logger
    let feed: ChangeFeed.Subscription
    private let sessionEvents: AsyncStream<SessionEvents.Event>?
    private let gaps: AsyncStream<String>
    let state: Mutex<State>
    /// Polls the collections that declare `liveQuery.poll`; a service of its own beside the hub.
    public let poller: LiveQueryPoller
    /// Last known images of objects subscribers see (for changes announced without them).
    let images: LiveQueryImages
    /// Whether every class's changes may arrive without images (several nodes), not only trigger-fed ones.
    let imagesForAllClasses: Bool

    struct State {
        var clients: [Int: LiveQueryConnection] = [:]
        var nextId = 1
        /// The settings in force: those read at start, then each reload's (`reconfigure`).
        var settings: LiveQuerySettings
        var classes: Set<String>
        /// Counts reloads, so that a subscribe that a reload overtook checks itself again.
        var generation = 0
        /// Gap resyncs completed (tests, diagnostics).
        var resyncs = 0
        /// Master reads of images made (subscribe, update, resync, reload; tests, diagnostics).
        var imageReads = 0
    }

    /// The `liveQuery` settings in force (a configuration reload may change them; see `reconfigure`).
    public var settings: LiveQuerySettings { state.withLock { $0.settings } }
    /// The classes clients may subscribe to now.
    var classes: Set<String> { state.withLock { $0.classes } }

    /// - Parameters:
    ///   - authenticate: checks a `connect` message's application id and keys as the REST API does; the caller
    ///     they make (master or anonymous) or nil when they are refused.
    ///   - sessions: resolves session tokens (nil: no users configured; a token is then refused with 209).
    ///   - current: the gateway serving now, when a reload may replace `gateway` (it must keep its change feed).
    ///   - imagesForAllClasses: other nodes announce writes without images (a cluster): remember images of
    ///     every live class, not only of trigger-fed ones (`LiveQueryImages`).
    public init(gateway: Gateway, current: (@Sendable () -> Gateway)? = nil, settings: LiveQuerySettings, sessions: (any LiveQuerySessions)?,
                authenticate: @escaping @Sendable (LiveQueryCredentials) -> Caller?,
                metricsFactory: any MetricsFactory = MetricsSystem.factory, logger: Logger = Logger(label: "causeway.livequery"),
                pollClock: any Clock<Duration> = ContinuousClock(), imagesForAllClasses: Bool = false) {
        let currentGateway = current ?? { gateway }
        self.currentGateway = currentGateway
        self.poller = LiveQueryPoller(gateway: currentGateway, classes: Set(settings.classes), clock: pollClock, logger: logger)
        self.state = Mutex(State(settings: settings, classes: Set(settings.classes)))
        self.sessions = sessions
        self.authenticate = authenticate
        self.metrics = LiveQueryMetrics(factory: metricsFactory)
        self.logger = logger
        self.images = LiveQueryImages(maxBytes: settings.rememberedObjectsBytes)
        self.imagesForAllClasses = imagesForAllClasses
        // Subscribed now, so that no change between building and running is missed.
        self.feed = gateway.changes.subscription(classes: Set(settings.classes), bufferSize: Self.feedBufferCount,
                                                 maxBytes: settings.feedBufferBytes)
        self.sessionEvents = sessions?.events()
        self.gaps = gateway.changes.gaps()
    }

    public func run() async throws {
        for name in settings.classes.sorted() where !gateway.classNames.contains(name) {
            logger.warning("liveQuery.classes names a class no connector serves", metadata: ["causeway.class": .string(name)])
        }
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                if let sessionEvents = self.sessionEvents {
                    group.addTask { for await event in sessionEvents { await self.sessionEvent(event) } }
                }
                group.addTask {
                    for await className in self.gaps {
                        await self.resync(className)
                        self.state.withLock { $0.resyncs += 1 }
                    }
                }
                for await change in self.feed.changes { await self.deliver(change) }
                group.cancelAll()
            }
        }
        for client in state.withLock({ Array($0.clients.values) }) { client.close(.shutdown) }
    }

    // MARK: Connections

    /// A new connection, or nil when the node serves `maxClients` already.
    public func open(remoteAddress: String? = nil) -> LiveQueryConnection? {
        let connection = state.withLock { s -> LiveQueryConnection? in
            guard s.clients.count < s.settings.maxClients else { return nil }
            let c = LiveQueryConnection(id: s.nextId, hub: self, queueSize: s.settings.sendQueueSize, queueBytes: s.settings.sendQueueBytes,
                                        remoteAddress: remoteAddress)
            s.nextId += 1
            s.clients[c.id] = c
            return c
        }
        if connection == nil { metrics.refusedClient() } else { metrics.adjust(clients: 1) }
        return connection
    }

    /// The message a refused connection gets before it is closed (`LiveQueryCloseReason.tooManyClients`).
    public var tooManyClientsMessage: String {
        LiveQueryReply.error(code: ParseErrorCode.requestLimitExceeded.rawValue,
                             "This node serves its maximum of \(settings.maxClients) LiveQuery clients; try again later.", reconnect: true)
    }

    func remove(_ connection: LiveQueryConnection) {
        let removed = state.withLock { $0.clients.removeValue(forKey: connection.id) } != nil
        dropSubscriptions(of: connection)
        if removed { metrics.adjust(clients: -1) }
    }

    func dropSubscriptions(of connection: LiveQueryConnection) {
        let n = connection.state.withLock { s -> Int in defer { s.subscriptions = [:] }; return s.subscriptions.count }
        if n > 0 { metrics.adjust(subscriptions: -n) }
    }

    /// Connected clients and their subscriptions on this node.
    public var counts: (clients: Int, subscriptions: Int) { metrics.current }

    // MARK: Client messages

    func handle(_ text: String, from connection: LiveQueryConnection) async {
        guard connection.closeReason == nil else { return }
        let request: LiveQueryRequest
        do { request = try LiveQueryRequest.parse(text) } catch {
            connection.send(LiveQueryReply.error(code: error.code, error.message, reconnect: true, requestId: error.requestId))
            return
        }
        switch request {
        case .connect(let credentials): await connect(credentials, connection)
        case .subscribe(let r): await subscribe(r, connection, op: "subscribed")
        case .update(let r): await subscribe(r, connection, op: "subscribed")
        case .unsubscribe(let requestId):
            let (found, connected, installation) = connection.state.withLock { s in
                (s.subscriptions.removeValue(forKey: requestId) != nil, s.connected != nil, s.installationId)
            }
            guard connected else {
                connection.send(LiveQueryReply.error(code: 2, "Can not find this client, make sure you connect to server before unsubscribing", reconnect: true))
                return
            }
            guard found else {
                connection.send(LiveQueryReply.error(code: 2, "Cannot find subscription with clientId \(connection.id) subscriptionId \(requestId). Make sure you subscribe to live query server before unsubscribing.", reconnect: true, requestId: requestId))
                return
            }
            metrics.adjust(subscriptions: -1)
            connection.send(LiveQueryReply.subscribed("unsubscribed", clientId: connection.id, installationId: installation, requestId: requestId))
        }
    }

    private func connect(_ credentials: LiveQueryCredentials, _ connection: LiveQueryConnection) async {
        var credentials = credentials
        credentials.remoteAddress = connection.remoteAddress
        guard let caller = authenticate(credentials) else {
            connection.send(LiveQueryReply.error(code: 4, "Key in request is not valid", reconnect: true))
            return
        }
        var identity = LiveQueryIdentity(caller: caller)
        if !caller.isMaster, let token = credentials.sessionToken {
            guard let resolved = await resolve(token) else {
                connection.send(LiveQueryReply.error(code: ParseErrorCode.invalidSessionToken.rawValue, "Invalid session token", reconnect: false))
                return
            }
            identity = resolved
        }
        connection.state.withLock { s in
            s.connected = identity
            s.connectToken = caller.isMaster ? nil : credentials.sessionToken
            s.installationId = credentials.installationId
        }
        connection.send(LiveQueryReply.connected(clientId: connection.id, installationId: credentials.installationId))
    }

    private func resolve(_ token: String) async -> LiveQueryIdentity? {
        guard let sessions else { return nil }
        do { return try await sessions.resolve(token: token) } catch { return nil }
    }

    private func subscribe(_ r: LiveQueryRequest.SubscribeRequest, _ connection: LiveQueryConnection, op: String) async {
        let (connected, connectToken, installation) = connection.state.withLock { ($0.connected, $0.connectToken, $0.installationId) }
        func fail(_ code: Int, _ message: String) {
            connection.send(LiveQueryReply.error(code: code, message, reconnect: false, requestId: r.requestId))
        }
        guard var identity = connected else {
            connection.send(LiveQueryReply.error(code: 2, "Can not find this client, make sure you connect to server before subscribing", reconnect: true, requestId: r.requestId))
            return
        }
        if let token = r.sessionToken, !identity.caller.isMaster {
            guard let resolved = await resolve(token) else { return fail(ParseErrorCode.invalidSessionToken.rawValue, "Invalid session token") }
            identity = resolved
        }
        let sessionToken = r.sessionToken ?? connectToken
        var generation = state.withLock { $0.generation }
        var made: (subscription: LiveQuerySubscription, schema: CollectionSchema)
        do { made = try validated(r, identity: identity, sessionToken: sessionToken) } catch { return fail(error.code.rawValue, error.message) }
        let subscription = made.subscription
        let maxSubscriptions = settings.maxSubscriptionsPerClient
        var previous: LiveQuerySubscription?
        let outcome = connection.state.withLock { s -> Int? in
            previous = s.subscriptions[r.requestId]
            let replacing = previous != nil
            if !replacing, s.subscriptions.count >= maxSubscriptions { return nil }
            s.subscriptions[r.requestId] = subscription
            return replacing ? 0 : 1
        }
        guard let added = outcome else {
            return fail(ParseErrorCode.requestLimitExceeded.rawValue, "Too many subscriptions on this connection (liveQuery.maxSubscriptionsPerClient is \(maxSubscriptions)).")
        }
        if connection.closeReason != nil { dropSubscriptions(of: connection); return }
        if added > 0 { metrics.adjust(subscriptions: added) }
        // A reload between the checks and the insertion (it may have passed over this connection already): checked
        // again under the configuration serving now.
        while state.withLock({ $0.generation }) != generation {
            generation = state.withLock { $0.generation }
            do {
                made = try validated(r, identity: identity, sessionToken: sessionToken)
            } catch {
                if connection.state.withLock({ $0.subscriptions.removeValue(forKey: r.requestId) }) != nil { metrics.adjust(subscriptions: -1) }
                return fail(error.code.rawValue, error.message)
            }
            let replacement = made.subscription
            connection.state.withLock { s in if s.subscriptions[r.requestId] != nil { s.subscriptions[r.requestId] = replacement } }
        }
        let schema = made.schema
        // Before `subscribed`: once the client knows it is subscribed, a delete announced without the object
        // finds the objects it matches remembered.
        // An `update` (or a repeated subscribe) with the same query and permission filter matches the objects already
        // read: no new read, so resending it costs nothing.
        let sameMatches = previous.map { $0.className == made.subscription.className && $0.query == made.subscription.query
            && $0.readFilter == made.subscription.readFilter } ?? false
        if remembersImages(schema), !sameMatches { await rememberMatches(of: made.subscription, schema: schema) }
        connection.send(LiveQueryReply.subscribed(op, clientId: connection.id, installationId: installation, requestId: r.requestId))
    }

    /// The subscription as the configuration serving now allows it, with its collection, or the refusal.
    private func validated(_ r: LiveQueryRequest.SubscribeRequest, identity: LiveQueryIdentity,
                           sessionToken: String?) throws(GatewayError) -> (subscription: LiveQuerySubscription, schema: CollectionSchema) {
        guard classes.contains(r.className) else {
            throw GatewayError(.operationForbidden, "LiveQuery is not enabled for class \(r.className) (liveQuery.classes in causeway.yaml).")
        }
        let gateway = self.gateway
        let schema = try gateway.schema(for: r.className)
        return (try makeSubscription(r, schema: schema, identity: identity, sessionToken: sessionToken, gateway: gateway), schema)
    }

    /// The subscription with the subscriber's permission filters, or the error a `find` by them would get.
    func makeSubscription(_ r: LiveQueryRequest.SubscribeRequest, schema: CollectionSchema, identity: LiveQueryIdentity,
                          sessionToken: String?, gateway: Gateway? = nil) throws(GatewayError) -> LiveQuerySubscription {
        let gateway = gateway ?? self.gateway
        let caller = identity.caller
        guard schema.permissions.allows(.find, caller: caller) else {
            throw GatewayError(.operationForbidden, "Permission denied for action find on class \(schema.className).")
        }
        // The same bounds a find's where gets: a subscription's where is evaluated on every change.
        if let w = r.where { try gateway.config.limits.whereClause.check(w) }
        let query = try r.where.flatMap { w throws(GatewayError) in try QueryParser(schema: schema).parse(w) }
        let hidden = schema.access.hiddenFields(caller)
        for path in query?.fieldPaths ?? [] {
            let root = String(path.split(separator: ".").first ?? Substring(path))
            if hidden.contains(root) {
                throw GatewayError(.operationForbidden, "Permission denied: \(schema.className).\(root) is a protected field and cannot be queried.")
            }
        }
        return LiveQuerySubscription(requestId: r.requestId, className: schema.className, query: query, whereJSON: r.where, keys: r.keys.map(Set.init),
                                     identity: identity, sessionToken: sessionToken,
                                     readFilter: try schema.access.readFilter(caller, schema: schema), hidden: hidden, builtWith: gateway)
    }

    // MARK: Changes

    /// The most changes waiting for the fan-out (besides `liveQuery.feedBufferBytes`).
    static let feedBufferCount = 100_000

    /// Sends every subscriber the event `change` means for them.
    func deliver(_ change: ObjectChange) async {
        metrics.change()
        if noteDroppedChanges() {
            // Changes went unheard: the images of every class that keeps them may be stale (as after a gap).
            for className in classes.sorted() { await resync(className) }
        }
        guard classes.contains(change.className) else { return }
        // One pass over the clients: each one's subscriptions to this class, in the order they were made (their
        // request ids), so a client sees one change's events in a stable order.
        let clients = state.withLock { Array($0.clients.values) }
        var interested: [(client: LiveQueryConnection, subscriptions: [LiveQuerySubscription], installation: String?)] = []
        for client in clients {
            let (subscriptions, installation) = client.state.withLock { s in
                (s.subscriptions.values.filter { $0.className == change.className }, s.installationId)
            }
            if !subscriptions.isEmpty { interested.append((client, subscriptions.sorted { $0.requestId < $1.requestId }, installation)) }
        }
        guard !interested.isEmpty else {
            // Nobody to tell; an image remembered from before would now be stale.
            images.forget(change.className, change.objectId)
            return
        }
        let gateway = self.gateway
        guard let schema = try? gateway.schema(for: change.className) else { return }
        var before = change.original
        var after = change.object
        let remembers = remembersImages(schema)
        // Announced without the object before the change (a trigger, another node): the last image this node
        // remembers stands in for it, so deletes and leaves reach those who saw the object.
        if before == nil, change.kind != .create, remembers { before = images.image(change.className, change.objectId) }
        switch change.kind {
        case .create, .update:
            if after == nil {
                // Announced without the object (another node, a source): read it as it is now.
                do {
                    after = try await gateway.get(change.className, objectId: change.objectId, keys: nil, caller: .master)
                } catch {
                    logger.debug("changed object could not be read; no event", metadata: [
                        "causeway.class": .string(change.className), "error": .string(String(describing: error))])
                    return
                }
            }
        case .delete:
            if before == nil {
                after = ParseObject(objectId: change.objectId)
                metrics.unrouted()
            }
        }
        if change.kind == .create { before = nil }
        let now = ParseDate.now()
        var seen = false
        // The events are worked out first and sent after the images are updated, so that whoever has received a
        // change's events finds the images as that change left them.
        var outgoing: [(client: LiveQueryConnection, message: String)] = []
        var expiredBy: [(client: LiveQueryConnection, requestIds: [Int])] = []
        for (client, subscriptions, installation) in interested {
            var expired: [Int] = []
            for stored in subscriptions {
                if let expiry = stored.identity.expiresAt, expiry < now { expired.append(stored.requestId); continue }
                guard let subscription = effective(stored, schema: schema, gateway: gateway) else { continue }
                guard let (event, object, original) = subscription.event(change.kind, schema: schema, before: before, after: after) else { continue }
                if event != .leave && event != .delete { seen = true }
                metrics.delivered(event)
                outgoing.append((client, LiveQueryReply.event(event, clientId: client.id, installationId: installation, requestId: subscription.requestId,
                                                               className: change.className, object: object, original: original)))
            }
            if !expired.isEmpty { expiredBy.append((client, expired)) }
        }
        if remembers {
            // Kept while some subscriber sees the object; forgotten once nobody does (or it is gone).
            if change.kind != .delete, seen, let after { images.remember(after, className: change.className) } else { images.forget(change.className, change.objectId) }
        }
        for (client, message) in outgoing { client.send(message) }
        for (client, ids) in expiredBy { end(ids, of: client) }
    }

    /// The subscription as `deliver` applies it under `gateway`, the configuration serving now. A subscription
    /// that a reload's `reconfigure` has not rebuilt yet (made under the previous gateway) gets the stricter of
    /// both: its own filters and hidden fields and those the serving configuration gives its subscriber; when
    /// the serving configuration refuses it, nothing (`reconfigure` ends it). So a reload that adds a protected
    /// field or a row rule never shows existing subscribers what it hides, not even between the swap and the rebuild.
    func effective(_ subscription: LiveQuerySubscription, schema: CollectionSchema, gateway: Gateway) -> LiveQuerySubscription? {
        guard subscription.builtWith !== gateway else { return subscription }
        let request = LiveQueryRequest.SubscribeRequest(requestId: subscription.requestId, className: subscription.className,
                                                        where: subscription.whereJSON, keys: subscription.keys.map { $0.sorted() },
                                                        sessionToken: nil)
        guard let serving = try? makeSubscription(request, schema: schema, identity: subscription.identity,
                                                  sessionToken: subscription.sessionToken, gateway: gateway) else { return nil }
        var strict = subscription
        strict.hidden.formUnion(serving.hidden)
        let filters = [subscription.readFilter, serving.readFilter].compactMap { $0 }
        strict.readFilter = filters.count > 1 ? .and(filters) : filters.first
        let queries = [subscription.query, serving.query].compactMap { $0 }
        strict.query = queries.count > 1 ? .and(queries) : queries.first
        return strict
    }

    /// Changes the feed dropped because the fan-out fell behind by more than its buffer (`feedBufferBytes`,
    /// 100,000 changes): counted and logged; subscribers missed their events. True when some were dropped since
    /// the last call.
    @discardableResult
    private func noteDroppedChanges() -> Bool {
        let new = metrics.feedDropped(total: feed.dropped)
        guard new > 0 else { return false }
        logger.warning("LiveQuery fell behind the change feed: changes were dropped and their events not sent", metadata: [
            "causeway.dropped": .stringConvertible(new), "causeway.feedBufferBytes": .stringConvertible(settings.feedBufferBytes)])
        return true
    }

    // MARK: Sessions

    func sessionEvent(_ event: SessionEvents.Event) async {
        let clients = state.withLock { Array($0.clients.values) }
        switch event {
        case .ended(let hash):
            for client in clients {
                let (own, ids) = client.state.withLock { s in
                    (s.connected?.tokenHash == hash, s.subscriptions.values.filter { $0.identity.tokenHash == hash }.map(\.requestId))
                }
                if own { endConnection(client) } else if !ids.isEmpty { end(ids, of: client) }
            }
        case .userChanged(let userId):
            for client in clients {
                let (connected, connectToken, subscriptions) = client.state.withLock { s in
                    (s.connected, s.connectToken, Array(s.subscriptions.values))
                }
                if connected?.caller.user?.objectId == userId, let token = connectToken {
                    guard let identity = await resolve(token) else { endConnection(client); continue }
                    client.state.withLock { $0.connected = identity }
                }
                var ended: [Int] = []
                for subscription in subscriptions where subscription.identity.caller.user?.objectId == userId {
                    guard let token = subscription.sessionToken, let identity = await resolve(token),
                          let schema = try? gateway.schema(for: subscription.className) else {
                        ended.append(subscription.requestId)
                        continue
                    }
                    // Roles or attributes may have changed: the permission filters are worked out again.
                    let request = LiveQueryRequest.SubscribeRequest(requestId: subscription.requestId, className: subscription.className,
                                                                    where: nil, keys: nil, sessionToken: nil)
                    do {
                        var refreshed = try makeSubscription(request, schema: schema, identity: identity, sessionToken: token)
                        refreshed.query = subscription.query
                        refreshed.whereJSON = subscription.whereJSON
                        refreshed.keys = subscription.keys
                        client.state.withLock { s in
                            if s.subscriptions[subscription.requestId] != nil { s.subscriptions[subscription.requestId] = refreshed }
                        }
                    } catch {
                        ended.append(subscription.requestId)
                    }
                }
                if !ended.isEmpty { end(ended, of: client) }
            }
        }
    }

    /// Ends subscriptions whose session ended or that the subscriber may no longer hold: an `error` with
    /// their request id each (code 209, `reconnect: false`), and no more events.
    func end(_ requestIds: [Int], of client: LiveQueryConnection) {
        let removed = client.state.withLock { s in requestIds.filter { s.subscriptions.removeValue(forKey: $0) != nil } }
        guard !removed.isEmpty else { return }
        metrics.adjust(subscriptions: -removed.count)
        for id in removed {
            client.send(LiveQueryReply.error(code: ParseErrorCode.invalidSessionToken.rawValue, "Invalid session token", reconnect: false, requestId: id))
        }
    }

    /// The connection's own session ended: an `error` (209, `reconnect: false`), then the connection is closed (4001).
    private func endConnection(_ client: LiveQueryConnection) {
        client.send(LiveQueryReply.error(code: ParseErrorCode.invalidSessionToken.rawValue, "Invalid session token", reconnect: false))
        client.close(.sessionEnded)
    }
}

import CausewayCore

/// A configuration reload (`GatewayReloader`, SIGHUP or the admin page) as LiveQuery sees it.
extension LiveQueryHub {
    /// What a reload changed for existing subscriptions.
    public struct ReloadOutcome: Sendable, Equatable {
        /// Subscriptions now filtered with the new configuration's permissions and mappings.
        public var kept = 0
        /// Subscriptions ended with an `error` event (class no longer live, no `find` permission any more, a
        /// `where` the new mapping refuses, a protected field in it).
        public var ended = 0

        public init(kept: Int = 0, ended: Int = 0) {
            self.kept = kept
            self.ended = ended
        }
    }

    /// Takes the reloaded configuration: `gateway` is the new one (its `config.liveQuery`, absent: no class is
    /// live any more). Called by the reloader after the new gateway serves, before the reload returns.
    ///
    /// - `classes`, `maxClients`, `maxSubscriptionsPerClient`, `sendQueueSize` and `sendQueueBytes` (for connections opened from now
    ///   on), `rememberedObjectsBytes`, `rememberedObjectsPerSubscription` and `feedBufferBytes` take the new values. Limits that
    ///   went down end nothing: a connection over the new `maxSubscriptionsPerClient` keeps what it has and is
    ///   refused new ones; a node over `maxClients` refuses new clients until it is below.
    /// - `path`, `pingIntervalSeconds` and `maxMessageBytes` keep their running values: they are part of the
    ///   HTTP server's channel configuration, which is built once at start (the reloader notes them as needing
    ///   a restart).
    /// - Remembered images of every live class are dropped and read again under the new configuration (`resync`).
    /// - Every subscription is made again, as its `subscribe` would be now, for the same subscriber (session and
    ///   roles as resolved before): with the new class permissions, row rules, ACL setting, protected fields and
    ///   field mappings (its `where` is parsed again). What `subscribe` would refuse now ends the subscription
    ///   with an `error` event carrying the refusal's code, message and request id (`reconnect: false`): 119 when
    ///   the class left `liveQuery.classes` or the subscriber lost `find`, 103 when no connector serves the
    ///   class any more, 102 … for a `where` the new mapping refuses. A class whose connector is not up (yet) is
    ///   checked against its declared collection; the subscription stays, and gets events once it is up.
    @discardableResult
    public func reconfigure(_ gateway: Gateway) async -> ReloadOutcome {
        let running = settings
        var next = gateway.config.liveQuery ?? LiveQuerySettings(classes: [])
        next.path = running.path
        next.pingIntervalSeconds = running.pingIntervalSeconds
        next.maxMessageBytes = running.maxMessageBytes
        let classes = Set(next.classes)
        state.withLock { s in
            s.settings = next
            s.classes = classes
            s.generation += 1
        }
        feed.setClasses(classes)
        feed.setMaxBytes(next.feedBufferBytes)
        poller.reconfigure(classes: classes)
        images.setLimit(next.rememberedObjectsBytes)
        let served = Set(gateway.classNames)
        images.forgetClasses { classes.contains($0) && served.contains($0) }
        for name in next.classes.sorted() where !served.contains(name) {
            logger.warning("liveQuery.classes names a class no connector serves", metadata: ["causeway.class": .string(name)])
        }

        var outcome = ReloadOutcome()
        for client in state.withLock({ Array($0.clients.values) }) {
            let subscriptions = client.state.withLock { s in s.subscriptions.values.sorted { $0.requestId < $1.requestId } }
            var ended: [(Int, GatewayError)] = []
            for subscription in subscriptions {
                guard classes.contains(subscription.className) else {
                    ended.append((subscription.requestId, GatewayError(.operationForbidden,
                        "LiveQuery is no longer enabled for class \(subscription.className) (liveQuery.classes in causeway.yaml changed); this subscription ended.")))
                    continue
                }
                do {
                    let schema = try declaredSchema(subscription.className, in: gateway)
                    let request = LiveQueryRequest.SubscribeRequest(requestId: subscription.requestId, className: subscription.className,
                                                                    where: subscription.whereJSON, keys: subscription.keys.map { $0.sorted() },
                                                                    sessionToken: nil)
                    let refreshed = try makeSubscription(request, schema: schema, identity: subscription.identity,
                                                         sessionToken: subscription.sessionToken, gateway: gateway)
                    let replaced = client.state.withLock { s -> Bool in
                        guard s.subscriptions[subscription.requestId] != nil else { return false }
                        s.subscriptions[subscription.requestId] = refreshed
                        return true
                    }
                    if replaced { outcome.kept += 1 }
                } catch {
                    ended.append((subscription.requestId, error))
                }
            }
            outcome.ended += end(ended, of: client)
        }
        // Images were read and recorded under the previous configuration (its field names, mappings, permissions,
        // perhaps another source): dropped and read again for the subscriptions as they are now, as after a gap.
        for className in next.classes.sorted() where served.contains(className) { await resync(className) }
        if outcome.ended > 0 {
            logger.notice("LiveQuery: subscriptions the reloaded configuration no longer allows were ended",
                          metadata: ["causeway.ended": .stringConvertible(outcome.ended), "causeway.kept": .stringConvertible(outcome.kept)])
        }
        return outcome
    }

    /// The class's collection in `gateway`; when its connector is not up, the collection it declares.
    private func declaredSchema(_ className: String, in gateway: Gateway) throws(GatewayError) -> CollectionSchema {
        do {
            return try gateway.schema(for: className)
        } catch let error where error.code == .connectionFailed {
            for connector in gateway.connectors {
                if let schema = connector.collections.first(where: { $0.className == className }) { return schema }
            }
            throw error
        }
    }

    /// Ends subscriptions with an `error` event each (the refusal's code and message, `reconnect: false`).
    /// Returns how many were still there to end.
    private func end(_ refusals: [(Int, GatewayError)], of client: LiveQueryConnection) -> Int {
        guard !refusals.isEmpty else { return 0 }
        let removed = client.state.withLock { s in refusals.filter { s.subscriptions.removeValue(forKey: $0.0) != nil } }
        guard !removed.isEmpty else { return 0 }
        metrics.adjust(subscriptions: -removed.count)
        for (id, error) in removed {
            client.send(LiveQueryReply.error(code: error.code.rawValue, error.message, reconnect: false, requestId: id))
        }
        return removed.count
    }
}

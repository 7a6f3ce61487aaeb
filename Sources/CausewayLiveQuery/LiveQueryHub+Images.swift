import CausewayCore

/// Which classes' object images the hub remembers, and the read that fills them when a subscription starts
/// (see `LiveQueryImages`).
extension LiveQueryHub {
    /// Whether changes of this class may arrive without the object before them, so its images are kept:
    /// collections fed by PostgreSQL triggers and, on a cluster, every class (other nodes announce only keys).
    func remembersImages(_ schema: CollectionSchema) -> Bool {
        (schema.liveQueryTriggers || imagesForAllClasses) && settings.rememberedObjectsBytes > 0
    }

    /// Reads (master key, bypassing the cache) up to `rememberedObjectsPerSubscription` objects that match the
    /// subscription's query and that its subscriber may read, and remembers those not remembered yet (an image
    /// from a change is newer than this read). A subscription matching more objects than that has the rest
    /// remembered only once a change shows them; a failed read is logged and costs only those images.
    func rememberMatches(of subscription: LiveQuerySubscription, schema: CollectionSchema) async {
        let limit = settings.rememberedObjectsPerSubscription
        guard limit > 0 else { return }
        let conditions = [subscription.query, subscription.readFilter].compactMap { $0 }
        let filter: QueryFilter? = conditions.count > 1 ? .and(conditions) : conditions.first
        do {
            let result = try await gateway.find(schema.className, FindQuery(filter: filter, limit: limit), caller: .master,
                                                logger: logger, cacheMode: .bypass)
            for object in result.objects { images.remember(object, className: schema.className, ifAbsent: true) }
        } catch {
            logger.warning("LiveQuery: the objects a new subscription matches could not be read; deletes made directly in the source reach it only for objects a later change shows", metadata: [
                "causeway.class": .string(schema.className), "error": .string(String(describing: error))])
        }
    }

    /// Changes of `className` may have gone unheard (`ChangeFeed.announceGap`: a trigger listener reconnected):
    /// its remembered images are dropped and read again for the subscriptions on it (one read per distinct
    /// query and permission filter).
    public func resync(_ className: String) async {
        guard let schema = try? gateway.schema(for: className), remembersImages(schema) else { return }
        images.forgetClasses { $0 != className }
        var done = Set<[QueryFilter?]>()
        for client in state.withLock({ Array($0.clients.values) }) {
            let subscriptions = client.state.withLock { s in s.subscriptions.values.filter { $0.className == className } }
            for subscription in subscriptions where done.insert([subscription.query, subscription.readFilter]).inserted {
                await rememberMatches(of: subscription, schema: schema)
            }
        }
    }

    /// Objects remembered now, their size and the budget (tests, diagnostics).
    public var rememberedImages: (count: Int, bytes: Int, limit: Int) { images.usage }
}

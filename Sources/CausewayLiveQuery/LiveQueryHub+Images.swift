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
    /// Returns the bytes of the objects read (their images' sizes), for `resync`'s budget.
    @discardableResult
    func rememberMatches(of subscription: LiveQuerySubscription, schema: CollectionSchema) async -> Int {
        let limit = settings.rememberedObjectsPerSubscription
        guard limit > 0 else { return 0 }
        state.withLock { $0.imageReads += 1 }
        let conditions = [subscription.query, subscription.readFilter].compactMap { $0 }
        let filter: QueryFilter? = conditions.count > 1 ? .and(conditions) : conditions.first
        do {
            let result = try await gateway.find(schema.className, FindQuery(filter: filter, limit: limit), caller: .master,
                                                logger: logger, cacheMode: .bypass)
            var bytes = 0
            for object in result.objects { bytes += images.remember(object, className: schema.className, ifAbsent: true) }
            return bytes
        } catch {
            logger.warning("LiveQuery: the objects a new subscription matches could not be read; deletes made directly in the source reach it only for objects a later change shows", metadata: [
                "causeway.class": .string(schema.className), "error": .string(String(describing: error))])
            return 0
        }
    }

    /// Changes of `className` may have gone unheard (`ChangeFeed.announceGap`: a trigger listener reconnected):
    /// its remembered images are dropped and read again for the subscriptions on it (one read per distinct
    /// query and permission filter).
    ///
    /// The reads stop once they have read as many bytes of objects as the whole image budget
    /// (`rememberedObjectsBytes`) holds: more would only evict what was just read. So one resync reads at most
    /// that budget plus one read's `rememberedObjectsPerSubscription` rows, however many subscribers there are;
    /// subscriptions left over get their images from later changes.
    public func resync(_ className: String) async {
        guard let schema = try? gateway.schema(for: className) else {
            images.forgetClasses { $0 != className }
            return
        }
        images.forgetClasses { $0 != className }
        guard remembersImages(schema) else { return }
        let budget = settings.rememberedObjectsBytes
        var read = 0
        var done = Set<[QueryFilter?]>()
        for client in state.withLock({ Array($0.clients.values) }) {
            let subscriptions = client.state.withLock { s in s.subscriptions.values.filter { $0.className == className } }
            for subscription in subscriptions where done.insert([subscription.query, subscription.readFilter]).inserted {
                guard read < budget else {
                    logger.notice("LiveQuery: images read again up to their budget; other subscriptions get theirs from later changes",
                                  metadata: ["causeway.class": .string(className), "causeway.bytes": .stringConvertible(read)])
                    return
                }
                read += await rememberMatches(of: subscription, schema: schema)
            }
        }
    }

    /// Gap resyncs completed and master reads of images made since start (tests, diagnostics).
    public var imageActivity: (resyncs: Int, reads: Int) { state.withLock { ($0.resyncs, $0.imageReads) } }

    /// Objects remembered now, their size and the budget (tests, diagnostics).
    public var rememberedImages: (count: Int, bytes: Int, limit: Int) { images.usage }
}

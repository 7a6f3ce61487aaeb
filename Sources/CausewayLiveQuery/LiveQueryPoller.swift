import CausewayCore
import Logging
import ServiceLifecycle
import Synchronization

/// Polls the collections that declare `liveQuery.poll` (REST and SQLite sources changed by other
/// applications) and announces rows whose `updatedAtField` advanced on the gateway's change feed, with
/// origin `.source`: `create` when the row's `createdAt` is newer than the previous poll, `update` otherwise.
///
/// Rows changed before the poller started are not announced (the mark starts at the gateway's clock, so a
/// source whose clock runs behind shows its changes late by that much). Rows equal to the mark are
/// remembered by id so that a row sharing the mark's timestamp is announced once. Rows the gateway itself
/// just wrote (its own feed says so, with the same timestamp) are not announced twice. Deletions cannot be
/// seen by polling. Runs as a `Service`; the clock is injectable for tests. A configuration reload
/// (`reconfigure`) restarts the loops with the collections and classes then configured; a collection whose
/// `updatedAtField` did not change continues from its mark.
public final class LiveQueryPoller: Service, Sendable {
    private let currentGateway: @Sendable () -> Gateway
    private let clock: any Clock<Duration>
    private let logger: Logger
    private let classes: Mutex<Set<String>>
    /// Objects the gateway announced itself, by class and id: the timestamp they had.
    private let announced = Mutex<[String: ParseValue]>([:])
    /// Where each collection's poll stands (by class), kept across reloads with its `updatedAtField`.
    private let marks = Mutex<[String: (field: String, mark: Mark)]>([:])
    private let reloads: AsyncStream<Void>
    private let reloadContinuation: AsyncStream<Void>.Continuation

    public init(gateway: @escaping @Sendable () -> Gateway, classes: Set<String>, clock: any Clock<Duration> = ContinuousClock(),
                logger: Logger = Logger(label: "causeway.livequery.poll")) {
        self.currentGateway = gateway
        self.clock = clock
        self.logger = logger
        self.classes = Mutex(classes)
        (reloads, reloadContinuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// A configuration reload: from now on, the polled collections of the gateway serving now among `classes`.
    public func reconfigure(classes: Set<String>) {
        self.classes.withLock { $0 = classes }
        reloadContinuation.yield()
    }

    /// The polled collections of the gateway serving now (only those LiveQuery serves).
    var collections: [(schema: CollectionSchema, connector: String, poll: LiveQueryPoll)] {
        let classes = self.classes.withLock { $0 }
        return currentGateway().connectors.flatMap { c in
            c.collections.compactMap { s in s.liveQueryPoll.flatMap { classes.contains(s.className) ? (s, c.name, $0) : nil } }
        }
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            var reloads = self.reloads.makeAsyncIterator()
            while !Task.isCancelled {
                // Until the next reload: then the loops restart with what is configured then.
                let targets = self.collections
                let reloaded = await withDiscardingTaskGroup { group -> Bool in
                    if !targets.isEmpty { group.addTask { await self.pollAll(targets) } }
                    let next: Void? = await reloads.next()
                    group.cancelAll()
                    return next != nil
                }
                if !reloaded { return }
            }
        }
    }

    /// The loops of `targets` and the record of what the gateway announced itself, until cancelled.
    private func pollAll(_ targets: [(schema: CollectionSchema, connector: String, poll: LiveQueryPoll)]) async {
        let own = currentGateway().changes.subscribe(classes: Set(targets.map(\.schema.className)), bufferSize: 10_000, wantsImages: false)
        await withDiscardingTaskGroup { group in
            group.addTask {
                for await change in own where change.origin != .source {
                    guard let field = targets.first(where: { $0.schema.className == change.className })?.poll.updatedAtField,
                          let value = change.object?.value(forPath: field) else { continue }
                    self.announced.withLock { a in
                        if a.count > 10_000 { a.removeAll() }
                        a[change.className + "/" + change.objectId] = value
                    }
                }
            }
            for target in targets {
                group.addTask { await self.poll(target.schema.className, connector: target.connector, target.poll) }
            }
        }
    }

    /// One collection's loop until cancelled.
    func poll(_ className: String, connector: String, _ poll: LiveQueryPoll) async {
        // After a reload, from where the previous loop stood (same field); otherwise from now.
        var mark = marks.withLock { m in m[className].flatMap { $0.field == poll.updatedAtField ? $0.mark : nil } }
            ?? Mark(value: .date(.now()), started: true)
        while !Task.isCancelled {
            do {
                mark = try await pollOnce(className, connector: connector, poll, mark: mark)
                let reached = mark
                marks.withLock { $0[className] = (poll.updatedAtField, reached) }
            } catch {
                logger.warning("LiveQuery poll failed; retrying at the next interval", metadata: [
                    "causeway.class": .string(className), "error": .string(String(describing: error))])
            }
            do { try await clock.sleep(for: poll.interval) } catch { return }
        }
    }

    /// Where a collection's poll stands: the newest timestamp seen and the ids seen with it. A mark that has
    /// not `started` takes the newest row's timestamp at its first poll.
    struct Mark: Sendable {
        var value: ParseValue?
        var idsAtValue: Set<String> = []
        var started = false
    }

    /// Reads the rows at or after the mark, announces the new ones, returns the new mark.
    func pollOnce(_ className: String, connector: String, _ poll: LiveQueryPoll, mark: Mark) async throws -> Mark {
        let gateway = currentGateway()
        let field = poll.updatedAtField
        // objectId breaks ties, so pages of rows sharing one timestamp come in a stable order.
        var query = FindQuery(sort: [.field(field, descending: !mark.started), .field("objectId", descending: !mark.started)],
                              limit: mark.started ? poll.batchSize : 1)
        if let value = mark.value {
            if mark.started, !mark.idsAtValue.isEmpty {
                // Rows after the mark, or at it and not yet seen: more than a batch of rows sharing one timestamp
                // (one UPDATE … SET updated_at = now()) are read batch by batch instead of the same batch forever.
                query.filter = .or([.field(field, .greaterThan(value)),
                                    .and([.field(field, .equal(value)), .field("objectId", .notIn(mark.idsAtValue.sorted().map { .string($0) }))])])
            } else {
                query.filter = .field(field, .greaterThanOrEqual(value))
            }
        }
        let result = try await gateway.find(className, query, caller: .master, logger: logger, cacheMode: .bypass)
        var next = mark
        next.started = true
        guard mark.started else {
            // First poll: the newest timestamp becomes the mark; nothing is announced.
            if let newest = result.objects.first, let v = newest.value(forPath: field) {
                next.value = v
                next.idsAtValue = newest.objectId.map { [$0] } ?? []
            }
            return next
        }
        for object in result.objects {
            guard let id = object.objectId, let value = object.value(forPath: field) else { continue }
            if value == mark.value, mark.idsAtValue.contains(id) { continue }
            if value == next.value { next.idsAtValue.insert(id) } else { next.value = value; next.idsAtValue = [id] }
            // The gateway announced this object itself: with this timestamp, nothing is new; with another, the
            // subscribers know it already, so it is an update even when it was created since the last poll.
            let known = announced.withLock { a in a.removeValue(forKey: className + "/" + id) }
            if known == value { continue }
            let created: Bool
            if known != nil {
                created = false
            } else if case .date(let m)? = mark.value {
                created = object.createdAt.map { $0 > m } ?? false
            } else {
                created = true
            }
            gateway.changes.publish(ObjectChange(kind: created ? .create : .update, className: className, connector: connector,
                                                 objectId: id, object: object, origin: .source))
        }
        return next
    }
}

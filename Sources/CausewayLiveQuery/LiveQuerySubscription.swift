import CausewayCore

/// One subscription of one client: the query, the fields wanted and the subscriber's identity, with the
/// permission filters of that identity worked out once (the same ones a `find` by that caller gets).
struct LiveQuerySubscription: Sendable {
    var requestId: Int
    var className: String
    /// The subscription's `where` (nil: every object).
    var query: QueryFilter?
    /// The `where` as the client sent it, parsed again against the collection after a configuration reload.
    var whereJSON: JSONValue?
    /// `keys` / `fields` (nil: every field the subscriber may see).
    var keys: Set<String>?
    var identity: LiveQueryIdentity
    /// The subscribe message's own session token (it overrides the connection's), kept to re-resolve it.
    var sessionToken: String?
    /// Row rules and ACLs of the subscriber (nil: none apply).
    var readFilter: QueryFilter?
    /// Protected fields hidden from the subscriber.
    var hidden: Set<String>
    /// The gateway (configuration) these filters were worked out with: while a reload has swapped the gateway
    /// and `reconfigure` has not rebuilt this subscription yet, `LiveQueryHub.deliver` applies both.
    var builtWith: Gateway

    /// The event this change means for this subscriber, if any: `enter` / `leave` when the object starts or
    /// stops being both in the query and visible to the subscriber.
    ///
    /// `before` / `after`: the object before and after the write, when known. Without `before`, an object
    /// that matches after an update is reported as `update` (enter cannot be told apart) and a delete is
    /// reported only to a subscriber who sees everything (master key, no `where`).
    func event(_ kind: ObjectChange.Kind, schema: CollectionSchema, before: ParseObject?, after: ParseObject?)
        -> (LiveQueryReply.Event, ParseObject, ParseObject?)? {
        guard schema.permissions.allows(.find, caller: identity.caller) else { return nil }
        func visible(_ o: ParseObject?) -> Bool? {
            guard let o else { return nil }
            return QueryEvaluator.matches(o, query) && QueryEvaluator.matches(o, readFilter)
        }
        let was = visible(before), now = visible(after)
        // A version the subscriber may not read (row rule, ACL) is never sent: an `enter` carries no `original`
        // the subscriber could not see, and a `leave` caused by losing read access carries only the object's
        // identity (objectId, className, updatedAt), not the new values a find would hide.
        func readable(_ o: ParseObject) -> Bool { QueryEvaluator.matches(o, readFilter) }
        func identityOnly(_ o: ParseObject) -> ParseObject { ParseObject(objectId: o.objectId, updatedAt: o.updatedAt) }
        switch kind {
        case .create:
            guard now == true, let after else { return nil }
            return (.create, project(after), nil)
        case .update:
            guard let after else { return nil }
            switch (was, now) {
            case (true?, true?): return (.update, project(after), before.map(project))
            case (false?, true?): return (.enter, project(after), before.flatMap { readable($0) ? project($0) : nil })
            case (true?, false?): return (.leave, readable(after) ? project(after) : identityOnly(after), before.map(project))
            case (nil, true?): return (.update, project(after), nil)
            default: return nil
            }
        case .delete:
            if let before {
                guard was == true else { return nil }
                return (.delete, project(before), nil)
            }
            guard identity.caller.isMaster, query == nil, let after else { return nil }
            return (.delete, after, nil)
        }
    }

    /// Hidden fields removed; with `keys`, only those fields (and the built-in ones and `ACL`, as Parse does).
    func project(_ object: ParseObject) -> ParseObject {
        guard keys != nil || !hidden.isEmpty else { return object }
        return object.projected(keys: keys.map { $0.union(["ACL"]) }, excluding: hidden)
    }
}

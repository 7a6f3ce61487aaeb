import Logging

/// `include`: replaces pointers with the objects they point to, level by level (Parse Server's
/// `RestQuery.includePath` / `replacePointers`):
///
/// - Each level (all paths of one length) collects its pointers from every result and reads each target
///   class once: one find `objectId $in [...]` per class (in chunks of `lookupChunkSize` ids), never one
///   read per row. A source that cannot filter `objectId` with `$in` is read by id instead, at most
///   `getConcurrency` reads at a time.
/// - Each lookup is a find of the target class for the caller, gated by its `get` permission (a denied get
///   fails the request with 119), with its row rules, ACLs and protected fields, through its own cache.
/// - A pointer whose target is missing or hidden from the caller is removed (its key, or its array element).
///   A pointer to a class no connector serves (such as `_User`) is left as a pointer.
/// - Included objects are Parse's `{"__type":"Object","className":…,"objectId":…,…}`.
extension Gateway {
    func resolveIncludes(_ objects: [ParseObject], paths: [[String]], keys: Set<String>?, excludeKeys: Set<String>,
                         budget: inout IncludeBudget, caller: Caller, logger: Logger, cacheMode: CacheMode) async throws -> [ParseObject] {
        var objects = objects
        var depth = 1
        while true {
            let level = paths.filter { $0.count == depth }
            guard !level.isEmpty || paths.contains(where: { $0.count > depth }) else { break }
            defer { depth += 1 }
            guard !level.isEmpty, !objects.isEmpty else { continue }
            // What this level needs from each class: the ids, and the union of the paths' keys.
            var ids: [String: Set<String>] = [:]
            var classKeys: [String: Set<String>?] = [:]
            var classExcluded: [String: Set<String>] = [:]
            for path in level {
                var found: [(String, String)] = []
                for object in objects {
                    guard let root = object.fields[path[0]] else { continue }
                    Gateway.pointers(in: root, path.dropFirst(), into: &found)
                }
                let pathKeys = IncludePath.keys(at: path, from: keys)
                let pathExcluded = IncludePath.excludedKeys(at: path, from: excludeKeys)
                for cls in Set(found.map(\.0)) {
                    if let known = classKeys[cls] {
                        classKeys[cls] = known.flatMap { k in pathKeys.map { k.union($0) } }  // nil (every field) wins
                        classExcluded[cls] = classExcluded[cls, default: []].intersection(pathExcluded)
                    } else {
                        classKeys[cls] = .some(pathKeys)
                        classExcluded[cls] = pathExcluded
                    }
                }
                for (cls, id) in found { ids[cls, default: []].insert(id) }
            }
            guard !ids.isEmpty else { continue }
            try budget.spend(ids.values.reduce(0) { $0 + $1.count })
            // One lookup per class, the classes at once.
            let fetched = try await withThrowingTaskGroup(of: (String, [String: ParseObject]?).self) { group in
                for (cls, wanted) in ids {
                    let k = classKeys[cls] ?? nil, e = classExcluded[cls] ?? []
                    group.addTask {
                        (cls, try await self.lookup(cls, ids: wanted.sorted(), keys: k, excluding: e, caller: caller, logger: logger, cacheMode: cacheMode))
                    }
                }
                var out: [String: [String: ParseObject]?] = [:]
                for try await (cls, objects) in group { out[cls] = objects }
                return out
            }
            for path in level {
                let pathKeys = IncludePath.keys(at: path, from: keys)
                let pathExcluded = IncludePath.excludedKeys(at: path, from: excludeKeys)
                let replacement: (String, String) -> ParseValue? = { cls, id in
                    guard let byId = fetched[cls] ?? nil else { return .pointer(className: cls, objectId: id) }  // class not served here
                    guard var object = byId[id] else { return nil }
                    if pathKeys != nil || !pathExcluded.isEmpty { object = object.projected(keys: pathKeys, excluding: pathExcluded) }
                    return Gateway.included(object, className: cls)
                }
                for i in objects.indices {
                    guard let root = objects[i].fields[path[0]] else { continue }
                    objects[i].fields[path[0]] = Gateway.replacing(root, path.dropFirst(), replacement)
                }
            }
        }
        return objects
    }

    /// The visible objects of `className` among `ids`, by id; nil when no connector serves the class.
    func lookup(_ className: String, ids: [String], keys: Set<String>?, excluding: Set<String>,
                caller: Caller, logger: Logger, cacheMode: CacheMode) async throws -> [String: ParseObject]? {
        guard let route = try servedRoute(className) else { return nil }
        try authorize(.get, route, caller)
        let ids = ids.filter { Gateway.fits($0, route.schema.objectId.type) }
        guard !ids.isEmpty else { return [:] }
        let federation = config.limits.federation
        var byId: [String: ParseObject] = [:]
        if ids.count > 1, !route.connector.canPushDown("objectId", .isIn(ids.prefix(2).map { .string($0) }), in: route.schema) {
            // By id, a bounded number at a time (a REST source without an `$in` filter on its key).
            logger.debug("include by id", metadata: ["causeway.class": .string(className), "causeway.ids": .stringConvertible(ids.count)])
            try await withThrowingTaskGroup(of: ParseObject?.self) { group in
                var next = 0
                func start() {
                    let id = ids[next]
                    next += 1
                    group.addTask {
                        do {
                            return try await self.get(className, objectId: id, keys: keys, excludeKeys: excluding, caller: caller, logger: logger)
                        } catch let error as GatewayError where error.code == .objectNotFound {
                            return nil
                        }
                    }
                }
                while next < min(ids.count, federation.getConcurrency) { start() }
                for try await object in group {
                    if let object, let id = object.objectId { byId[id] = object }
                    if next < ids.count { start() }
                }
            }
            return byId
        }
        var start = 0
        while start < ids.count {
            let chunk = Array(ids[start..<min(start + federation.lookupChunkSize, ids.count)])
            start += chunk.count
            let filter: QueryFilter = chunk.count == 1 ? .field("objectId", .equal(.string(chunk[0]))) : .field("objectId", .isIn(chunk.map { .string($0) }))
            let query = FindQuery(filter: filter, limit: chunk.count, keys: keys, excludeKeys: excluding)
            let result = try await findObjects(className, ParsedFind(query: query), caller: caller, logger: logger, cacheMode: cacheMode, authorizeAs: .get)
            for object in result.objects { if let id = object.objectId { byId[id] = object } }
        }
        return byId
    }

    /// The class's route; nil when no connector serves it (a connector that is down is still an error).
    private func servedRoute(_ className: String) throws(GatewayError) -> Route? {
        do {
            return try route(className)
        } catch {
            if error.code == .invalidClassName { return nil }
            throw error
        }
    }

    /// Whether an id can name a row of a key of this type (other ids name nothing, and are not sent to the source).
    static func fits(_ id: String, _ type: ObjectIdMapping.KeyType) -> Bool {
        switch type {
        case .string: return !id.isEmpty
        case .integer: return Int64(id) != nil
        case .uuid:
            let bytes = Array(id.utf8)
            guard bytes.count == 36 else { return false }
            for (i, c) in bytes.enumerated() {
                if i == 8 || i == 13 || i == 18 || i == 23 { if c != UInt8(ascii: "-") { return false } } else if !c.isHexDigit { return false }
            }
            return true
        }
    }

    /// The pointers at `path` below `value`, through arrays and included objects.
    static func pointers(in value: ParseValue, _ path: ArraySlice<String>, into found: inout [(String, String)]) {
        switch value {
        case .array(let items): for item in items { pointers(in: item, path, into: &found) }
        case .pointer(let cls, let id) where path.isEmpty: found.append((cls, id))
        case .object(let o) where !path.isEmpty:
            if let child = o[path.first!] { pointers(in: child, path.dropFirst(), into: &found) }
        default: break
        }
    }

    /// `value` with the pointers at `path` replaced; nil replacements remove the key (or the array element).
    static func replacing(_ value: ParseValue, _ path: ArraySlice<String>, _ replacement: (String, String) -> ParseValue?) -> ParseValue? {
        switch value {
        case .array(let items): return .array(items.compactMap { replacing($0, path, replacement) })
        case .pointer(let cls, let id) where path.isEmpty: return replacement(cls, id)
        case .object(var o) where !path.isEmpty:
            guard let child = o[path.first!] else { return value }
            o[path.first!] = replacing(child, path.dropFirst(), replacement)
            return .object(o)
        default: return value
        }
    }

    /// Parse's form of an included object.
    static func included(_ object: ParseObject, className: String) -> ParseValue {
        var o = object.fields.filter { !$0.value.isNull }
        o["__type"] = .string("Object")
        o["className"] = .string(className)
        if let id = object.objectId { o["objectId"] = .string(id) }
        if let c = object.createdAt { o["createdAt"] = .string(c.iso8601) }
        if let u = object.updatedAt { o["updatedAt"] = .string(u.iso8601) }
        return .object(o)
    }
}

private extension UInt8 {
    var isHexDigit: Bool { (self >= 48 && self <= 57) || (self >= 65 && self <= 70) || (self >= 97 && self <= 102) }
}

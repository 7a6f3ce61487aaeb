import CausewayCore
import Hummingbird

/// `GET /schemas` and `GET /schemas/:className` (master key, as Parse Server's `SchemasRouter`): each mapped
/// class in Parse's schema format, generated from the connector mappings, so the Parse SDKs
/// (`Parse.Schema.all()`), the dashboard and admin tools can read what the gateway serves.
///
/// The schemas belong to the YAML: every write (`POST`, `PUT`, `DELETE`) answers 119 saying so.
struct SchemasEndpoint: Sendable {
    /// Every mapped class, whether or not its connector is up (the schema comes from the configuration).
    let collections: [CollectionSchema]

    init(collections: [CollectionSchema]) {
        self.collections = collections.sorted { $0.className < $1.className }
    }

    init(gateway: Gateway) {
        self.init(collections: gateway.connectors.flatMap(\.collections))
    }

    static let readOnlyMessage = "Schemas are read-only in Causeway: classes, fields and permissions come from the connector mappings (Connectors/*.yaml); change the YAML and restart or reload the gateway."

    /// `{"results": [schema, …]}`.
    func all() -> JSONValue {
        .object(["results": .array(collections.map(SchemasEndpoint.schema))])
    }

    /// One class's schema; 103 `Class X does not exist.` for a class no connector maps.
    func one(_ className: String) throws(GatewayError) -> JSONValue {
        guard let schema = collections.first(where: { $0.className == className }) else {
            throw GatewayError(.invalidClassName, "Class \(LogText.clean(className, limit: 128)) does not exist.")
        }
        return SchemasEndpoint.schema(schema)
    }

    /// Parse's schema of one class: `className`, `fields` (with `targetClass` for pointers and relations) and
    /// `classLevelPermissions`.
    static func schema(_ schema: CollectionSchema) -> JSONValue {
        var fields: [String: JSONValue] = ["objectId": .object(["type": .string("String")])]
        if schema.createdAtColumn != nil { fields["createdAt"] = .object(["type": .string("Date")]) }
        if schema.updatedAtColumn != nil { fields["updatedAt"] = .object(["type": .string("Date")]) }
        for (name, mapping) in schema.fields {
            fields[name] = .object(fieldType(mapping))
        }
        for (name, relation) in schema.relations {
            fields[name] = .object(["type": .string("Relation"), "targetClass": .string(relation.targetClass)])
        }
        return .object([
            "className": .string(schema.className),
            "fields": .object(fields),
            "classLevelPermissions": classLevelPermissions(schema),
        ])
    }

    /// `{"type": "Pointer", "targetClass": "X"}` and the like; the stored `ACL` field is Parse's `ACL` type.
    static func fieldType(_ mapping: FieldMapping) -> [String: JSONValue] {
        if mapping.name == "ACL" { return ["type": .string("ACL")] }
        var entry: [String: JSONValue] = ["type": .string(mapping.type.parseName)]
        if mapping.type == .pointer, let target = mapping.targetClass { entry["targetClass"] = .string(target) }
        return entry
    }

    /// Parse's shape: per operation `{"*": true}`, `{"requiresAuthentication": true}`, `{"role:NAME": true}`,
    /// `{"NAME": true}` for a `user:NAME` entry (Parse keys users by id; Causeway names them by username);
    /// `{}` when nobody but the master key may. A read-only class allows no writes; `addField` is always
    /// `{}` (fields come from the YAML); `protectedFields` from the mapping's `protectedFields`.
    static func classLevelPermissions(_ schema: CollectionSchema) -> JSONValue {
        var clp: [String: JSONValue] = [:]
        for operation in ClassPermissions.Operation.allCases {
            let writes: Set<ClassPermissions.Operation> = [.create, .update, .delete]
            let entries = schema.readOnly && writes.contains(operation) ? [] : (schema.permissions.rules[operation] ?? [])
            var rule: [String: JSONValue] = [:]
            for entry in entries { rule[parseKey(entry)] = .bool(true) }
            clp[operation.rawValue] = .object(rule)
        }
        clp["addField"] = .object([:])
        var protected: [String: JSONValue] = [:]
        for (entry, names) in schema.access.protectedFields {
            protected[entry.hasPrefix("user:") ? String(entry.dropFirst(5)) : entry] = .array(names.sorted().map(JSONValue.string))
        }
        clp["protectedFields"] = .object(protected.isEmpty ? ["*": .array([])] : protected)
        return .object(clp)
    }

    /// A permission entry of the YAML as Parse's CLP key.
    static func parseKey(_ entry: String) -> String {
        if entry == "authenticated" { return "requiresAuthentication" }
        if entry.hasPrefix("user:") { return String(entry.dropFirst(5)) }
        return entry
    }
}

extension ParseEndpoints {
    /// `/schemas` and `/schemas/:className`: read with the master key; writes are refused (119).
    func schemaRoutes() -> RouteCollection<ParseRequestContext> {
        let routes = RouteCollection(context: ParseRequestContext.self)
        let gateway = self.gateway
        let refuse: Handler = { _, context in
            guard context.caller.isMaster else { return .masterKeyRequired }
            throw GatewayError(.operationForbidden, SchemasEndpoint.readOnlyMessage)
        }
        endpoint(routes, "schemas", [
            .get: { _, context in
                guard context.caller.isMaster else { return .masterKeyRequired }
                return .json(200, SchemasEndpoint(gateway: gateway).all())
            },
            .post: refuse,
        ])
        endpoint(routes, "schemas/:className", [
            .get: { _, context in
                guard context.caller.isMaster else { return .masterKeyRequired }
                let className = context.call.segments.count > 1 ? context.call.segments[1] : ""
                return .json(200, try SchemasEndpoint(gateway: gateway).one(className))
            },
            .post: refuse, .put: refuse, .delete: refuse,
        ])
        return routes
    }
}

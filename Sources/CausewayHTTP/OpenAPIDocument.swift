import Synchronization
import CausewayCore
import Hummingbird

/// The OpenAPI 3.1 description of this gateway (`GET /parse/openapi.json`), generated from the mappings:
/// each class's object shape, write body and `where` language (`OpenAPIDocument+Where.swift`), the
/// endpoints its permissions allow, the user API when identity providers are configured, `/batch`,
/// `/health`, `/schemas`, Parse's headers as security schemes and the `{code, error}` errors.
///
/// It describes shapes, never data, and is served without keys (see Docs/operations.md, "OpenAPI").
struct OpenAPIDocument: Sendable {
    let collections: [CollectionSchema]
    let config: GatewayConfig
    let hasUsers: Bool

    init(collections: [CollectionSchema], config: GatewayConfig, hasUsers: Bool) {
        self.collections = collections.sorted { $0.className < $1.className }
        self.config = config
        self.hasUsers = hasUsers
    }

    /// The document as JSON.
    func json() -> JSONValue {
        var paths: [String: JSONValue] = [:]
        var schemas = OpenAPIDocument.sharedSchemas()
        for (name, schema) in OpenAPIDocument.conditionSchemas() { schemas[name] = schema }
        for c in collections {
            schemas[c.className] = objectSchema(c)
            schemas[c.className + ".Input"] = inputSchema(c)
            schemas[c.className + ".Where"] = whereSchema(c)
            for (path, item) in classPaths(c) { paths[path] = item }
        }
        for (path, item) in fixedPaths() { paths[path] = item }
        let server: String = {
            if let url = config.server.publicURL { return url.hasSuffix("/") ? String(url.dropLast()) : url }
            return config.server.mountPath == "/" ? "/" : config.server.mountPath
        }()
        return .object([
            "openapi": .string("3.1.0"),
            "info": .object([
                "title": .string("Causeway: \(config.app.applicationId)"),
                "version": .string(CausewayVersion.current),
                "description": .string("""
                The Parse Server REST dialect served by Causeway \(CausewayVersion.current) (Parse Server \(CausewayVersion.parseServerCompatibility) \
                compatible), generated from the connector mappings. Every request but /health needs the X-Parse-Application-Id \
                header; errors are {"code": <Parse error code>, "error": <message>}.
                """),
            ]),
            "servers": .array([.object(["url": .string(server)])]),
            "paths": .object(paths),
            "components": .object([
                "schemas": .object(schemas),
                "securitySchemes": .object(securitySchemes()),
                "responses": .object(OpenAPIDocument.errorResponses()),
            ]),
        ])
    }

    // MARK: Security

    /// Parse's headers as API-key schemes: the application id, the client keys this gateway is configured
    /// with, the master key and the session token.
    func securitySchemes() -> [String: JSONValue] {
        var s: [String: JSONValue] = [
            "ApplicationId": OpenAPIDocument.header("X-Parse-Application-Id", "The application id (app.applicationId); every request needs it."),
            "MasterKey": OpenAPIDocument.header("X-Parse-Master-Key", "The master key: bypasses class-level permissions, row rules and ACLs; needed for /schemas."),
            "SessionToken": OpenAPIDocument.header("X-Parse-Session-Token", "A session token from /login or sign-up: the request runs as that user."),
        ]
        for (config, header, _) in ParseAuthenticator.clientKeyNames where self.config.app.clientKeys[config] != nil {
            s[OpenAPIDocument.schemeName(config)] = OpenAPIDocument.header(header, "A client key (app.\(config)); when any client key is configured, each request needs one of them or the master key.")
        }
        return s
    }

    static func schemeName(_ config: String) -> String {
        config.prefix(1).uppercased() + config.dropFirst()
    }

    static func header(_ name: String, _ description: String) -> JSONValue {
        .object(["type": .string("apiKey"), "in": .string("header"), "name": .string(name), "description": .string(description)])
    }

    /// The ways to call an operation: as anyone (application id and a client key when configured), as a user
    /// (session token) and with the master key. `needsUser` drops the anonymous way.
    func security(needsUser: Bool, masterOnly: Bool = false) -> JSONValue {
        let keys = ParseAuthenticator.clientKeyNames.map(\.config).filter { config.app.clientKeys[$0] != nil }
        let keySets: [[String]] = keys.isEmpty ? [["ApplicationId"]] : keys.map { ["ApplicationId", OpenAPIDocument.schemeName($0)] }
        var ways: [[String]] = [["ApplicationId", "MasterKey"]]
        if !masterOnly {
            if !needsUser { ways += keySets }
            ways += keySets.map { $0 + ["SessionToken"] }
        }
        return .array(ways.map { names in .object(Dictionary(uniqueKeysWithValues: names.map { ($0, JSONValue.array([])) })) })
    }

    // MARK: Paths

    /// `/classes/C` (find, create) and `/classes/C/{objectId}` (get, update, delete), each present when the
    /// class's permissions allow it to someone besides the master key (and writes unless read-only).
    func classPaths(_ c: CollectionSchema) -> [(String, JSONValue)] {
        let name = c.className
        func allowed(_ op: ClassPermissions.Operation) -> [String]? {
            if c.readOnly, [.create, .update, .delete].contains(op) { return nil }
            let entries = c.permissions.rules[op] ?? []
            return entries.isEmpty ? nil : entries
        }
        func needsUser(_ entries: [String]) -> Bool { !entries.contains("*") }
        let tags: JSONValue = .array([.string(name)])
        var collection: [String: JSONValue] = [:]
        var single: [String: JSONValue] = [:]
        if let find = allowed(.find) {
            collection["get"] = .object([
                "operationId": .string("find\(name)"), "tags": tags,
                "summary": .string("Find \(name) objects"),
                "parameters": .array(findParameters(c)),
                "security": security(needsUser: needsUser(find)),
                "responses": OpenAPIDocument.responses(200, "The matching objects (and their count when asked).", .object([
                    "type": .string("object"), "required": .array([.string("results")]),
                    "properties": .object([
                        "results": .object(["type": .string("array"), "items": OpenAPIDocument.ref(name)]),
                        "count": .object(["type": .string("integer"), "minimum": .int(0)]),
                    ]),
                ])),
            ])
        }
        if let create = allowed(.create) {
            collection["post"] = .object([
                "operationId": .string("create\(name)"), "tags": tags,
                "summary": .string("Create a \(name)"),
                "requestBody": OpenAPIDocument.jsonBody(OpenAPIDocument.ref(name + ".Input")),
                "security": security(needsUser: needsUser(create)),
                "responses": OpenAPIDocument.responses(201, "Created.", .object([
                    "type": .string("object"), "required": .array([.string("objectId"), .string("createdAt")]),
                    "properties": .object(["objectId": .object(["type": .string("string")]), "createdAt": OpenAPIDocument.timestamp]),
                ])),
            ])
        }
        let idParameter: JSONValue = .object([
            "name": .string("objectId"), "in": .string("path"), "required": .bool(true),
            "schema": .object(["type": .string("string"), "minLength": .int(1)]),
        ])
        if let get = allowed(.get) {
            single["get"] = .object([
                "operationId": .string("get\(name)"), "tags": tags,
                "summary": .string("Get one \(name)"),
                "parameters": .array([OpenAPIDocument.stringParameter("keys", "Comma-separated fields to return (objectId, createdAt and updatedAt always come)."),
                                      OpenAPIDocument.stringParameter("excludeKeys", "Comma-separated fields to leave out.")]),
                "security": security(needsUser: needsUser(get)),
                "responses": OpenAPIDocument.responses(200, "The object.", OpenAPIDocument.ref(name)),
            ])
        }
        if let update = allowed(.update) {
            single["put"] = .object([
                "operationId": .string("update\(name)"), "tags": tags,
                "summary": .string("Update a \(name) (fields and atomic operations)"),
                "requestBody": OpenAPIDocument.jsonBody(OpenAPIDocument.ref(name + ".Input")),
                "security": security(needsUser: needsUser(update)),
                "responses": OpenAPIDocument.responses(200, "Updated; results of atomic operations are echoed.", .object([
                    "type": .string("object"), "required": .array([.string("updatedAt")]),
                    "properties": .object(["updatedAt": OpenAPIDocument.timestamp]),
                ])),
            ])
        }
        if let delete = allowed(.delete) {
            single["delete"] = .object([
                "operationId": .string("delete\(name)"), "tags": tags,
                "summary": .string("Delete a \(name)"),
                "security": security(needsUser: needsUser(delete)),
                "responses": OpenAPIDocument.responses(200, "Deleted.", .object(["type": .string("object"), "maxProperties": .int(0)])),
            ])
        }
        var out: [(String, JSONValue)] = []
        if !collection.isEmpty { out.append(("/classes/\(name)", .object(collection))) }
        if !single.isEmpty {
            single["parameters"] = .array([idParameter])
            out.append(("/classes/\(name)/{objectId}", .object(single)))
        }
        return out
    }

    /// `where` (JSON), `order`, `limit`, `skip`, `keys`, `excludeKeys`, `count`, `include`.
    func findParameters(_ c: CollectionSchema) -> [JSONValue] {
        [
            .object([
                "name": .string("where"), "in": .string("query"), "required": .bool(false),
                "description": .string("""
                A JSON object (URL-encoded) in Parse's query language: {"field": value} for equality, \
                {"field": {"$lt": …}} and the other operators ($eq $ne $lt $lte $gt $gte $in $nin $exists $regex \
                $options $all $containedBy $nearSphere $maxDistance… $within $geoWithin), "$or", "$and", "$nor", and \
                "$relatedTo" for the objects linked to an owner through a relation field. \
                Its schema lists the fields of \(c.className) and the operators each type takes.
                """),
                "content": .object(["application/json": .object([
                    "schema": OpenAPIDocument.ref(c.className + ".Where"),
                    "example": .object(["objectId": .object(["$exists": .bool(true)])]),
                ])]),
            ]),
            OpenAPIDocument.stringParameter("order", "Comma-separated fields to sort by; a leading - sorts descending."),
            .object([
                "name": .string("limit"), "in": .string("query"), "required": .bool(false),
                "description": .string("Objects per page (default \(config.limits.defaultLimit), at most \(config.limits.maxLimit))."),
                "schema": .object(["type": .string("integer"), "minimum": .int(0), "maximum": .int(Int64(config.limits.maxLimit))]),
            ]),
            .object([
                "name": .string("skip"), "in": .string("query"), "required": .bool(false),
                "description": .string("Objects to skip before the page."),
                "schema": .object(["type": .string("integer"), "minimum": .int(0)]),
            ]),
            OpenAPIDocument.stringParameter("keys", "Comma-separated fields to return."),
            OpenAPIDocument.stringParameter("excludeKeys", "Comma-separated fields to leave out."),
            .object([
                "name": .string("count"), "in": .string("query"), "required": .bool(false),
                "description": .string("1: also return the total number of matching objects as `count` (with limit=0, only the count)."),
                "schema": .object(["type": .string("integer"), "enum": .array([.int(0), .int(1)])]),
            ]),
            OpenAPIDocument.stringParameter("include", "Comma-separated pointer fields whose objects to fetch with the answer (see Docs/parse-compatibility.md for what is supported)."),
        ]
    }

    /// The user API (when identity providers are configured), `/batch`, `/health`, `/schemas`.
    func fixedPaths() -> [(String, JSONValue)] {
        var out: [(String, JSONValue)] = []
        let anyone = security(needsUser: false)
        let user = security(needsUser: true)
        if hasUsers {
            let credentials: JSONValue = .object([
                "type": .string("object"), "required": .array([.string("username"), .string("password")]),
                "properties": .object(["username": .object(["type": .string("string")]), "password": .object(["type": .string("string")])]),
            ])
            out.append(("/users", .object([
                "post": .object([
                    "operationId": .string("signUp"), "tags": .array([.string("Users")]),
                    "summary": .string("Sign up (identity providers with signUp: true); the extra fields the provider keeps may be sent too."),
                    "requestBody": OpenAPIDocument.jsonBody(credentials),
                    "security": anyone,
                    "responses": OpenAPIDocument.responses(201, "Signed up and logged in.", .object([
                        "type": .string("object"), "required": .array([.string("objectId"), .string("createdAt"), .string("sessionToken")]),
                        "properties": .object(["objectId": .object(["type": .string("string")]), "createdAt": OpenAPIDocument.timestamp,
                                               "sessionToken": .object(["type": .string("string")])]),
                    ])),
                ]),
            ])))
            let loginResponses = OpenAPIDocument.responses(200, "The user, with a new session token.", OpenAPIDocument.ref("User"))
            out.append(("/login", .object([
                "get": .object([
                    "operationId": .string("logInWithQuery"), "tags": .array([.string("Users")]),
                    "summary": .string("Log in (username and password in the query string)"),
                    "parameters": .array([OpenAPIDocument.stringParameter("username", "The user name.", required: true),
                                          OpenAPIDocument.stringParameter("password", "The password.", required: true)]),
                    "security": anyone, "responses": loginResponses,
                ]),
                "post": .object([
                    "operationId": .string("logIn"), "tags": .array([.string("Users")]),
                    "summary": .string("Log in"),
                    "requestBody": OpenAPIDocument.jsonBody(credentials),
                    "security": anyone, "responses": loginResponses,
                ]),
            ])))
            out.append(("/logout", .object([
                "post": .object([
                    "operationId": .string("logOut"), "tags": .array([.string("Users")]),
                    "summary": .string("End the session of the session token sent"),
                    "security": user,
                    "responses": OpenAPIDocument.responses(200, "Logged out.", .object(["type": .string("object")])),
                ]),
            ])))
            out.append(("/users/me", .object([
                "get": .object([
                    "operationId": .string("currentUser"), "tags": .array([.string("Users")]),
                    "summary": .string("The user of the session token sent"),
                    "security": user,
                    "responses": OpenAPIDocument.responses(200, "The user.", OpenAPIDocument.ref("User")),
                ]),
            ])))
        }
        out.append(("/batch", .object([
            "post": .object([
                "operationId": .string("batch"), "tags": .array([.string("Batch")]),
                "summary": .string("Several object operations in one request (at most \(config.limits.maxBatchRequests))."),
                "requestBody": OpenAPIDocument.jsonBody(.object([
                    "type": .string("object"), "required": .array([.string("requests")]),
                    "properties": .object([
                        "requests": .object([
                            "type": .string("array"), "maxItems": .int(Int64(config.limits.maxBatchRequests)),
                            "items": .object([
                                "type": .string("object"), "required": .array([.string("method"), .string("path")]),
                                "properties": .object([
                                    "method": .object(["type": .string("string"), "enum": .array(["GET", "POST", "PUT", "DELETE"].map(JSONValue.string))]),
                                    "path": .object(["type": .string("string"), "description": .string("The object endpoint with the mount path, e.g. /parse/classes/Class/id.")]),
                                    "body": .object(["type": .string("object")]),
                                ]),
                            ]),
                        ]),
                        "transaction": .object(["type": .string("boolean"), "description": .string("All or nothing (connectors with transactions only).")]),
                    ]),
                ])),
                "security": anyone,
                "responses": OpenAPIDocument.responses(200, "One entry per request, in order.", .object([
                    "type": .string("array"),
                    "items": .object([
                        "type": .string("object"),
                        "properties": .object(["success": .object([:]), "error": OpenAPIDocument.ref("Error")]),
                    ]),
                ])),
            ]),
        ])))
        out.append(("/health", .object([
            "get": .object([
                "operationId": .string("health"), "tags": .array([.string("Operations")]),
                "summary": .string("Whether every connector and identity provider is up (no keys needed)"),
                "security": .array([.object([:])]),
                "responses": .object([
                    "200": OpenAPIDocument.content("Everything is up.", OpenAPIDocument.ref("Health")),
                    "503": OpenAPIDocument.content("Something is starting or unavailable; components names each part's state.", OpenAPIDocument.ref("Health")),
                ]),
            ]),
        ])))
        let master = security(needsUser: false, masterOnly: true)
        out.append(("/schemas", .object([
            "get": .object([
                "operationId": .string("schemas"), "tags": .array([.string("Schemas")]),
                "summary": .string("Every class in Parse's schema format (master key)"),
                "security": master,
                "responses": OpenAPIDocument.responses(200, "The schemas.", .object([
                    "type": .string("object"), "required": .array([.string("results")]),
                    "properties": .object(["results": .object(["type": .string("array"), "items": OpenAPIDocument.ref("Schema")])]),
                ])),
            ]),
        ])))
        out.append(("/schemas/{className}", .object([
            "get": .object([
                "operationId": .string("schema"), "tags": .array([.string("Schemas")]),
                "summary": .string("One class in Parse's schema format (master key); 103 when no connector maps it"),
                "parameters": .array([.object(["name": .string("className"), "in": .string("path"), "required": .bool(true),
                                               "schema": .object(["type": .string("string"), "minLength": .int(1)])])]),
                "security": master,
                "responses": OpenAPIDocument.responses(200, "The schema.", OpenAPIDocument.ref("Schema")),
            ]),
        ])))
        return out
    }

    // MARK: Building blocks

    static func ref(_ name: String) -> JSONValue { .object(["$ref": .string("#/components/schemas/" + name)]) }

    static let timestamp: JSONValue = .object(["type": .string("string"), "format": .string("date-time")])

    static func stringParameter(_ name: String, _ description: String, required: Bool = false) -> JSONValue {
        .object(["name": .string(name), "in": .string("query"), "required": .bool(required),
                 "description": .string(description), "schema": .object(["type": .string("string")])])
    }

    static func jsonBody(_ schema: JSONValue) -> JSONValue {
        .object(["required": .bool(true), "content": .object(["application/json": .object(["schema": schema])])])
    }

    static func content(_ description: String, _ schema: JSONValue) -> JSONValue {
        .object(["description": .string(description), "content": .object(["application/json": .object(["schema": schema])])])
    }

    /// A success answer and every error answer the gateway gives.
    static func responses(_ status: Int, _ description: String, _ schema: JSONValue) -> JSONValue {
        var r: [String: JSONValue] = [String(status): content(description, schema)]
        for code in ["400", "403", "404", "413", "429", "503", "504"] {
            r[code] = .object(["$ref": .string("#/components/responses/Error" + code)])
        }
        r["default"] = .object(["$ref": .string("#/components/responses/ErrorDefault")])
        return .object(r)
    }

    static func errorResponses() -> [String: JSONValue] {
        let what: [String: String] = [
            "400": "A Parse error: bad query (102), class (103), key (105), JSON (107), type (111), permission (119), session (209) …",
            "403": "The application id or a key is wrong or missing ({\"error\": \"unauthorized\"}), or the master key is required.",
            "404": "Object not found (101) or no such endpoint (108).",
            "413": "The request body is larger than limits.maxBodyBytes (116).",
            "429": "Too many attempts (155).",
            "503": "A connector or the identity providers are not up (100); retry shortly.",
            "504": "The source did not answer in time (124).",
        ]
        var out: [String: JSONValue] = [:]
        for (code, description) in what {
            out["Error" + code] = content(description, code == "403" ? ref("Unauthorized") : ref("Error"))
        }
        out["ErrorDefault"] = content("Any other error, in Parse's shape.", ref("AnyError"))
        return out
    }

    /// Schemas every class shares: Parse's typed values, errors, users, health and schemas.
    static func sharedSchemas() -> [String: JSONValue] {
        func typed(_ type: String, _ properties: [String: JSONValue], _ required: [String]) -> JSONValue {
            var p = properties
            p["__type"] = .object(["const": .string(type)])
            return .object(["type": .string("object"), "required": .array((["__type"] + required).map(JSONValue.string)), "properties": .object(p)])
        }
        let string: JSONValue = .object(["type": .string("string")])
        let number: JSONValue = .object(["type": .string("number")])
        return [
            "Error": .object([
                "type": .string("object"), "required": .array([.string("code"), .string("error")]),
                "properties": .object(["code": .object(["type": .string("integer"), "description": .string("Parse's error code.")]), "error": string]),
            ]),
            "Unauthorized": .object([
                "type": .string("object"), "required": .array([.string("error")]),
                "properties": .object(["code": .object(["type": .string("integer")]), "error": string]),
            ]),
            "AnyError": .object([
                "type": .string("object"),
                "properties": .object(["code": .object(["type": .string("integer")]), "error": string, "message": string]),
            ]),
            "Date": typed("Date", ["iso": timestamp], ["iso"]),
            "GeoPoint": typed("GeoPoint", [
                "latitude": .object(["type": .string("number"), "minimum": .int(-90), "maximum": .int(90)]),
                "longitude": .object(["type": .string("number"), "minimum": .int(-180), "maximum": .int(180)]),
            ], ["latitude", "longitude"]),
            "Pointer": typed("Pointer", ["className": string, "objectId": string], ["className", "objectId"]),
            "Relation": typed("Relation", ["className": string], ["className"]),
            "File": typed("File", ["name": string, "url": string], ["name"]),
            "Bytes": typed("Bytes", ["base64": .object(["type": .string("string"), "contentEncoding": .string("base64")])], ["base64"]),
            "ACL": .object([
                "type": .string("object"),
                "description": .string("Per user id, `*` or `role:NAME`: whether it may read and write the object."),
                "additionalProperties": .object([
                    "type": .string("object"),
                    "properties": .object(["read": .object(["type": .string("boolean")]), "write": .object(["type": .string("boolean")])]),
                    "additionalProperties": .bool(false),
                ]),
            ]),
            "Operation": .object([
                "description": .string("An atomic update operation."),
                "oneOf": .array([
                    .object(["type": .string("object"), "required": .array([.string("__op"), .string("amount")]), "additionalProperties": .bool(false),
                             "properties": .object(["__op": .object(["const": .string("Increment")]), "amount": number])]),
                    .object(["type": .string("object"), "required": .array([.string("__op"), .string("objects")]), "additionalProperties": .bool(false),
                             "properties": .object(["__op": .object(["enum": .array(["Add", "AddUnique", "Remove"].map(JSONValue.string))]),
                                                    "objects": .object(["type": .string("array")])])]),
                    .object(["type": .string("object"), "required": .array([.string("__op")]), "additionalProperties": .bool(false),
                             "properties": .object(["__op": .object(["const": .string("Delete")])])]),
                ]),
            ]),
            "User": .object([
                "type": .string("object"),
                "properties": .object(["objectId": string, "username": string, "sessionToken": string,
                                       "createdAt": timestamp, "updatedAt": timestamp]),
            ]),
            "Health": .object([
                "type": .string("object"), "required": .array([.string("status")]),
                "properties": .object([
                    "status": .object(["enum": .array(["ok", "starting", "unavailable"].map(JSONValue.string))]),
                    "components": .object(["type": .string("object"), "additionalProperties": string]),
                ]),
            ]),
            "Schema": .object([
                "type": .string("object"), "required": .array([.string("className"), .string("fields"), .string("classLevelPermissions")]),
                "properties": .object([
                    "className": string,
                    "fields": .object([
                        "type": .string("object"),
                        "additionalProperties": .object([
                            "type": .string("object"), "required": .array([.string("type")]),
                            "properties": .object([
                                "type": .object(["enum": .array(["String", "Number", "Boolean", "Date", "Object", "Array", "GeoPoint",
                                                                 "Pointer", "Relation", "File", "Bytes", "Polygon", "ACL"].map(JSONValue.string))]),
                                "targetClass": string,
                            ]),
                        ]),
                    ]),
                    "classLevelPermissions": .object(["type": .string("object")]),
                ]),
            ]),
        ]
    }

    /// The JSON Schema of a stored value of a field type (as objects carry it in answers and bodies).
    static func valueSchema(_ type: FieldType, targetClass: String? = nil) -> JSONValue {
        switch type {
        case .string: return .object(["type": .string("string")])
        case .number: return .object(["type": .string("number")])
        case .boolean: return .object(["type": .string("boolean")])
        case .array: return .object(["type": .string("array")])
        case .object: return .object(["type": .string("object")])
        case .date: return ref("Date")
        case .geoPoint: return ref("GeoPoint")
        case .file: return ref("File")
        case .bytes: return ref("Bytes")
        case .pointer:
            guard let targetClass else { return ref("Pointer") }
            return .object(["allOf": .array([ref("Pointer"), .object(["properties": .object(["className": .object(["const": .string(targetClass)])])])])])
        }
    }

    static func nullable(_ schema: JSONValue) -> JSONValue {
        .object(["anyOf": .array([schema, .object(["type": .string("null")])])])
    }

    static func fieldSchema(_ mapping: FieldMapping) -> JSONValue {
        mapping.name == "ACL" ? ref("ACL") : valueSchema(mapping.type, targetClass: mapping.targetClass)
    }

    /// An object of the class as answers carry it.
    func objectSchema(_ c: CollectionSchema) -> JSONValue {
        var properties: [String: JSONValue] = ["objectId": .object(["type": .string("string")])]
        if c.createdAtColumn != nil { properties["createdAt"] = OpenAPIDocument.timestamp }
        if c.updatedAtColumn != nil { properties["updatedAt"] = OpenAPIDocument.timestamp }
        for (name, mapping) in c.fields { properties[name] = OpenAPIDocument.nullable(OpenAPIDocument.fieldSchema(mapping)) }
        for (name, relation) in c.relations { properties[name] = OpenAPIDocument.relationSchema(relation) }
        return .object(["type": .string("object"), "properties": .object(properties),
                        "description": .string("A \(c.className). Fields without a value are left out.")])
    }

    /// A create or update body: the writable fields, each a value, null or an atomic operation.
    func inputSchema(_ c: CollectionSchema) -> JSONValue {
        var properties: [String: JSONValue] = [:]
        for (name, mapping) in c.fields where !mapping.readOnly {
            var property: [String: JSONValue] = ["anyOf": .array([OpenAPIDocument.fieldSchema(mapping), .object(["type": .string("null")]), OpenAPIDocument.ref("Operation")])]
            if name == c.access.ownerField {
                property["description"] = .string("The owner: set to the signed-in user on create (another value is refused with 119); it cannot be changed.")
            }
            properties[name] = .object(property)
        }
        for (name, relation) in c.relations { properties[name] = relationOperation(relation) }
        return .object(["type": .string("object"), "properties": .object(properties), "additionalProperties": .bool(false),
                        "description": .string("Fields of \(c.className) to set; others are refused (105).")])
    }
}

extension ParseEndpoints {
    /// `GET /openapi.json`: answered before the key check (`ParseResponder`), like `/health`. It describes
    /// what callers without the master key can use: classes only the master key may touch are left out, and so
    /// are fields protected from everyone (`protectedFields: {"*": …}`). Built once per gateway (a reload
    /// builds a new one), so fetching it costs no more than a cached read.
    func openAPI() -> ParseReply {
        let gateway = self.gateway, hasUsers = auth != nil
        let body = OpenAPIDocument.cache.bytes(for: gateway) {
            let visible = gateway.connectors.flatMap(\.collections).compactMap(OpenAPIDocument.publicShape)
            return JSONWriter.serialize(OpenAPIDocument(collections: visible, config: gateway.config, hasUsers: hasUsers).json())
        }
        return ParseReply(status: 200, body: body)
    }

    /// The path of the document, below the mount path; the other methods answer 405.
    func openAPIRoutes() -> RouteCollection<ParseRequestContext> {
        let routes = RouteCollection(context: ParseRequestContext.self)
        endpoint(routes, "openapi.json", [.get: { _, _ in openAPI() }])
        return routes
    }
}

extension OpenAPIDocument {
    /// The collection as callers without the master key see it; nil when only the master key may use it.
    static func publicShape(_ c: CollectionSchema) -> CollectionSchema? {
        guard ClassPermissions.Operation.allCases.contains(where: { !(c.permissions.rules[$0] ?? []).isEmpty }) else { return nil }
        var shape = c
        for field in c.access.hiddenFields(Caller.anonymous) {
            shape.fields[field] = nil
            shape.relations[field] = nil
        }
        return shape
    }

    /// The encoded document of the gateway serving now.
    static let cache = DocumentCache()

    final class DocumentCache: Sendable {
        private struct Entry { weak var gateway: Gateway?; var bytes: [UInt8] }
        private let entry = Mutex<Entry?>(nil)

        func bytes(for gateway: Gateway, build: () -> [UInt8]) -> [UInt8] {
            if let hit = entry.withLock({ e -> [UInt8]? in e.flatMap { $0.gateway === gateway ? $0.bytes : nil } }) { return hit }
            let bytes = build()
            entry.withLock { $0 = Entry(gateway: gateway, bytes: bytes) }
            return bytes
        }
    }
}

import CausewayCore

/// Relation fields (`type: relation`, join tables) in the document, as Parse Server's dialect has them: objects carry
/// `{"__type":"Relation","className":…}`, write bodies take `AddRelation` / `RemoveRelation` (or a `Batch` of them)
/// with pointers to the target class, and the target class's `where` takes `$relatedTo` naming an owner and the key.
extension OpenAPIDocument {
    /// The field's value in objects: the marker, never the linked ids.
    static func relationSchema(_ relation: RelationMapping) -> JSONValue {
        .object(["allOf": .array([ref("Relation"), .object(["properties": .object(["className": .object(["const": .string(relation.targetClass)])])])])])
    }

    /// A pointer to an object of `className`; integer keys are digits (others are refused with 111).
    func pointerOperand(_ className: String) -> JSONValue {
        var id: [String: JSONValue] = ["type": .string("string"), "minLength": .int(1)]
        if collections.first(where: { $0.className == className })?.objectId.type == .integer { id["pattern"] = .string("^-?[0-9]{1,18}$") }
        return .object([
            "type": .string("object"), "required": .array(["__type", "className", "objectId"].map(JSONValue.string)),
            "properties": .object(["__type": .object(["const": .string("Pointer")]), "className": .object(["const": .string(className)]),
                                   "objectId": .object(id)]),
        ])
    }

    /// The write forms of a relation field: `AddRelation` / `RemoveRelation` of pointers, or a `Batch` of both.
    func relationOperation(_ relation: RelationMapping) -> JSONValue {
        let change: JSONValue = .object([
            "type": .string("object"), "required": .array([.string("__op"), .string("objects")]), "additionalProperties": .bool(false),
            "properties": .object([
                "__op": .object(["enum": .array([.string("AddRelation"), .string("RemoveRelation")])]),
                "objects": .object(["type": .string("array"), "items": pointerOperand(relation.targetClass)]),
            ]),
        ])
        return .object([
            "description": .string("Links to \(relation.targetClass) objects, kept in a join table: add or remove them (a link added twice or removed when missing is no error); written in one transaction with the rest of the request."),
            "oneOf": .array([
                change,
                .object([
                    "type": .string("object"), "required": .array([.string("__op"), .string("ops")]), "additionalProperties": .bool(false),
                    "properties": .object(["__op": .object(["const": .string("Batch")]), "ops": .object(["type": .string("array"), "items": change])]),
                ]),
            ]),
        ])
    }

    /// A relation field in its own class's `where` (the SDKs' `equalTo(relationKey, object)`): the owners linked to a
    /// target (a pointer or `$eq`), to any of several (`$in`), or not linked (`$ne`, `$nin`).
    func relationCondition(_ relation: RelationMapping) -> JSONValue {
        let pointer = pointerOperand(relation.targetClass)
        let list: JSONValue = .object(["type": .string("array"), "items": pointer])
        return .object([
            "description": .string("The objects whose \(relation.name) links to the given \(relation.targetClass) objects (or, with $ne / $nin, does not)."),
            "anyOf": .array([
                pointer,
                .object(["type": .string("object"), "minProperties": .int(1), "maxProperties": .int(1), "additionalProperties": .bool(false),
                         "properties": .object(["$eq": pointer, "$ne": pointer, "$in": list, "$nin": list])]),
            ]),
        ])
    }

    /// `$relatedTo` in the `where` of `c`: one of the relations that link other classes (or `c` itself) to `c`. nil when
    /// no relation targets `c`.
    func relatedToCondition(_ c: CollectionSchema) -> JSONValue? {
        var owners: [String] = [], keys: Set<String> = []
        for owner in collections {
            for relation in owner.relations.values where relation.targetClass == c.className {
                owners.append(owner.className)
                keys.insert(relation.name)
            }
        }
        guard !owners.isEmpty else { return nil }
        let distinctOwners = Array(Set(owners)).sorted()
        return .object([
            "type": .string("object"), "required": .array([.string("object"), .string("key")]), "additionalProperties": .bool(false),
            "description": .string("The \(c.className) objects linked to one owner through a relation field (\(distinctOwners.joined(separator: ", "))); an owner the caller cannot read has no links."),
            "properties": .object([
                "object": .object([
                    "type": .string("object"), "required": .array(["__type", "className", "objectId"].map(JSONValue.string)),
                    "properties": .object(["__type": .object(["const": .string("Pointer")]),
                                           "className": .object(["enum": .array(distinctOwners.map(JSONValue.string))]),
                                           "objectId": .object(["type": .string("string"), "minLength": .int(1)])]),
                ]),
                "key": .object(["enum": .array(keys.sorted().map(JSONValue.string))]),
            ]),
        ])
    }
}

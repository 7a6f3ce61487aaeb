@testable import CausewayCore

/// A collection with one field of every type, for query tests.
let testSchema = CollectionSchema(
    className: "Item", connectorName: "test",
    fields: [
        "name": FieldMapping(name: "name", type: .string, column: "name"),
        "score": FieldMapping(name: "score", type: .number, column: "score"),
        "active": FieldMapping(name: "active", type: .boolean, column: "active"),
        "when": FieldMapping(name: "when", type: .date, column: "when"),
        "tags": FieldMapping(name: "tags", type: .array, column: "tags"),
        "place": FieldMapping(name: "place", type: .geoPoint, column: "place"),
        "meta": FieldMapping(name: "meta", type: .object, column: "meta"),
        "owner": FieldMapping(name: "owner", type: .pointer, column: "owner", targetClass: "Person"),
    ],
    objectId: ObjectIdMapping(column: "id"), createdAtColumn: "created", updatedAtColumn: "updated")

func parseWhere(_ text: String, schema: CollectionSchema? = testSchema) throws -> QueryFilter? {
    try QueryParser(schema: schema).parse(try JSONParser.parse(text))
}

func gatewayError(_ body: () throws -> Void) -> GatewayError? {
    do { try body() } catch let e as GatewayError { return e } catch { return nil }
    return nil
}

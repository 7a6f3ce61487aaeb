import CausewayCore
import Logging
import PostgresNIO

/// Inserts, atomic updates (`UPDATE … RETURNING`) and deletes.
extension PostgresConnector {
    func writable(_ t: PostgresTable) throws {
        if t.isView { throw GatewayError(.operationForbidden, "Class \(t.schema.className) is served from a view and is read-only.") }
    }

    public func create(_ object: ParseObject, in collection: CollectionSchema, context: ConnectorContext) async throws -> ParseObject {
        try await create(object, in: collection, on: nil)
    }

    public func create(_ object: ParseObject, in collection: CollectionSchema, on connection: PostgresConnection?) async throws -> ParseObject {
        let t = try await table(collection)
        try writable(t)
        var translator = PostgresFilterTranslator(table: t)
        var columns: [String] = []
        var values: [String] = []
        if let id = object.objectId {
            let key = t.info(t.schema.objectId.column)
            columns.append(t.schema.objectId.column)
            values.append(translator.bind(id, as: key.castType))
        }
        for (column, date) in [(t.schema.createdAtColumn, object.createdAt), (t.schema.updatedAtColumn, object.updatedAt)] {
            guard let column, let date else { continue }
            columns.append(column)
            values.append(translator.bind(.date(date), for: t.info(column)))
        }
        for name in object.fields.keys.sorted() {
            let f = t.schema.fields[name]!
            let v = object.fields[name]!
            try checkEncodable(v, f, t)
            let cols = PostgresTable.columns(of: f)
            if f.type == .geoPoint, case .geoPoint(let p) = v {
                columns += cols
                values.append(translator.bind(.double(p.latitude), for: t.info(cols[0])))
                values.append(translator.bind(.double(p.longitude), for: t.info(cols[1])))
            } else {
                columns.append(cols[0])
                values.append(translator.bind(v, for: t.info(cols[0])))
            }
        }
        let sql = columns.isEmpty
            ? "INSERT INTO \(t.qualifiedName) DEFAULT VALUES RETURNING \(selectList(t, fields: nil))"
            : "INSERT INTO \(t.qualifiedName) (\(columns.map(t.quoted).joined(separator: ", "))) VALUES (\(values.joined(separator: ", "))) RETURNING \(selectList(t, fields: nil))"
        guard let stored = try await rows(try translator.statement(sql), t, fields: nil, on: connection).first else {
            throw GatewayError(.internalServerError, "Internal server error.", detail: "INSERT returned no row")
        }
        return stored
    }

    /// Refuses values the column cannot hold with a Parse type error instead of a database error.
    func checkEncodable(_ v: ParseValue, _ f: FieldMapping, _ t: PostgresTable) throws {
        let column = t.info(PostgresTable.columns(of: f)[0])
        var ok = true
        switch (f.type, v) {
        case (.array, .array(let items)): ok = PostgresValueCodec.elementsEncodable(items, for: column)
        case (.geoPoint, _), (.object, _), (.file, _), (.bytes, _), (.pointer, _): ok = true
        default: ok = PostgresValueCodec.encodable(v, for: column)
        }
        if !ok {
            throw GatewayError(.incorrectType, "schema mismatch for \(t.schema.className).\(f.name); the column is \(column.typeName) and cannot hold \(JSONWriter.string(ParseCodec.encode(v)).prefix(60))")
        }
    }

    public func update(objectId: String, operations: [String: UpdateOperation], updatedAt: ParseDate,
                       in collection: CollectionSchema, context: ConnectorContext) async throws -> ParseObject? {
        try await update(objectId: objectId, operations: operations, updatedAt: updatedAt, in: collection, on: nil)
    }

    public func update(objectId: String, operations: [String: UpdateOperation], updatedAt: ParseDate,
                       in collection: CollectionSchema, on connection: PostgresConnection?) async throws -> ParseObject? {
        let t = try await table(collection)
        try writable(t)
        let key = t.info(t.schema.objectId.column)
        guard let literal = PostgresFilterTranslator.keyLiteral(objectId, t.schema.objectId, key) else { return nil }
        var translator = PostgresFilterTranslator(table: t)
        var sets: [String] = []
        for name in operations.keys.sorted() {
            let f = t.schema.fields[name]!
            let op = operations[name]!
            if case .set(let v) = op { try checkEncodable(v, f, t) }
            sets += try assignments(f, op, t, &translator)
        }
        if let u = t.schema.updatedAtColumn {
            sets.append("\(t.quoted(u)) = \(translator.bind(.date(updatedAt), for: t.info(u)))")
        }
        let idColumn = t.quoted(t.schema.objectId.column)
        let condition = "\(idColumn) = \(translator.bind(literal, as: key.castType))"
        let sql = sets.isEmpty
            ? "SELECT \(selectList(t, fields: nil)) FROM \(t.qualifiedName) WHERE \(condition)"
            : "UPDATE \(t.qualifiedName) SET \(sets.joined(separator: ", ")) WHERE \(condition) RETURNING \(selectList(t, fields: nil))"
        return try await rows(try translator.statement(sql), t, fields: nil, on: connection).first
    }

    /// `SET` terms for one field operation, evaluated by PostgreSQL on the current row.
    func assignments(_ f: FieldMapping, _ op: UpdateOperation, _ t: PostgresTable,
                             _ tr: inout PostgresFilterTranslator) throws -> [String] {
        let cols = PostgresTable.columns(of: f)
        let c = t.quoted(cols[0])
        let info = t.info(cols[0])
        switch op {
        case .set(let v):
            if f.type == .geoPoint {
                guard case .geoPoint(let p) = v else { return ["\(c) = NULL", "\(t.quoted(cols[1])) = NULL"] }
                return ["\(c) = \(tr.bind(.double(p.latitude), for: info))", "\(t.quoted(cols[1])) = \(tr.bind(.double(p.longitude), for: t.info(cols[1])))"]
            }
            return ["\(c) = \(tr.bind(v, for: info))"]
        case .delete:
            return cols.map { "\(t.quoted($0)) = NULL" }
        case .increment(let amount):
            guard PostgresValueCodec.encodable(amount, for: info) else {
                throw GatewayError(.incorrectType, "Cannot increment \(t.schema.className).\(f.name) by \(JSONWriter.string(ParseCodec.encode(amount))): the column is \(info.typeName).")
            }
            return ["\(c) = COALESCE(\(c), 0) + \(tr.bind(amount, for: info))"]
        case .add(let items), .addUnique(let items), .remove(let items):
            guard PostgresValueCodec.elementsEncodable(items, for: info) else {
                throw GatewayError(.incorrectType, "The values cannot be stored in \(t.schema.className).\(f.name) (\(info.typeName)).")
            }
            if info.isJSON {
                let arg = tr.bind(JSONWriter.string(.array(items.map(ParseCodec.encode))), as: "jsonb")
                let current = "COALESCE(\(c), '[]'::jsonb)"
                let value: String
                switch op {
                case .add: value = "\(current) || \(arg)"
                case .addUnique:
                    value = "\(current) || COALESCE((SELECT jsonb_agg(e ORDER BY i) FROM (SELECT e, min(i) AS i FROM jsonb_array_elements(\(arg)) WITH ORDINALITY AS u(e, i) WHERE NOT (\(current) @> jsonb_build_array(e)) GROUP BY e) AS s), '[]'::jsonb)"
                default:
                    value = "COALESCE((SELECT jsonb_agg(e ORDER BY i) FROM jsonb_array_elements(\(current)) WITH ORDINALITY AS u(e, i) WHERE NOT (\(arg) @> jsonb_build_array(e))), '[]'::jsonb)"
                }
                return ["\(c) = \(value)::\(info.castType)"]
            }
            let arg = tr.bind(PostgresValueCodec.arrayLiteral(items), as: info.castType)
            let current = "COALESCE(\(c), '{}'::\(info.castType))"
            switch op {
            case .add: return ["\(c) = \(current) || \(arg)"]
            case .addUnique:
                return ["\(c) = \(current) || ARRAY(SELECT e FROM unnest(\(arg)) WITH ORDINALITY AS u(e, i) WHERE e IS NOT NULL AND e <> ALL(\(current)) GROUP BY e ORDER BY min(i))"]
            default:
                return ["\(c) = ARRAY(SELECT e FROM unnest(\(current)) WITH ORDINALITY AS u(e, i) WHERE e IS NULL OR e <> ALL(\(arg)) ORDER BY i)"]
            }
        }
    }

    public func delete(objectId: String, in collection: CollectionSchema, context: ConnectorContext) async throws -> Bool {
        try await delete(objectId: objectId, in: collection, on: nil)
    }

    public func delete(objectId: String, in collection: CollectionSchema, on connection: PostgresConnection?) async throws -> Bool {
        let t = try await table(collection)
        try writable(t)
        let key = t.info(t.schema.objectId.column)
        guard let literal = PostgresFilterTranslator.keyLiteral(objectId, t.schema.objectId, key) else { return false }
        var translator = PostgresFilterTranslator(table: t)
        let idColumn = t.quoted(t.schema.objectId.column)
        let sql = "DELETE FROM \(t.qualifiedName) WHERE \(idColumn) = \(translator.bind(literal, as: key.castType)) RETURNING \(idColumn)"
        return try await !run(try translator.statement(sql), on: connection).isEmpty
    }
}

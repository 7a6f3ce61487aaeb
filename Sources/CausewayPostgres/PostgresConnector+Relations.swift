import CausewayCore
import Logging
import PostgresNIO

/// `type: relation` fields in join tables of the database (in the owner table's schema): reads with one
/// parameterized SELECT, adds with `INSERT … WHERE NOT EXISTS … ON CONFLICT DO NOTHING` (an existing link is
/// not added twice), removes with one DELETE (a missing link is no error), and `causeway check` findings.
/// Parameters are sent as text and cast (`$1::text::integer`), as in every statement of this connector: a
/// prepared statement would otherwise infer the column's type for a parameter bound as text.
extension PostgresConnector: RelationConnector {
    /// The join table as a `PostgresTable` (introspected for its column types once, and again after the connector
    /// restarts; a reload makes a new connector; a join table not found is looked up again on its next use).
    /// `fresh`: read the catalog even when the table is known (`causeway check`).
    func joinTable(_ relation: RelationMapping, owner: CollectionSchema, on connection: PostgresConnection? = nil,
                   fresh: Bool = false) async throws -> PostgresTable {
        let ownerTable = tableName(owner)
        let key = "\(ownerTable.0).\(relation.joinTable)"
        if !fresh, let known = state.withLock({ $0.joinTables[key] }) { return known }
        let shape = CollectionSchema(className: owner.className, connectorName: name, fields: [:],
                                     objectId: ObjectIdMapping(column: relation.ownerColumn))
        var t = try PostgresTable(schema: shape, schemaName: ownerTable.0, table: relation.joinTable)
        (t.columns, _) = try await introspect(t, on: connection)
        state.withLock { [t] in
            $0.joinTableIntrospections += 1
            if !t.columns.isEmpty { $0.joinTables[key] = t }
        }
        return t
    }

    public func relatedIds(owner objectId: String, relation: RelationMapping, in collection: CollectionSchema, target: ObjectIdMapping,
                           limit: Int, context: ConnectorContext) async throws -> [String] {
        try await relatedIds(owner: objectId, relation: relation, in: collection, limit: limit, on: nil)
    }

    public func relatedIds(owner objectId: String, relation: RelationMapping, in collection: CollectionSchema, limit: Int,
                           on connection: PostgresConnection?) async throws -> [String] {
        let t = try await table(collection)
        guard t.info(t.schema.objectId.column).accepts(id: objectId) else { return [] }
        let (qualified, owner, targetColumn) = try quotedJoin(relation, collection)
        let statement = PostgresStatement(
            sql: "SELECT \(targetColumn)::text FROM \(qualified) WHERE \(owner) = $1::text::\(t.info(t.schema.objectId.column).castType) ORDER BY 1 LIMIT \(limit)",
            values: [objectId])
        let rows = try await run(statement, on: connection)
        return try rows.map { try $0.decode(String.self) }
    }

    public func ownerIds(linkedTo targets: [String], relation: RelationMapping, in collection: CollectionSchema, target: ObjectIdMapping,
                         limit: Int, context: ConnectorContext) async throws -> [String] {
        try await ownerIds(linkedTo: targets, relation: relation, in: collection, target: target, limit: limit, on: nil)
    }

    /// (`target`: unused; the join table's column type decides which ids can match.)
    public func ownerIds(linkedTo targets: [String], relation: RelationMapping, in collection: CollectionSchema, target: ObjectIdMapping,
                         limit: Int, on connection: PostgresConnection?) async throws -> [String] {
        let j = try await joinTable(relation, owner: collection, on: connection)
        guard !j.columns.isEmpty else {
            throw GatewayError(.internalServerError, "The source no longer matches the mapping of \(collection.className); run causeway check.",
                               detail: "join table \(relation.joinTable) not found")
        }
        let targetInfo = j.info(relation.targetColumn)
        let ids = targets.filter { targetInfo.accepts(id: $0) }
        guard !ids.isEmpty else { return [] }
        let (qualified, owner, targetColumn) = try quotedJoin(relation, collection)
        let statement = PostgresStatement(
            sql: "SELECT DISTINCT \(owner)::text FROM \(qualified) WHERE \(targetColumn) = ANY($1::text::text[]::\(targetInfo.castType)[]) ORDER BY 1 LIMIT \(limit)",
            values: [PostgresValueCodec.arrayLiteral(ids.map(ParseValue.string))])
        return try await run(statement, on: connection).map { try $0.decode(String.self) }
    }

    public func changeRelation(owner objectId: String, relation: RelationMapping, in collection: CollectionSchema, target: ObjectIdMapping,
                               adding: [String], removing: [String], context: ConnectorContext) async throws {
        try await changeRelation(owner: objectId, relation: relation, in: collection, target: target, adding: adding, removing: removing, on: nil)
    }

    /// The links' changes on `connection` (inside the caller's transaction) or, without one, as one transaction of
    /// its own: the INSERT and the DELETE commit together or not at all.
    /// (`target`: unused; the join table's column types decide.)
    public func changeRelation(owner objectId: String, relation: RelationMapping, in collection: CollectionSchema, target: ObjectIdMapping,
                               adding: [String], removing: [String], on connection: PostgresConnection?) async throws {
        let j = try await joinTable(relation, owner: collection, on: connection)
        guard !j.columns.isEmpty else {
            throw GatewayError(.internalServerError, "The source no longer matches the mapping of \(collection.className); run causeway check.",
                               detail: "join table \(relation.joinTable) not found")
        }
        let ownerType = j.info(relation.ownerColumn).castType, targetType = j.info(relation.targetColumn).castType
        guard j.info(relation.ownerColumn).accepts(id: objectId) else { throw GatewayError.objectNotFound() }
        for id in adding + removing where !j.info(relation.targetColumn).accepts(id: id) {
            throw GatewayError(.invalidQuery, "\(id) is not a valid objectId of \(relation.targetClass) for \(collection.className).\(relation.name).")
        }
        let (qualified, owner, targetColumn) = try quotedJoin(relation, collection)
        var statements: [PostgresStatement] = []
        if !adding.isEmpty {
            let ids = PostgresValueCodec.arrayLiteral(adding.map(ParseValue.string))
            statements.append(PostgresStatement(sql: """
                INSERT INTO \(qualified) (\(owner), \(targetColumn))
                SELECT DISTINCT $1::text::\(ownerType), x FROM unnest($2::text::text[]::\(targetType)[]) AS x
                WHERE NOT EXISTS (SELECT 1 FROM \(qualified) j WHERE j.\(owner) = $1::text::\(ownerType) AND j.\(targetColumn) = x)
                ON CONFLICT DO NOTHING RETURNING 1
                """, values: [objectId, ids]))
        }
        if !removing.isEmpty {
            let ids = PostgresValueCodec.arrayLiteral(removing.map(ParseValue.string))
            statements.append(PostgresStatement(
                sql: "DELETE FROM \(qualified) WHERE \(owner) = $1::text::\(ownerType) AND \(targetColumn) = ANY($2::text::text[]::\(targetType)[]) RETURNING 1",
                values: [objectId, ids]))
        }
        if let connection {
            for s in statements { _ = try await run(s, on: connection) }
        } else if statements.count == 1 {
            _ = try await run(statements[0], on: nil)
        } else {
            let all = statements
            try await inTransaction { c in
                for s in all { _ = try await self.run(s, on: c) }
            }
        }
    }

    private func quotedJoin(_ relation: RelationMapping, _ owner: CollectionSchema) throws -> (String, String, String) {
        let (schemaName, _) = tableName(owner)
        return ("\(try SQLIdentifier(schemaName).quoted).\(try SQLIdentifier(relation.joinTable).quoted)",
                try SQLIdentifier(relation.ownerColumn).quoted, try SQLIdentifier(relation.targetColumn).quoted)
    }

    /// `causeway check`: each relation's join table and columns exist and hold the owner's and the target's
    /// key types (the target's from `classes`, also when another connector serves it).
    func verifyRelations(_ classes: [String: CollectionSchema]) async -> [CheckFinding] {
        var findings: [CheckFinding] = []
        for schema in collections {
            for relation in schema.relations.values.sorted(by: { $0.name < $1.name }) {
                let subject = "\(name)/\(schema.className) (join table \(relation.joinTable))"
                let at = "\(relation.origin): \(schema.className).\(relation.name): "
                do {
                    let j = try await joinTable(relation, owner: schema, fresh: true)
                    var problems: [String] = []
                    if j.columns.isEmpty {
                        problems.append("join table \(tableName(schema).0).\(relation.joinTable) does not exist (or the user may not see it)")
                    } else {
                        let target = classes[relation.targetClass]
                        // The target may be served by another connector: its key type is what the column must hold.
                        let elsewhere = target.map { $0.connectorName == name ? "" : " (\($0.className) in connector \($0.connectorName))" } ?? ""
                        for (column, key, role) in [(relation.ownerColumn, Optional(schema.objectId), "owner"), (relation.targetColumn, target?.objectId, "target")] {
                            guard let c = j.columns[column] else {
                                problems.append("column \(column) does not exist in \(relation.joinTable)")
                                continue
                            }
                            // Keys of another connector's class: a text column holds any of them (as for pointers).
                            let fits = role == "target" && !elsewhere.isEmpty ? (c.isText || c.fits(key?.type ?? .string)) : c.fits(key?.type ?? .string)
                            if let key, !fits {
                                problems.append("column \(column) is \(c.typeName), which cannot hold the \(role)'s \(key.type.rawValue) keys" + (role == "target" ? elsewhere : ""))
                            }
                        }
                    }
                    if problems.isEmpty {
                        findings.append(CheckFinding(.ok, subject, at + "links \(relation.ownerColumn) → \(relation.targetColumn) (\(relation.targetClass))",
                                                     location: relation.origin))
                    }
                    for p in problems { findings.append(CheckFinding(.error, subject, at + p, location: relation.origin)) }
                } catch {
                    findings.append(CheckFinding(.error, subject, at + "cannot inspect the join table: \(String(reflecting: error))",
                                                 location: relation.origin))
                }
            }
        }
        return findings
    }
}

extension PostgresColumn {
    /// How this column stores another class's keys (for `causeway check`).
    var keyKind: PointerCheck.KeyColumnKind {
        if ["smallint", "integer", "bigint"].contains(typeName) { return .integer }
        if typeName == "uuid" { return .uuid }
        return isText ? .text : .other
    }

    /// Whether `id` can be compared with this key column without a conversion error.
    func accepts(id: String) -> Bool {
        if ["integer", "bigint", "smallint"].contains(castType) { return Int64(id) != nil }
        if castType == "uuid" { return UUIDText.isValid(id) }
        return !id.isEmpty
    }
}

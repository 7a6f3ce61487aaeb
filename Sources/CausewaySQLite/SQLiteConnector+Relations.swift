import CausewayCore
import Logging
import SQLiteNIO

/// `type: relation` fields in join tables of the SQLite file: reads with one parameterized SELECT, changes
/// in one write transaction (an existing link is not added twice, a missing link is no error), join tables
/// created with the class tables when `createMissingTables` is on, and checked by `causeway check`.
extension SQLiteConnector: RelationConnector {
    struct JoinStatements {
        let table: String, owner: String, target: String

        init(_ relation: RelationMapping) throws {
            table = try SQLIdentifier(relation.joinTable).quoted
            owner = try SQLIdentifier(relation.ownerColumn).quoted
            target = try SQLIdentifier(relation.targetColumn).quoted
        }
    }

    public func relatedIds(owner objectId: String, relation: RelationMapping, in collection: CollectionSchema, target: ObjectIdMapping,
                           limit: Int, context: ConnectorContext) async throws -> [String] {
        try await relatedIds(owner: objectId, relation: relation, in: collection, limit: limit, on: nil)
    }

    public func relatedIds(owner objectId: String, relation: RelationMapping, in collection: CollectionSchema, limit: Int,
                           on c: SQLiteConnection?) async throws -> [String] {
        let t = try table(collection)
        guard let key = SQLiteValueCodec.encodeId(objectId, t.schema.objectId) else { return [] }
        let j = try JoinStatements(relation)
        let sql = "SELECT \(j.target) FROM \(j.table) WHERE \(j.owner) = ? ORDER BY \(j.target) LIMIT ?"
        let rows = try await run { try await self.read(sql, [key, .integer(limit)], on: c) }
        return rows.compactMap { $0.columns.first.flatMap { SQLiteValueCodec.decodeId($0.data) } }
    }

    public func ownerIds(linkedTo targets: [String], relation: RelationMapping, in collection: CollectionSchema, target: ObjectIdMapping,
                         limit: Int, context: ConnectorContext) async throws -> [String] {
        try await ownerIds(linkedTo: targets, relation: relation, in: collection, target: target, limit: limit, on: nil)
    }

    /// (`collection`: unused; the join table names the owners.)
    public func ownerIds(linkedTo targets: [String], relation: RelationMapping, in collection: CollectionSchema, target: ObjectIdMapping,
                         limit: Int, on c: SQLiteConnection?) async throws -> [String] {
        let keys = targets.compactMap { SQLiteValueCodec.encodeId($0, target) }
        guard !keys.isEmpty else { return [] }
        let j = try JoinStatements(relation)
        let sql = "SELECT DISTINCT \(j.owner) FROM \(j.table) WHERE \(j.target) IN (\(keys.map { _ in "?" }.joined(separator: ", "))) ORDER BY 1 LIMIT ?"
        let rows = try await run { try await self.read(sql, keys + [.integer(limit)], on: c) }
        return rows.compactMap { $0.columns.first.flatMap { SQLiteValueCodec.decodeId($0.data) } }
    }

    public func changeRelation(owner objectId: String, relation: RelationMapping, in collection: CollectionSchema, target: ObjectIdMapping,
                               adding: [String], removing: [String], context: ConnectorContext) async throws {
        try await changeRelation(owner: objectId, relation: relation, in: collection, target: target, adding: adding, removing: removing, on: nil)
    }

    /// The links' changes on `connection` (inside the caller's transaction) or in one write transaction of their own.
    public func changeRelation(owner objectId: String, relation: RelationMapping, in collection: CollectionSchema, target: ObjectIdMapping,
                               adding: [String], removing: [String], on connection: SQLiteConnection?) async throws {
        let t = try table(collection)
        guard let key = SQLiteValueCodec.encodeId(objectId, t.schema.objectId) else { throw GatewayError.objectNotFound() }
        func targetKey(_ id: String) throws -> SQLiteData {
            guard let k = SQLiteValueCodec.encodeId(id, target) else {
                throw GatewayError(.invalidQuery, "\(id) is not a valid objectId of \(relation.targetClass).")
            }
            return k
        }
        let adds = try adding.map(targetKey), removes = try removing.map(targetKey)
        let j = try JoinStatements(relation)
        let insert = "INSERT INTO \(j.table) (\(j.owner), \(j.target)) SELECT ?, ? WHERE NOT EXISTS (SELECT 1 FROM \(j.table) WHERE \(j.owner) = ? AND \(j.target) = ?)"
        let delete = "DELETE FROM \(j.table) WHERE \(j.owner) = ? AND \(j.target) = ?"
        try await run {
            try await self.transaction(on: connection) { c in
                for k in adds { _ = try await c.query(insert, [key, k, key, k]) }
                for k in removes { _ = try await c.query(delete, [key, k]) }
            }
        }
    }

    /// Join tables that do not exist yet, created like the class tables (owner and target keys as the
    /// classes' key types, one row per link).
    func createJoinTables(_ pool: SQLiteConnectionPool, logger: Logger) async throws {
        for t in tables.values.sorted(by: { $0.table < $1.table }) {
            for relation in t.schema.relations.values.sorted(by: { $0.name < $1.name }) {
                let j = try JoinStatements(relation)
                let ownerType = t.schema.objectId.type == .integer ? "INTEGER" : "TEXT"
                let targetType = tables[relation.targetClass]?.schema.objectId.type == .integer ? "INTEGER" : "TEXT"
                _ = try await pool.write {
                    try await $0.query("CREATE TABLE IF NOT EXISTS \(j.table) (\(j.owner) \(ownerType) NOT NULL, \(j.target) \(targetType) NOT NULL, PRIMARY KEY (\(j.owner), \(j.target)))")
                }
            }
        }
    }

    /// `causeway check`: each relation's join table and columns exist, and their declared types fit the
    /// owner's and the target's keys (the target's from `classes` when another connector serves it).
    func verifyRelations(_ p: SQLiteConnectionPool, classes: [String: CollectionSchema] = [:]) async -> [CheckFinding] {
        var findings: [CheckFinding] = []
        for t in tables.values.sorted(by: { $0.schema.className < $1.schema.className }) {
            for relation in t.schema.relations.values.sorted(by: { $0.name < $1.name }) {
                let subject = "\(name)/\(t.schema.className) (join table \(relation.joinTable))"
                let at = "\(relation.origin): \(t.schema.className).\(relation.name): "
                do {
                    let rows = try await p.read("SELECT name, type FROM pragma_table_info(?)", [.text(relation.joinTable)])
                    var declared: [String: String] = [:]
                    for r in rows {
                        if let n = r.column("name")?.string { declared[n] = r.column("type")?.string?.uppercased() ?? "" }
                    }
                    let target = tables[relation.targetClass]?.schema ?? classes[relation.targetClass]
                    let elsewhere = target.map { $0.connectorName == name ? "" : " (\($0.className) in connector \($0.connectorName))" } ?? ""
                    let problems = SQLiteConnector.joinProblems(declared, relation, owner: t.schema.objectId, target: target?.objectId,
                                                                willCreate: createMissingTables, targetOrigin: elsewhere)
                    if problems.isEmpty {
                        findings.append(CheckFinding(.ok, subject, at + (rows.isEmpty ? "join table does not exist yet; it is created on first start"
                                                                                : "links \(relation.ownerColumn) → \(relation.targetColumn) (\(relation.targetClass))"),
                                                     location: relation.origin))
                    }
                    for problem in problems { findings.append(CheckFinding(.error, subject, at + problem, location: relation.origin)) }
                } catch {
                    findings.append(CheckFinding(.error, subject, at + "cannot inspect the join table: \(String(reflecting: error))",
                                                 location: relation.origin))
                }
            }
        }
        return findings
    }

    static func joinProblems(_ declared: [String: String], _ relation: RelationMapping, owner: ObjectIdMapping, target: ObjectIdMapping?,
                             willCreate: Bool, targetOrigin: String = "") -> [String] {
        if declared.isEmpty {
            return willCreate ? [] : ["join table \(relation.joinTable) does not exist (createMissingTables is off)"]
        }
        var problems: [String] = []
        for (column, key, role) in [(relation.ownerColumn, Optional(owner), "owner"), (relation.targetColumn, target, "target")] {
            guard let type = declared[column] else {
                problems.append("ownerColumn/targetColumn \(column) does not exist in \(relation.joinTable)")
                continue
            }
            guard let key, !type.isEmpty else { continue }
            let integral = type.contains("INT")
            let textual = type.contains("CHAR") || type.contains("CLOB") || type.contains("TEXT")
            // Keys of another connector's class are written as the gateway has them: a text column holds any of them
            // (a join table this connector creates for such a target is TEXT).
            let fits = role == "target" && !targetOrigin.isEmpty ? (textual || (integral && key.type == .integer))
                                                                 : (key.type == .integer ? integral : textual)
            if !fits {
                problems.append("column \(column) is declared \(type), which does not fit the \(role)'s \(key.type.rawValue) key" + (role == "target" ? targetOrigin : ""))
            }
        }
        return problems
    }
}

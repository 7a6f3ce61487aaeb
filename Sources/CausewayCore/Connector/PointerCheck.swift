import Logging

/// `causeway check` across connectors: every pointer and relation field names a class some connector serves (or one of
/// the identity classes), and a pointer's stored ids can name rows of the target's key (a UUID or integer key
/// cannot be pointed to from where other connectors' text ids are written).
public enum PointerCheck {
    static let identityClasses: Set<String> = ["_User", "_Role", "_Session"]

    /// A connector's own check (`verify`), given every connector's classes where it can use them: SQLite and
    /// PostgreSQL then also check the join-table and pointer columns that hold other connectors' keys.
    public static func verify(_ connector: any Connector, among connectors: [any Connector], logger: Logger) async -> [CheckFinding] {
        guard let relational = connector as? any RelationConnector else { return await connector.verify(logger: logger) }
        var classes: [String: CollectionSchema] = [:]
        for c in connectors { for schema in c.collections { classes[schema.className] = schema } }
        return await relational.verify(logger: logger, classes: classes)
    }

    /// Whether a key column of the given kind can hold the target's objectIds, and why not.
    public static func keyProblem(column: String, declared: String, kind: KeyColumnKind, target: CollectionSchema,
                                  from connectorName: String) -> String? {
        let key = target.objectId.type
        let fits: Bool
        switch kind {
        case .integer: fits = key == .integer
        case .uuid: fits = key == .uuid
        case .text: fits = true
        case .other: fits = false
        }
        guard !fits else { return nil }
        let whose = target.connectorName == connectorName ? target.className : "\(target.className) (connector \(target.connectorName))"
        return "column \(column) is \(declared), which cannot hold the \(key.rawValue) objectIds of \(whose); use a text column (or change the key type)"
    }

    /// How a source column holding another class's keys stores them.
    public enum KeyColumnKind: Sendable { case integer, uuid, text, other }

    public static func findings(_ connectors: [any Connector]) -> [CheckFinding] {
        var classes: [String: CollectionSchema] = [:]
        for connector in connectors { for schema in connector.collections { classes[schema.className] = schema } }
        var findings: [CheckFinding] = []
        for connector in connectors {
            for schema in connector.collections {
                for (name, field) in schema.fields.sorted(by: { $0.key < $1.key }) where field.type == .pointer {
                    let subject = "\(schema.className).\(name)"
                    guard let target = field.targetClass else {
                        findings.append(CheckFinding(.error, subject, "a pointer needs targetClass", location: field.origin))
                        continue
                    }
                    if identityClasses.contains(target) {
                        findings.append(CheckFinding(.warning, subject, "points to \(target), which the identity providers serve: include leaves these pointers as they are", location: field.origin))
                        continue
                    }
                    guard let targetSchema = classes[target] else {
                        findings.append(CheckFinding(.error, subject, "targetClass \(target) is not served by any connector", location: field.origin))
                        continue
                    }
                    let location = targetSchema.connectorName == schema.connectorName ? "same connector" : "connector \(targetSchema.connectorName)"
                    findings.append(CheckFinding(.ok, subject, "points to \(target) (\(location), \(targetSchema.objectId.type.rawValue) key)", location: field.origin))
                }
                for (name, relation) in schema.relations.sorted(by: { $0.key < $1.key }) {
                    let subject = "\(schema.className).\(name)"
                    guard connector is any RelationConnector else {
                        findings.append(CheckFinding(.error, subject, "connector \(connector.name) (\(connector.kind)) keeps no join tables; relations need a SQLite or PostgreSQL source",
                                                     location: relation.origin))
                        continue
                    }
                    guard let targetSchema = classes[relation.targetClass] else {
                        findings.append(CheckFinding(.error, subject, "relation targetClass \(relation.targetClass) is not served by any connector",
                                                     location: relation.origin))
                        continue
                    }
                    let location = targetSchema.connectorName == schema.connectorName ? "same connector" : "connector \(targetSchema.connectorName)"
                    findings.append(CheckFinding(.ok, subject, "relates to \(relation.targetClass) through \(relation.joinTable) (\(location), \(targetSchema.objectId.type.rawValue) key)",
                                                 location: relation.origin))
                }
            }
        }
        return findings
    }
}

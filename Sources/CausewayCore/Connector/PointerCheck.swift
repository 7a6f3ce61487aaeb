/// `causeway check` across connectors: every pointer and relation field names a class some connector serves (or one of
/// the identity classes), and a pointer's stored ids can name rows of the target's key (a UUID or integer key
/// cannot be pointed to from where other connectors' text ids are written).
public enum PointerCheck {
    static let identityClasses: Set<String> = ["_User", "_Role", "_Session"]

    public static func findings(_ connectors: [any Connector]) -> [CheckFinding] {
        var classes: [String: CollectionSchema] = [:]
        for connector in connectors { for schema in connector.collections { classes[schema.className] = schema } }
        var findings: [CheckFinding] = []
        for connector in connectors {
            for schema in connector.collections {
                for (name, field) in schema.fields.sorted(by: { $0.key < $1.key }) where field.type == .pointer {
                    let subject = "\(schema.className).\(name)"
                    guard let target = field.targetClass else {
                        findings.append(CheckFinding(.error, subject, "a pointer needs targetClass"))
                        continue
                    }
                    if identityClasses.contains(target) {
                        findings.append(CheckFinding(.warning, subject, "points to \(target), which the identity providers serve: include leaves these pointers as they are"))
                        continue
                    }
                    guard let targetSchema = classes[target] else {
                        findings.append(CheckFinding(.error, subject, "targetClass \(target) is not served by any connector"))
                        continue
                    }
                    let location = targetSchema.connectorName == schema.connectorName ? "same connector" : "connector \(targetSchema.connectorName)"
                    findings.append(CheckFinding(.ok, subject, "points to \(target) (\(location), \(targetSchema.objectId.type.rawValue) key)"))
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

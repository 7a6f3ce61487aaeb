/// Validates the JSON body of a create or update against the collection and turns it into field operations.
public struct WriteRequestParser: Sendable {
    public let schema: CollectionSchema
    public let capabilities: ConnectorCapabilities

    public init(schema: CollectionSchema, capabilities: ConnectorCapabilities) {
        self.schema = schema
        self.capabilities = capabilities
    }

    public func parse(_ body: [String: JSONValue], isCreate: Bool) throws(GatewayError) -> [String: UpdateOperation] {
        var ops: [String: UpdateOperation] = [:]
        for key in body.keys.sorted() {
            let value = body[key]!
            switch key {
            case "createdAt", "updatedAt":
                continue  // Parse ignores client-supplied timestamps.
            case "objectId", "id":
                throw GatewayError(.invalidKeyName, "\(key) is an invalid field name.")
            case "ACL":
                guard schema.storesACL else {
                    throw GatewayError(.invalidACL, "Class \(schema.className) does not store ACLs: its connector maps no ACL column, so the ACL would be lost.")
                }
                ops["ACL"] = value == .null ? .delete : .set(try WriteRequestParser.acl(value))
                continue
            default:
                break
            }
            guard CollectionSchemaReader.isValidFieldName(key) else {
                throw GatewayError(.invalidKeyName, "Invalid field name: \(key).")
            }
            guard let field = schema.fields[key] else {
                throw GatewayError(.invalidKeyName, "Invalid field name: \(key). Class \(schema.className) has no field '\(key)'; its fields come from connector '\(schema.connectorName)'.")
            }
            if field.readOnly {
                throw GatewayError(.operationForbidden, "Field \(schema.className).\(key) is read-only.")
            }
            let op = try operation(for: field, value)
            if !capabilities.updateOperations.contains(op.kind) {
                throw GatewayError(.operationForbidden, "Connector '\(schema.connectorName)' cannot apply \(op.kind.parseName) to \(schema.className).\(key).")
            }
            ops[key] = op
        }
        return ops
    }

    private func operation(for field: FieldMapping, _ json: JSONValue) throws(GatewayError) -> UpdateOperation {
        let name = "\(schema.className).\(field.name)"
        if case .object(let o) = json, case .string(let opName)? = o["__op"] {
            switch opName {
            case "Delete":
                return .delete
            case "Increment":
                guard field.type == .number else {
                    throw GatewayError(.incorrectType, "Cannot increment \(name): it is a \(field.type.parseName) field.")
                }
                let amount = o["amount"] ?? .int(1)
                switch amount {
                case .int, .double: return .increment(try ParseCodec.decode(amount))
                default: throw GatewayError(.incorrectType, "Increment amount for \(name) must be a number, got \(amount.parseTypeName).")
                }
            case "Add", "AddUnique", "Remove":
                guard field.type == .array else {
                    throw GatewayError(.incorrectType, "Cannot apply \(opName) to \(name): it is a \(field.type.parseName) field.")
                }
                guard case .array(let items)? = o["objects"] else {
                    throw GatewayError(.invalidJSON, "\(opName) on \(name) needs an \"objects\" array.")
                }
                var values: [ParseValue] = []
                for item in items {
                    try checkNestedKeys(item)
                    values.append(try ParseCodec.decode(item))
                }
                switch opName {
                case "Add": return .add(values)
                case "AddUnique": return .addUnique(values)
                default: return .remove(values)
                }
            case "AddRelation", "RemoveRelation", "Batch":
                throw GatewayError(.operationForbidden, "\(opName) is not supported on \(name): Causeway collections have no relations.")
            default:
                throw GatewayError(.invalidJSON, "Unknown __op '\(opName)' on \(name).")
            }
        }
        try checkNestedKeys(json)
        let value = field.type.coerce(try ParseCodec.decode(json))
        guard field.type.accepts(value) else {
            throw GatewayError(.incorrectType, "schema mismatch for \(name); expected \(field.type.parseName) but got \(value.typeName)")
        }
        if case .pointer(let cls, _) = value, let target = field.targetClass, cls != target {
            throw GatewayError(.incorrectType, "schema mismatch for \(name); expected Pointer<\(target)> but got Pointer<\(cls)>")
        }
        return .set(value)
    }

    /// A Parse ACL: `{"*"|"<userId>"|"role:<name>": {"read": Bool, "write": Bool}}`, nothing else (123 otherwise).
    static func acl(_ json: JSONValue) throws(GatewayError) -> ParseValue {
        guard case .object(let entries) = json else { throw GatewayError(.invalidACL, "ACL must be an object.") }
        var out: [String: ParseValue] = [:]
        for (key, grant) in entries {
            let validKey = key == "*" || (key.hasPrefix("role:") && key.count > 5)
                || (!key.isEmpty && key.utf8.allSatisfy { QueryParser.isAlpha($0) || ($0 >= 48 && $0 <= 57) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") })
            guard validKey else { throw GatewayError(.invalidACL, "Invalid ACL key \(key): use *, a user's objectId or role:NAME.") }
            guard case .object(let g) = grant, !g.isEmpty else { throw GatewayError(.invalidACL, "The ACL entry for \(key) must be an object like {\"read\":true}.") }
            var permissions: [String: ParseValue] = [:]
            for (p, v) in g {
                guard p == "read" || p == "write" else { throw GatewayError(.invalidACL, "Invalid permission \(p) in the ACL entry for \(key): only read and write.") }
                guard case .bool(let b) = v else { throw GatewayError(.invalidACL, "ACL permissions must be true or false (\(key).\(p)).") }
                if b { permissions[p] = .bool(true) }
            }
            if !permissions.isEmpty { out[key] = .object(permissions) }
        }
        return .object(out)
    }

    /// Nested object keys may not contain `$` or `.` (they would be ambiguous in queries).
    private func checkNestedKeys(_ json: JSONValue) throws(GatewayError) {
        switch json {
        case .object(let o):
            if o["__type"] != nil { return }
            for (k, v) in o {
                if k.contains("$") || k.contains(".") {
                    throw GatewayError(.invalidNestedKey, "Nested keys should not contain the '$' or '.' characters")
                }
                try checkNestedKeys(v)
            }
        case .array(let a):
            for v in a { try checkNestedKeys(v) }
        default:
            return
        }
    }
}

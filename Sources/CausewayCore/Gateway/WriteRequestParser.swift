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
                throw GatewayError(.invalidACL, "Class \(schema.className) does not store ACLs: its connector maps no ACL column, so the ACL would be lost.")
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

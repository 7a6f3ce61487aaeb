/// A change to one field in a create or update: a plain value or one of Parse's `__op` operations.
public enum UpdateOperation: Sendable, Hashable {
    case set(ParseValue)
    case delete
    case increment(ParseValue)
    case add([ParseValue])
    case addUnique([ParseValue])
    case remove([ParseValue])

    public var kind: Kind {
        switch self {
        case .set: return .set
        case .delete: return .delete
        case .increment: return .increment
        case .add: return .add
        case .addUnique: return .addUnique
        case .remove: return .remove
        }
    }

    public enum Kind: String, Sendable, Hashable, CaseIterable {
        case set, delete, increment, add, addUnique, remove
        public var parseName: String {
            switch self {
            case .set: return "set"
            case .delete: return "Delete"
            case .increment: return "Increment"
            case .add: return "Add"
            case .addUnique: return "AddUnique"
            case .remove: return "Remove"
            }
        }
    }

    /// Whether the response to an update echoes the field's resulting value (Parse does for `__op` fields).
    public var echoesResult: Bool {
        if case .set = self { return false }
        return true
    }

    /// Applies the operation to the current value (nil when absent). Returns nil when the field ends up absent.
    public func apply(to current: ParseValue?, field: String) throws(GatewayError) -> ParseValue? {
        let current = current.flatMap { $0.isNull ? nil : $0 }
        switch self {
        case .set(let v): return v.isNull ? nil : v
        case .delete: return nil
        case .increment(let amount):
            switch (current, amount) {
            case (nil, _): return amount
            case (.int(let a)?, .int(let b)):
                let (sum, overflow) = a.addingReportingOverflow(b)
                return overflow ? .double(Double(a) + Double(b)) : .int(sum)
            case (let c?, _):
                guard let a = c.doubleValue, let b = amount.doubleValue else {
                    throw GatewayError(.incorrectType, "Cannot increment \(field): it holds \(c.typeName), not a Number.")
                }
                return .double(a + b)
            }
        case .add(let items):
            return .array(try array(current, field) + items)
        case .addUnique(let items):
            var result = try array(current, field)
            for item in items where !result.contains(where: { ValueOrdering.equal($0, item) }) { result.append(item) }
            return .array(result)
        case .remove(let items):
            let result = try array(current, field).filter { e in !items.contains { ValueOrdering.equal($0, e) } }
            return .array(result)
        }
    }

    private func array(_ current: ParseValue?, _ field: String) throws(GatewayError) -> [ParseValue] {
        switch current {
        case nil: return []
        case .array(let a)?: return a
        case let other?:
            throw GatewayError(.incorrectType, "Cannot apply \(kind.parseName) to \(field): it holds \(other.typeName), not an Array.")
        }
    }
}

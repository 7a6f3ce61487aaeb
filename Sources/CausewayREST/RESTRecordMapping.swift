import CausewayCore

extension JSONValue {
    /// The value at a path of object keys and array elements (`data.items`, `rows.[0]` as parsed from
    /// `rows[0]`); the value itself for an empty path.
    func value(at path: [String]) -> JSONValue? {
        var current = self
        for key in path {
            if let index = RESTPath.index(key) {
                guard case .array(let a) = current, index < a.count else { return nil }
                current = a[index]
                continue
            }
            guard case .object(let o) = current, let next = o[key] else { return nil }
            current = next
        }
        return current
    }

    /// Sets the value at a path, creating objects on the way.
    mutating func set(_ value: JSONValue, at path: [String]) {
        guard let key = path.first else { self = value; return }
        var o: [String: JSONValue]
        if case .object(let existing) = self { o = existing } else { o = [:] }
        var child = o[key] ?? .object([:])
        child.set(value, at: Array(path.dropFirst()))
        o[key] = child
        self = .object(o)
    }
}

extension RESTCollection {
    /// The records of a list answer (at `records`, or the body itself), which must be an array.
    func records(in body: JSONValue, connector: String) throws -> [JSONValue] {
        guard let value = body.value(at: recordsPath) else {
            throw GatewayError(.internalServerError, "The API of connector \(connector) answered without \(recordsPath.joined(separator: ".")) for \(schema.className).")
        }
        guard case .array(let items) = value else {
            throw GatewayError(.internalServerError, "The API of connector \(connector) answered \(value.parseTypeName) where \(schema.className)'s records should be a list.")
        }
        return items
    }

    /// The one record in the answer of a get, create or update: at `record` when declared, else at
    /// `records` (or the body); an array there of exactly one element is that element. Nil: an empty
    /// array (no such record). Throws for more than one element or no value at the path.
    func oneRecord(in body: JSONValue, connector: String) throws -> JSONValue? {
        let path = recordPath ?? recordsPath
        // `rows[0]` of an empty `rows`: no such record.
        if let last = path.last, RESTPath.index(last) != nil, case .array? = body.value(at: path.dropLast()), body.value(at: path) == nil { return nil }
        guard let value = body.value(at: path) ?? (recordPath == nil ? body : nil) else {
            throw GatewayError(.internalServerError, "The API of connector \(connector) answered without \(RESTPath.text(path)) for a \(schema.className) record.")
        }
        guard case .array(let items) = value else { return value }
        guard items.count <= 1 else {
            throw GatewayError(.internalServerError,
                               "The API of connector \(connector) answered \(items.count) \(schema.className) records where one was expected; declare `record` (e.g. \(RESTPath.text(path))[0]).")
        }
        return items.first
    }

    /// An API record as a Parse object: the id, mapped fields (renamed, flattened from nested paths, dates
    /// converted), nothing else.
    func object(from record: JSONValue, connector: String) throws -> ParseObject {
        guard case .object = record else {
            throw GatewayError(.internalServerError, "The API of connector \(connector) answered a \(record.parseTypeName) as a \(schema.className) record.")
        }
        var object = ParseObject()
        switch record.value(at: idPath) {
        case .string(let s)?: object.objectId = s
        case .int(let i)?: object.objectId = String(i)
        case .double(let d)? where d == d.rounded(): object.objectId = String(Int64(d))
        default:
            throw GatewayError(.internalServerError, "A \(schema.className) record from connector \(connector) has no id at \(idPath.joined(separator: ".")).")
        }
        for field in fields {
            guard let raw = record.value(at: field.path), raw != .null else { continue }
            let value = try convert(raw, field, connector: connector)
            switch field.name {
            case "createdAt": if case .date(let d) = value { object.createdAt = d }
            case "updatedAt": if case .date(let d) = value { object.updatedAt = d }
            default: object.fields[field.name] = value
            }
        }
        return object
    }

    private func convert(_ raw: JSONValue, _ field: Field, connector: String) throws -> ParseValue {
        if field.type == .date {
            switch (field.dateFormat, raw) {
            case (.iso8601, .string(let s)):
                if let d = ParseDate(iso8601: s) { return .date(d) }
            case (.epochSeconds, .int(let i)): return .date(ParseDate(millisecondsSince1970: i * 1000))
            case (.epochSeconds, .double(let d)): return .date(ParseDate(millisecondsSince1970: Int64((d * 1000).rounded())))
            case (.epochMillis, .int(let i)): return .date(ParseDate(millisecondsSince1970: i))
            case (.epochMillis, .double(let d)): return .date(ParseDate(millisecondsSince1970: Int64(d.rounded())))
            default: break
            }
            throw GatewayError(.internalServerError, "\(schema.className).\(field.name) from connector \(connector) is not a \(field.dateFormat.rawValue) date.")
        }
        let value = field.type.coerce(try ParseCodec.decode(raw))
        guard field.type.accepts(value) else {
            throw GatewayError(.internalServerError, "\(schema.className).\(field.name) from connector \(connector) is a \(value.typeName), not a \(field.type.parseName).")
        }
        return value
    }

    /// Parse fields as an API record (mapped names and nesting, dates in the field's format).
    func record(from values: [String: ParseValue]) -> JSONValue {
        var record = JSONValue.object([:])
        for field in fields {
            guard let value = values[field.name] else { continue }
            var json = ParseCodec.encode(value)
            if case .date(let d) = value {
                switch field.dateFormat {
                case .iso8601: json = .string(d.iso8601)
                case .epochSeconds: json = .int(d.millisecondsSince1970 / 1000)
                case .epochMillis: json = .int(d.millisecondsSince1970)
                }
            }
            record.set(json, at: field.path)
        }
        return record
    }
}

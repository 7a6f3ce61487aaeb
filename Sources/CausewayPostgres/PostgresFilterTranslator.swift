import CausewayCore
import PostgresNIO

/// Translates pushed-down filters, sort keys and writes into one parameterized PostgreSQL statement.
///
/// Every value is a bind parameter sent as text and cast to the column's own type (`$3::numeric(12,2)`);
/// identifiers come only from configuration and are quoted. `canTranslate` is the single source of truth
/// for what the connector pushes down: it refuses anything PostgreSQL would evaluate differently from the
/// in-memory evaluator, so results never depend on where a condition ran.
struct PostgresFilterTranslator {
    let table: PostgresTable
    /// The bind parameters so far (text, cast in the SQL; nil is NULL).
    var values: [String?] = []
    /// Set when the planner handed over a condition this translator cannot express (a planner bug): the
    /// statement is then refused with an internal error instead of stopping the process.
    var problem: String?

    init(table: PostgresTable) { self.table = table }

    func statement(_ sql: String) throws(GatewayError) -> PostgresStatement {
        if let problem { throw GatewayError(.internalServerError, "Internal server error.", detail: "PostgreSQL translation: \(problem)") }
        return PostgresStatement(sql: sql, values: values)
    }

    /// Records an untranslatable condition and yields SQL that matches nothing (never executed: `statement` refuses).
    mutating func untranslatable(_ what: String) -> String {
        problem = problem ?? what
        return "FALSE"
    }

    // MARK: What can be pushed

    static func canTranslate(_ path: String, _ condition: FieldCondition, _ table: PostgresTable) -> Bool {
        guard !path.contains("."), let type = table.schema.type(of: path), let columnName = table.column(for: path) else { return false }
        let column = table.info(columnName)
        if path == "objectId" { return canTranslateKey(condition, table) }
        switch condition {
        case .equal(let v), .notEqual(let v):
            if type == .array { return arrayValueOK(v, column) }
            return scalarType(type) && PostgresValueCodec.encodable(v, for: column)
        case .lessThan(let v), .lessThanOrEqual(let v), .greaterThan(let v), .greaterThanOrEqual(let v):
            return type.isOrdered && scalarType(type) && PostgresValueCodec.encodable(v, for: column)
        case .isIn(let vs), .notIn(let vs):
            if type == .array { return vs.allSatisfy { isJSONScalar($0) && arrayValueOK($0, column) } }
            return scalarType(type) && vs.allSatisfy { PostgresValueCodec.encodable($0, for: column) }
        case .exists:
            return true
        case .regex(let pattern, let options):
            return type == .string && column.isText && PostgresRegex.isPortable(pattern, options: options)
        case .all(let vs), .containedBy(let vs):
            return type == .array && vs.allSatisfy { isJSONScalar($0) && arrayValueOK($0, column) }
        case .nearSphere, .withinBox, .withinCircle:
            return type == .geoPoint
        case .withinPolygon:
            return false
        case .aclAllows:
            return type == .object && column.isJSON
        }
    }

    private static func canTranslateKey(_ condition: FieldCondition, _ table: PostgresTable) -> Bool {
        let key = table.info(table.schema.objectId.column)
        func ok(_ v: ParseValue) -> Bool {
            guard case .string(let id) = v else { return false }
            return keyLiteral(id, table.schema.objectId, key) != nil
        }
        switch condition {
        case .equal(let v), .notEqual(let v): return ok(v)
        case .isIn(let vs), .notIn(let vs): return vs.allSatisfy(ok)
        case .exists: return true
        case .lessThan(let v), .lessThanOrEqual(let v), .greaterThan(let v), .greaterThanOrEqual(let v):
            return table.schema.objectId.type == .integer && ok(v)
        default: return false
        }
    }

    /// The key's text for a bind, or nil when it cannot be a key of this type (then it matches nothing).
    static func keyLiteral(_ id: String, _ mapping: ObjectIdMapping, _ column: PostgresColumn) -> String? {
        switch mapping.type {
        case .integer: return Int64(id).map(String.init)
        case .uuid: return UUIDText.isValid(id) ? id : nil
        case .string: return id
        }
    }

    static func scalarType(_ t: FieldType) -> Bool {
        switch t {
        case .string, .number, .boolean, .date, .pointer: return true
        default: return false
        }
    }

    static func isJSONScalar(_ v: ParseValue) -> Bool {
        switch v {
        case .string, .int, .double, .bool: return true
        default: return false
        }
    }

    /// Array-field conditions: scalars or arrays of scalars whose elements fit the column.
    static func arrayValueOK(_ v: ParseValue, _ column: PostgresColumn) -> Bool {
        switch v {
        case .null: return true
        case .array(let items): return items.allSatisfy(isJSONScalar) && PostgresValueCodec.elementsEncodable(items, for: column)
        default: return isJSONScalar(v) && PostgresValueCodec.elementsEncodable([v], for: column)
        }
    }

    // MARK: Binds

    mutating func bind(_ text: String?, as type: String) -> String {
        values.append(text)
        // Parameters are declared text (sent as text) and converted by PostgreSQL's own input function for the
        // column type, exactly like a typed literal; a prepared statement then never guesses a parameter type.
        return type == "text" ? "$\(values.count)::text" : "$\(values.count)::text::\(type)"
    }

    mutating func bind(_ value: ParseValue, for column: PostgresColumn) -> String {
        bind(PostgresValueCodec.literal(value, for: column), as: column.castType)
    }

    mutating func bindDouble(_ d: Double) -> String { bind(PostgresValueCodec.number(d), as: "double precision") }

    // MARK: Filters

    mutating func whereClause(_ filter: QueryFilter, nullSafe: Bool = false) -> String {
        switch filter {
        case .and(let parts):
            return parts.isEmpty ? "TRUE" : "(" + parts.map { whereClause($0, nullSafe: nullSafe) }.joined(separator: " AND ") + ")"
        case .or(let parts):
            return "(" + parts.map { whereClause($0, nullSafe: nullSafe) }.joined(separator: " OR ") + ")"
        case .nor(let parts):
            return "NOT (" + parts.map { whereClause($0, nullSafe: true) }.joined(separator: " OR ") + ")"
        case .field(let path, let condition):
            let sql = translate(path, condition)
            return nullSafe ? "((\(sql)) IS TRUE)" : sql
        }
    }

    /// Byte order for text, as the evaluator compares: the column's own collation when it is already byte order
    /// (so its indexes serve), else `COLLATE "C"`.
    func collate(_ column: PostgresColumn) -> String { column.isText && !column.byteOrdered ? " COLLATE \"C\"" : "" }

    private mutating func keyCondition(_ condition: FieldCondition) -> String {
        let mapping = table.schema.objectId
        let info = table.info(mapping.column)
        let column = table.quoted(mapping.column)
        func lit(_ v: ParseValue) -> String? { v.stringValue.flatMap { Self.keyLiteral($0, mapping, info) } }
        switch condition {
        case .equal(let v): return lit(v).map { "\(column) = \(bind($0, as: info.castType))" } ?? "FALSE"
        case .notEqual(let v): return lit(v).map { "\(column) <> \(bind($0, as: info.castType))" } ?? "TRUE"
        case .isIn(let vs): return "\(column) = ANY(\(bind(PostgresValueCodec.arrayLiteral(vs.compactMap(lit).map(ParseValue.string)), as: info.castType + "[]")))"
        case .notIn(let vs): return "\(column) <> ALL(\(bind(PostgresValueCodec.arrayLiteral(vs.compactMap(lit).map(ParseValue.string)), as: info.castType + "[]")))"
        case .exists(let b): return b ? "TRUE" : "FALSE"
        case .lessThan(let v): return "\(column) < \(bind(lit(v), as: info.castType))"
        case .lessThanOrEqual(let v): return "\(column) <= \(bind(lit(v), as: info.castType))"
        case .greaterThan(let v): return "\(column) > \(bind(lit(v), as: info.castType))"
        case .greaterThanOrEqual(let v): return "\(column) >= \(bind(lit(v), as: info.castType))"
        default: return untranslatable("\(condition.filterOperator) on objectId")
        }
    }

    private mutating func translate(_ path: String, _ condition: FieldCondition) -> String {
        if path == "objectId" { return keyCondition(condition) }
        guard let type = table.schema.type(of: path), let name = table.column(for: path) else { return untranslatable("no column for \(path)") }
        let info = table.info(name)
        let column = table.quoted(name)
        if type == .array { return arrayCondition(column, info, condition) }
        switch condition {
        case .equal(let v):
            if v.isNull { return "\(column) IS NULL" }
            return "\(column) = \(bind(v, for: info))"
        case .notEqual(let v):
            if v.isNull { return "\(column) IS NOT NULL" }
            return "\(column) IS DISTINCT FROM \(bind(v, for: info))"
        case .lessThan(let v): return "\(column)\(collate(info)) < \(bind(v, for: info))"
        case .lessThanOrEqual(let v): return "\(column)\(collate(info)) <= \(bind(v, for: info))"
        case .greaterThan(let v): return "\(column)\(collate(info)) > \(bind(v, for: info))"
        case .greaterThanOrEqual(let v): return "\(column)\(collate(info)) >= \(bind(v, for: info))"
        case .isIn(let vs):
            let nonNull = vs.filter { !$0.isNull }
            var parts: [String] = []
            if !nonNull.isEmpty {
                parts.append("\(column) = ANY(\(bind(PostgresValueCodec.arrayLiteral(nonNull), as: info.castType + "[]")))")
            }
            if nonNull.count != vs.count { parts.append("\(column) IS NULL") }
            return parts.isEmpty ? "FALSE" : "(" + parts.joined(separator: " OR ") + ")"
        case .notIn(let vs):
            let nonNull = vs.filter { !$0.isNull }
            let hasNull = nonNull.count != vs.count
            if nonNull.isEmpty { return hasNull ? "\(column) IS NOT NULL" : "TRUE" }
            let list = "\(column) <> ALL(\(bind(PostgresValueCodec.arrayLiteral(nonNull), as: info.castType + "[]")))"
            return hasNull ? "(\(column) IS NOT NULL AND \(list))" : "(\(column) IS NULL OR \(list))"
        case .exists(let b):
            return b ? "\(column) IS NOT NULL" : "\(column) IS NULL"
        case .regex(let pattern, let options):
            return "\(column) \(options.contains("i") ? "~*" : "~") \(bind(pattern, as: "text"))"
        case .nearSphere(let center, let max):
            let (lat, lon) = geoColumns(path)
            guard let max else { return "(\(lat) IS NOT NULL AND \(lon) IS NOT NULL)" }
            return "\(distance(lat, lon, center)) <= \(bindDouble(max))"
        case .withinCircle(let center, let radius):
            let (lat, lon) = geoColumns(path)
            return "\(distance(lat, lon, center)) <= \(bindDouble(radius))"
        case .withinBox(let sw, let ne):
            let (lat, lon) = geoColumns(path)
            let latTest = "\(lat) BETWEEN \(bindDouble(sw.latitude)) AND \(bindDouble(ne.latitude))"
            if sw.longitude <= ne.longitude {
                return "(\(latTest) AND \(lon) BETWEEN \(bindDouble(sw.longitude)) AND \(bindDouble(ne.longitude)))"
            }
            return "(\(latTest) AND (\(lon) >= \(bindDouble(sw.longitude)) OR \(lon) <= \(bindDouble(ne.longitude))))"
        case .aclAllows(let keys, let write):
            let each = info.castType == "jsonb" ? "jsonb_each" : "json_each"
            let list = keys.map { bind($0, as: "text") }.joined(separator: ", ")
            return "(\(column) IS NULL OR EXISTS (SELECT 1 FROM \(each)(\(column)) AS acl(k, v) WHERE acl.k IN (\(list)) AND (acl.v ->> '\(write ? "write" : "read")') = 'true'))"
        case .all, .containedBy, .withinPolygon:
            return untranslatable("\(condition.filterOperator) on a scalar field")
        }
    }

    /// Conditions on array fields stored as PostgreSQL arrays or as jsonb arrays.
    private mutating func arrayCondition(_ column: String, _ info: PostgresColumn, _ condition: FieldCondition) -> String {
        func contains(_ v: ParseValue) -> String {
            if info.isJSON { return "\(column) @> \(bind(JSONWriter.string(.array([ParseCodec.encode(v)])), as: "jsonb"))" }
            return "\(bind(PostgresValueCodec.arrayLiteral([v]), as: info.castType)) <@ \(column)"
        }
        func whole(_ items: [ParseValue]) -> String {
            if info.isJSON { return bind(JSONWriter.string(.array(items.map(ParseCodec.encode))), as: "jsonb") }
            return bind(PostgresValueCodec.arrayLiteral(items), as: info.castType)
        }
        switch condition {
        case .equal(let v):
            if v.isNull { return "\(column) IS NULL" }
            if case .array(let items) = v { return "\(column) = \(whole(items))" }
            return contains(v)
        case .notEqual(let v):
            if v.isNull { return "\(column) IS NOT NULL" }
            if case .array(let items) = v { return "\(column) IS DISTINCT FROM \(whole(items))" }
            return "(\(contains(v))) IS NOT TRUE"
        case .isIn(let vs):
            guard !vs.isEmpty else { return "FALSE" }
            return "(" + vs.map { contains($0) }.joined(separator: " OR ") + ")"
        case .notIn(let vs):
            guard !vs.isEmpty else { return "TRUE" }
            return "(" + vs.map { contains($0) }.joined(separator: " OR ") + ") IS NOT TRUE"
        case .exists(let b):
            return b ? "\(column) IS NOT NULL" : "\(column) IS NULL"
        case .all(let vs):
            guard !vs.isEmpty else { return "\(column) IS NOT NULL" }
            return "\(column) @> \(whole(vs))"
        case .containedBy(let vs):
            return "\(column) <@ \(whole(vs))"
        default:
            return untranslatable("\(condition.filterOperator) on an array field")
        }
    }

    private mutating func geoColumns(_ path: String) -> (String, String) {
        guard let f = table.schema.fields[path], f.type == .geoPoint else { return (untranslatable("\(path) is not a GeoPoint"), "0") }
        let cols = PostgresTable.columns(of: f)
        return (table.quoted(cols[0]), table.quoted(cols[1]))
    }

    /// Great-circle distance in radians (haversine), the same formula as the evaluator.
    private mutating func distance(_ lat: String, _ lon: String, _ p: GeoPoint) -> String {
        let plat = bindDouble(p.latitude), plon = bindDouble(p.longitude)
        return "(2 * asin(least(1, sqrt(power(sin(radians(\(lat)::float8 - \(plat)) / 2), 2) + cos(radians(\(plat))) * cos(radians(\(lat)::float8)) * power(sin(radians(\(lon)::float8 - \(plon)) / 2), 2)))))"
    }

    // MARK: Order

    /// The distance of a GeoPoint field from a point, for `$nearSphere`'s implied order (see `PostgresFindStatement`).
    mutating func distanceExpression(_ path: String, _ from: GeoPoint) -> String {
        let (lat, lon) = geoColumns(path)
        return distance(lat, lon, from)
    }
}

/// Which `$regex` patterns PostgreSQL's engine evaluates exactly as the evaluator's (ICU) does.
///
/// PostgreSQL's advanced regular expressions and ICU agree on literals, anchors at the ends of the value,
/// alternation, groups, quantifiers, bracket expressions and the `\d \w \s` classes, but not on `.` or `[^…]`
/// and newlines, `m`/`s`/`x` options, look-around, back-references or Unicode classes. Anything outside the
/// common part runs in memory instead.
enum PostgresRegex {
    static func isPortable(_ pattern: String, options: String) -> Bool {
        guard options.allSatisfy({ $0 == "i" }) else { return false }
        var chars = pattern.makeIterator()
        var previous: Character = " "
        while let c = chars.next() {
            switch c {
            case "\\":
                guard let e = chars.next() else { return false }
                guard "dwsDWS.\\/*+?()[]{}|^$-".contains(e) else { return false }
                previous = "x"
                continue
            case ".": return false
            case "^": if previous == "[" { return false }
            case "(": if let n = chars.next() { if n == "?" { return false }; previous = n; continue }
            default: break
            }
            if !(c.isASCII) { return false }
            previous = c
        }
        return true
    }
}

import CausewayCore
import SQLiteNIO

/// Translates pushed-down filters and sort keys into SQLite SQL with bind parameters.
///
/// Every value is a bind parameter; identifiers come only from configuration and are quoted.
/// `canTranslate` is the single source of truth for what the connector pushes down.
struct SQLiteFilterTranslator {
    let table: SQLiteTable
    var binds: [SQLiteData] = []
    /// Set when the planner handed over a condition this translator cannot express (a planner bug): the
    /// statement is then refused with an internal error instead of stopping the process.
    var problem: String?

    /// The parameters, or the internal error when a condition could not be translated.
    func checkedBinds() throws(GatewayError) -> [SQLiteData] {
        if let problem { throw GatewayError(.internalServerError, "Internal server error.", detail: "SQLite translation: \(problem)") }
        return binds
    }

    init(table: SQLiteTable) { self.table = table }

    // MARK: What can be pushed

    static func canTranslate(_ path: String, _ condition: FieldCondition, _ table: SQLiteTable) -> Bool {
        guard !path.contains("."), let type = table.schema.type(of: path) else { return false }
        switch condition {
        case .equal(let v), .notEqual(let v):
            if type == .array { return v.isNull || isJSONScalar(v) || isScalarArray(v) }
            return type != .object && type != .geoPoint && type != .file && isStorable(v, type)
        case .lessThan(let v), .lessThanOrEqual(let v), .greaterThan(let v), .greaterThanOrEqual(let v):
            return type.isOrdered && isStorable(v, type) && !v.isNull
        case .isIn(let vs), .notIn(let vs):
            if type == .array { return vs.allSatisfy(isJSONScalar) }
            return type != .object && type != .geoPoint && type != .file && vs.allSatisfy { isStorable($0, type) }
        case .exists:
            return true
        case .regex:
            return type == .string
        case .all(let vs), .containedBy(let vs):
            return type == .array && vs.allSatisfy(isJSONScalar)
        case .nearSphere, .withinBox, .withinCircle:
            return type == .geoPoint
        case .withinPolygon:
            return false
        case .aclAllows:
            return type == .object
        }
    }

    /// Strings and numbers: the array elements `json_each` compares exactly.
    static func isJSONScalar(_ v: ParseValue) -> Bool {
        switch v {
        case .string, .int, .double: return true
        default: return false
        }
    }

    static func isScalarArray(_ v: ParseValue) -> Bool {
        if case .array = v { return true }
        return false
    }

    static func isStorable(_ v: ParseValue, _ type: FieldType) -> Bool {
        v.isNull || type.accepts(v)
    }

    // MARK: Translation

    mutating func bind(_ value: SQLiteData) -> String {
        binds.append(value)
        return "?"
    }

    /// - Parameter nullSafe: every condition must be exactly true or false (never NULL), as under `NOT`:
    ///   SQL's three-valued logic would otherwise turn `NOT (missing > 1)` into NULL where Parse says true.
    mutating func whereClause(_ filter: QueryFilter, nullSafe: Bool = false) -> String {
        switch filter {
        case .and(let parts):
            return parts.isEmpty ? "1" : "(" + parts.map { whereClause($0, nullSafe: nullSafe) }.joined(separator: " AND ") + ")"
        case .or(let parts):
            return "(" + parts.map { whereClause($0, nullSafe: nullSafe) }.joined(separator: " OR ") + ")"
        case .nor(let parts):
            return "NOT (" + parts.map { whereClause($0, nullSafe: true) }.joined(separator: " OR ") + ")"
        case .field(let path, let condition):
            let sql = translate(path, condition)
            return nullSafe ? "((\(sql)) IS 1)" : sql
        }
    }

    private func fieldMapping(_ path: String) -> FieldMapping? { table.schema.fields[path] }

    private mutating func value(_ path: String, _ v: ParseValue) -> String {
        if path == "objectId", case .string(let id) = v {
            guard let data = SQLiteValueCodec.encodeId(id, table.schema.objectId) else { return "NULL" }
            return bind(data)
        }
        return bind(SQLiteValueCodec.encode(v))
    }

    /// `EXISTS` over the elements of a JSON array column equal to one scalar.
    private mutating func arrayContains(_ column: String, _ v: ParseValue) -> String {
        let typeTest: String
        switch v {
        case .string: typeTest = "type = 'text'"
        default: typeTest = "type IN ('integer', 'real')"
        }
        return "EXISTS (SELECT 1 FROM json_each(\(column)) WHERE \(typeTest) AND value = \(bind(SQLiteValueCodec.encode(v))))"
    }

    /// Records a condition or key this translator cannot express (a planner bug; see `problem`).
    private mutating func untranslatable(_ what: String) -> String {
        problem = problem ?? what
        return "0"
    }

    private mutating func translate(_ path: String, _ condition: FieldCondition) -> String {
        guard let type = table.schema.type(of: path), let name = table.column(for: path) else { return untranslatable("no column for \(path)") }
        let column = table.quoted(name)
        switch condition {
        case .equal(let v):
            if v.isNull { return "\(column) IS NULL" }
            if type == .array, !SQLiteFilterTranslator.isScalarArray(v) { return arrayContains(column, v) }
            return "\(column) = \(value(path, v))"
        case .notEqual(let v):
            if v.isNull { return "\(column) IS NOT NULL" }
            if type == .array, !SQLiteFilterTranslator.isScalarArray(v) { return "NOT \(arrayContains(column, v))" }
            return "(\(column) IS NULL OR \(column) <> \(value(path, v)))"
        case .lessThan(let v): return "\(column) < \(value(path, v))"
        case .lessThanOrEqual(let v): return "\(column) <= \(value(path, v))"
        case .greaterThan(let v): return "\(column) > \(value(path, v))"
        case .greaterThanOrEqual(let v): return "\(column) >= \(value(path, v))"
        case .isIn(let vs):
            if type == .array {
                guard !vs.isEmpty else { return "0" }
                return "(" + vs.map { arrayContains(column, $0) }.joined(separator: " OR ") + ")"
            }
            let nonNull = vs.filter { !$0.isNull }
            var parts: [String] = []
            if !nonNull.isEmpty {
                parts.append("\(column) IN (" + nonNull.map { value(path, $0) }.joined(separator: ", ") + ")")
            }
            if nonNull.count != vs.count { parts.append("\(column) IS NULL") }
            return parts.isEmpty ? "0" : "(" + parts.joined(separator: " OR ") + ")"
        case .notIn(let vs):
            if type == .array {
                guard !vs.isEmpty else { return "1" }
                return "NOT (" + vs.map { arrayContains(column, $0) }.joined(separator: " OR ") + ")"
            }
            let nonNull = vs.filter { !$0.isNull }
            let hasNull = nonNull.count != vs.count
            if nonNull.isEmpty { return hasNull ? "\(column) IS NOT NULL" : "1" }
            let list = nonNull.map { value(path, $0) }.joined(separator: ", ")
            return hasNull ? "(\(column) IS NOT NULL AND \(column) NOT IN (\(list)))" : "(\(column) IS NULL OR \(column) NOT IN (\(list)))"
        case .exists(let b):
            return b ? "\(column) IS NOT NULL" : "\(column) IS NULL"
        case .regex(let pattern, let options):
            return "causeway_regexp(\(bind(.text(pattern))), \(bind(.text(options))), \(column))"
        case .all(let vs):
            guard !vs.isEmpty else { return "\(column) IS NOT NULL" }
            return "(" + vs.map { arrayContains(column, $0) }.joined(separator: " AND ") + ")"
        case .containedBy(let vs):
            let strings = vs.compactMap(\.stringValue)
            let numbers = vs.compactMap(\.doubleValue)
            var allowed: [String] = []
            if !strings.isEmpty {
                allowed.append("(type = 'text' AND value IN (" + strings.map { bind(.text($0)) }.joined(separator: ", ") + "))")
            }
            if !numbers.isEmpty {
                allowed.append("(type IN ('integer', 'real') AND value IN (" + numbers.map { bind(.float($0)) }.joined(separator: ", ") + "))")
            }
            let test = allowed.isEmpty ? "0" : allowed.joined(separator: " OR ")
            return "(\(column) IS NOT NULL AND NOT EXISTS (SELECT 1 FROM json_each(\(column)) WHERE NOT (\(test))))"
        case .nearSphere(let center, let max):
            let (lat, lon) = geoColumns(path)
            guard let max else { return "\(lat) IS NOT NULL" }
            return "causeway_distance(\(lat), \(lon), \(bind(.float(center.latitude))), \(bind(.float(center.longitude)))) <= \(bind(.float(max)))"
        case .withinCircle(let center, let radius):
            let (lat, lon) = geoColumns(path)
            return "causeway_distance(\(lat), \(lon), \(bind(.float(center.latitude))), \(bind(.float(center.longitude)))) <= \(bind(.float(radius)))"
        case .withinBox(let sw, let ne):
            let (lat, lon) = geoColumns(path)
            let latTest = "\(lat) BETWEEN \(bind(.float(sw.latitude))) AND \(bind(.float(ne.latitude)))"
            if sw.longitude <= ne.longitude {
                return "(\(latTest) AND \(lon) BETWEEN \(bind(.float(sw.longitude))) AND \(bind(.float(ne.longitude))))"
            }
            return "(\(latTest) AND (\(lon) >= \(bind(.float(sw.longitude))) OR \(lon) <= \(bind(.float(ne.longitude)))))"
        case .withinPolygon:
            return untranslatable("withinPolygon is never pushed down to SQLite")
        case .aclAllows(let keys, let write):
            let list = keys.map { bind(.text($0)) }.joined(separator: ", ")
            return "(\(column) IS NULL OR EXISTS (SELECT 1 FROM json_each(\(column)) WHERE key IN (\(list)) AND json_extract(value, '$.\(write ? "write" : "read")') = 1))"
        }
    }

    private mutating func geoColumns(_ path: String) -> (String, String) {
        guard let f = fieldMapping(path), f.type == .geoPoint else { return (untranslatable("\(path) is not a GeoPoint"), "0") }
        return (table.quoted(SQLiteTable.latitudeColumn(f)), table.quoted(SQLiteTable.longitudeColumn(f)))
    }

    /// `ORDER BY` terms, always ending with the key so that ties are stable.
    mutating func orderBy(_ keys: [SortKey]) -> String {
        var terms: [String] = []
        for key in keys {
            switch key {
            case .field(let path, let descending):
                if path == "objectId" {
                    terms.append(idOrder(descending))
                    continue
                }
                guard let name = table.column(for: path) else { _ = untranslatable("no column to sort by \(path)"); continue }
                terms.append("\(table.quoted(name)) \(descending ? "DESC" : "ASC")")
            case .distance(let path, let from):
                let (lat, lon) = geoColumns(path)
                terms.append("(\(lat) IS NULL) ASC")
                terms.append("causeway_distance(\(lat), \(lon), \(bind(.float(from.latitude))), \(bind(.float(from.longitude)))) ASC")
            }
        }
        terms.append(idOrder(false))
        return terms.joined(separator: ", ")
    }

    /// Key order matching the evaluator's: numeric for integer keys, bytewise for text keys.
    private func idOrder(_ descending: Bool) -> String {
        "\(table.quoted(table.schema.objectId.column)) \(descending ? "DESC" : "ASC")"
    }
}

import CausewayCore
import Logging
import PostgresNIO

/// Decoding result rows into Parse objects.
extension PostgresConnector {
    func rows(_ statement: PostgresStatement, _ t: PostgresTable, fields: Set<String>?, on connection: PostgresConnection? = nil) async throws -> [ParseObject] {
        try await run(statement, on: connection).map { try self.decode($0, t, fields: fields) }
    }

    func decode(_ row: PostgresRow, _ t: PostgresTable, fields: Set<String>?) throws -> ParseObject {
        var cells = row.makeIterator()
        func next() throws -> PostgresCell {
            guard let c = cells.next() else { throw GatewayError(.internalServerError, "Internal server error.", detail: "row has too few columns") }
            return c
        }
        var object = ParseObject()
        object.fields.reserveCapacity(fields?.count ?? t.fieldOrder.count)
        do {
            switch try PostgresValueCodec.decode(try next(), as: .string) {
            case .string(let s): object.objectId = s
            case .int(let i): object.objectId = String(i)
            default: break
            }
            if t.schema.createdAtColumn != nil, case .date(let d) = try PostgresValueCodec.decode(try next(), as: .date) { object.createdAt = d }
            if t.schema.updatedAtColumn != nil, case .date(let d) = try PostgresValueCodec.decode(try next(), as: .date) { object.updatedAt = d }
            for name in t.fieldOrder where fields?.contains(name) ?? true {
                let f = t.schema.fields[name]!
                if f.type == .geoPoint {
                    let lat = try PostgresValueCodec.decode(try next(), as: .number), lon = try PostgresValueCodec.decode(try next(), as: .number)
                    if let la = lat.doubleValue, let lo = lon.doubleValue { object.fields[name] = .geoPoint(GeoPoint(latitude: la, longitude: lo)) }
                    continue
                }
                let cell = try next()
                let value: ParseValue
                do {
                    value = try PostgresValueCodec.decode(cell, as: f.type, targetClass: f.targetClass)
                } catch PostgresValueCodec.DecodeError.imprecise(let text) {
                    throw GatewayError(.incorrectType, "\(t.schema.className).\(name) holds \(text), which a JSON number cannot represent exactly; map the field as type string to read it.")
                }
                if !value.isNull { object.fields[name] = value }
            }
        } catch let error as GatewayError {
            throw error
        } catch {
            throw GatewayError(.internalServerError, "Internal server error.", detail: "decoding a row of \(t.qualifiedName): \(error)")
        }
        return object
    }
}

import CausewayCore
import Foundation
import Logging
import NIOHTTP1

/// Writes. Once the API has accepted a write (HTTP 2xx) Causeway never reports it as failed: an answer it
/// cannot map is logged, and the client gets what is known (the id from the answer, the `Location`
/// header or the request; the fields it sent), or — only when no id can be found for a new record — an
/// error that says the record was created.
extension RESTConnector {
    public func create(_ object: ParseObject, in schema: CollectionSchema, context: ConnectorContext) async throws -> ParseObject {
        let c = try collection(schema)
        guard let endpoint = c.create else { throw GatewayError(.operationForbidden, "\(schema.className)'s API has no create operation.") }
        let reply = try await send(method: endpoint.method, url: url(endpoint, objectId: nil),
                                   body: RESTBodyTemplate.body(c.record(from: object.fields), template: endpoint.bodyTemplate, objectId: nil),
                                   idempotent: false, context: context)
        do {
            guard let record = try c.oneRecord(in: reply.body, connector: name) else {
                throw GatewayError(.internalServerError, "The API of connector \(name) answered an empty list for the new \(schema.className).")
            }
            return try c.object(from: record, connector: name)
        } catch {
            unmappable(error, write: "create", schema, reply, context)
            guard let id = looseId(in: reply, c) else {
                throw GatewayError(.internalServerError,
                                   "The API of connector \(name) created the \(schema.className) (HTTP \(reply.status)), but its answer names no id that Causeway can read, "
                                   + "so the new record cannot be returned; it exists upstream: look it up before trying again (and check `record` in the connector file).",
                                   detail: String(reflecting: error))
            }
            var known = object
            known.objectId = id
            return known
        }
    }

    public func update(objectId: String, operations: [String: UpdateOperation], updatedAt: ParseDate,
                       in schema: CollectionSchema, context: ConnectorContext) async throws -> ParseObject? {
        let c = try collection(schema)
        guard let endpoint = c.update else { throw GatewayError(.operationForbidden, "\(schema.className)'s API has no update operation.") }
        guard canExist(objectId, schema) else { return nil }
        var fields: [String: ParseValue] = [:]
        for (field, op) in operations {
            switch op {
            case .set(let v): fields[field] = v
            case .delete: fields[field] = .null
            default: throw GatewayError(.operationForbidden, "\(schema.className)'s API cannot apply \(op.kind.parseName) atomically.")
            }
        }
        let reply: RESTReply
        do {
            reply = try await send(method: endpoint.method, url: url(endpoint, objectId: objectId),
                                   body: RESTBodyTemplate.body(c.record(from: fields), template: endpoint.bodyTemplate, objectId: objectId),
                                   idempotent: false, context: context)
        } catch let error as GatewayError where error.code == .objectNotFound {
            return nil
        }
        if case .object(let o) = reply.body, !o.isEmpty {
            do {
                if let record = try c.oneRecord(in: reply.body, connector: name) { return try c.object(from: record, connector: name) }
            } catch {
                unmappable(error, write: "update", schema, reply, context)
            }
        }
        // No record in the answer (204, or one Causeway cannot map): read it back; if that fails too, the
        // update still happened, so answer with what was sent.
        do {
            if let stored = try await get(objectId: objectId, fields: nil, in: schema, context: context) { return stored }
        } catch {
            context.logger.notice("cannot read back an updated record", metadata: [
                "causeway.connector": .string(name), "causeway.class": .string(schema.className), "error": .string(String(reflecting: error)),
            ])
        }
        var known = ParseObject()
        known.objectId = objectId
        known.fields = fields.filter { $0.value != .null }
        return known
    }

    public func delete(objectId: String, in schema: CollectionSchema, context: ConnectorContext) async throws -> Bool {
        let c = try collection(schema)
        guard let endpoint = c.delete else { throw GatewayError(.operationForbidden, "\(schema.className)'s API has no delete operation.") }
        guard canExist(objectId, schema) else { return false }
        do {
            _ = try await send(method: endpoint.method, url: url(endpoint, objectId: objectId), body: nil, idempotent: false, context: context)
            return true
        } catch let error as GatewayError where error.code == .objectNotFound {
            return false
        }
    }

    private func unmappable(_ error: any Error, write: String, _ schema: CollectionSchema, _ reply: RESTReply, _ context: ConnectorContext) {
        context.logger.warning("the API accepted a write but its answer cannot be mapped", metadata: [
            "causeway.connector": .string(name), "causeway.class": .string(schema.className), "causeway.write": .string(write),
            "upstream.status": .stringConvertible(reply.status), "error": .string(String(reflecting: error)),
        ])
    }

    /// The new record's id when the answer cannot be mapped whole: at the id path of the record (or of the
    /// body, or of the body's only element), else the last segment of a `Location` header.
    func looseId(in reply: RESTReply, _ c: RESTCollection) -> String? {
        func id(_ v: JSONValue?) -> String? {
            switch v?.value(at: c.idPath) {
            case .string(let s)? where !s.isEmpty: return s
            case .int(let i)?: return String(i)
            case .double(let d)? where d == d.rounded(): return String(Int64(d))
            default: return nil
            }
        }
        let candidates: [JSONValue?] = [reply.body.value(at: c.recordPath ?? c.recordsPath), reply.body.value(at: c.recordsPath), reply.body]
        for v in candidates {
            if let found = id(v) { return found }
            if case .array(let a)? = v, a.count == 1, let found = id(a[0]) { return found }
        }
        if let location = reply.headers.first(name: "Location") {
            let path = location.split(separator: "?").first.map(String.init) ?? location
            if let last = path.split(separator: "/").last, !last.isEmpty {
                return String(last).removingPercentEncoding ?? String(last)
            }
        }
        return nil
    }
}

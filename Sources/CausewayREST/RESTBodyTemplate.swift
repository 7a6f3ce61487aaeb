import CausewayCore
import Foundation

/// The request body of a write endpoint around the record (`body:` in the endpoint).
///
/// - the string `"{record}"` as a value stands for the record (`{ data: { attributes: "{record}" } }`);
/// - a key `"{record}"` in an object (its value is ignored, e.g. `"{record}": merge`) merges the record's
///   fields into that object beside its other keys; the template's own keys win;
/// - `"{objectId}"` (also inside a longer string) is the record's id as a string; on create, where the API
///   has not made the id yet, a key whose value is exactly `"{objectId}"` is left out;
/// - everything else is a constant, sent as written.
enum RESTBodyTemplate {
    static let record = "{record}"
    static let objectId = "{objectId}"

    /// Whether the template places the record somewhere.
    static func placesRecord(_ v: JSONValue) -> Bool {
        switch v {
        case .string(let s): return s == record
        case .array(let a): return a.contains(where: placesRecord)
        case .object(let o): return o.keys.contains(record) || o.values.contains(where: placesRecord)
        default: return false
        }
    }

    /// The body: the record itself without a template.
    static func body(_ recordValue: JSONValue, template: JSONValue?, objectId id: String?) -> JSONValue {
        guard let template else { return recordValue }
        func fill(_ v: JSONValue) -> JSONValue? {
            switch v {
            case .string(let s) where s == record: return recordValue
            case .string(let s) where s == objectId: return id.map { .string($0) }
            case .string(let s) where s.contains(objectId): return .string(s.replacingOccurrences(of: objectId, with: id ?? ""))
            case .array(let a): return .array(a.compactMap(fill))
            case .object(let o):
                var out: [String: JSONValue] = [:]
                if o[record] != nil, case .object(let fields) = recordValue { out = fields }
                for (k, value) in o where k != record {
                    if let filled = fill(value) { out[k] = filled } else { out[k] = nil }
                }
                return .object(out)
            default: return v
            }
        }
        return fill(template) ?? .null
    }
}

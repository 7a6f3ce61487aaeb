import CausewayCore
import Logging

/// The conformance suite's second half: writes, update operators, error codes and the truth of what a
/// connector declares, each checked against the in-memory reference connector (`MemoryConnector`), whose
/// answers are the core's own semantics.
extension ConnectorConformance {
    /// A gateway over an in-memory copy of `className`'s rows in `source`, with every capability declared:
    /// the reference the other connectors are compared with (it also pushes down what no source does).
    public static func referenceGateway(copying source: Gateway, className: String = "Item", logger: Logger) async throws -> Gateway {
        let schema = try source.schema(for: className)
        let all = try await source.find(className, try source.parseFind(className, ["limit": .int(1_000_000)]), caller: .master, logger: logger)
        let memory = MemoryConnector(name: "reference", collections: [schema], rows: [className: all.objects])
        return Gateway(config: source.config, connectors: [memory])
    }

    /// Update operators with bodies that exercise them (on the `Item` fields).
    static let updates: [(UpdateOperation.Kind, [String: JSONValue])] = [
        (.set, ["name": .string("renamed"), "active": .bool(true)]),
        (.increment, ["score": .object(["__op": .string("Increment"), "amount": .int(3)])]),
        (.increment, ["score": .object(["__op": .string("Increment"), "amount": .double(-1.5)])]),
        (.add, ["tags": .object(["__op": .string("Add"), "objects": .array([.string("red"), .string("red")])])]),
        (.addUnique, ["tags": .object(["__op": .string("AddUnique"), "objects": .array([.string("red"), .string("blue")])])]),
        (.remove, ["tags": .object(["__op": .string("Remove"), "objects": .array([.string("red")])])]),
        (.delete, ["meta": .object(["__op": .string("Delete")])]),
        (.set, ["meta": .object(["color": .string("green"), "n": .int(7)]), "score": .null]),
    ]

    /// Creates, reads, updates (every operator) and deletes through `candidate` and `reference` (two gateways
    /// serving `className` with the same schema) and reports every difference: stored values, echoed
    /// operator results, error codes. An operator the candidate does not declare must be refused with a
    /// Parse error (never code 1) and leave the object unchanged. Returns the differences (empty: conformant).
    public static func checkWrites(candidate: Gateway, reference: Gateway, declared: ConnectorCapabilities,
                                   className: String = "Item", logger: Logger) async -> [String] {
        var problems: [String] = []
        func fields(_ g: Gateway, _ id: String) async -> [String: ParseValue]? {
            (try? await g.get(className, objectId: id, keys: nil, caller: .master, logger: logger))?.fields.mapValues(\.asJSONNumber)
        }
        func code(_ body: () async throws -> Void) async -> Int? {
            do { try await body(); return nil } catch let e as GatewayError { return e.code.rawValue } catch { return 1 }
        }
        var pairs: [(String, String)] = []
        for (i, body) in sampleBodies(count: 12, seed: 7).enumerated() {
            do {
                let a = try await candidate.create(className, body: body, caller: .master, logger: logger)
                let b = try await reference.create(className, body: body, caller: .master, logger: logger)
                guard let ida = a.objectId, let idb = b.objectId else { problems.append("create \(i): no objectId"); continue }
                pairs.append((ida, idb))
                let fa = await fields(candidate, ida), fb = await fields(reference, idb)
                if fa != fb { problems.append("create \(i): stored \(String(describing: fa)), reference \(String(describing: fb))") }
            } catch {
                problems.append("create \(i) failed: \(error)")
            }
        }
        // Every operator on every created object, in sequence; both sides must end identical.
        for (ida, idb) in pairs.prefix(6) {
            for (kind, body) in updates {
                var echoedA: [String: ParseValue]?
                let codeA = await code {
                    echoedA = try await candidate.update(className, objectId: ida, body: body, caller: .master, logger: logger).operationResults.mapValues(\.asJSONNumber)
                }
                if declared.updateOperations.contains(kind) {
                    let echoedB = try? await reference.update(className, objectId: idb, body: body, caller: .master, logger: logger).operationResults.mapValues(\.asJSONNumber)
                    if let codeA { problems.append("\(kind) on \(ida): declared but failed with \(codeA)") }
                    else if echoedA != echoedB { problems.append("\(kind) on \(ida): echoed \(String(describing: echoedA)), reference \(String(describing: echoedB))") }
                } else if codeA == nil || codeA == 1 {
                    problems.append("\(kind) on \(ida): not declared, so it must be refused with a Parse error; got \(String(describing: codeA))")
                }
                let fa = await fields(candidate, ida), fb = await fields(reference, idb)
                if fa != fb { problems.append("after \(kind) on \(ida): \(String(describing: fa)), reference \(String(describing: fb))") }
            }
        }
        // Missing objects and deletes: the same codes on both sides.
        let missing = "zzMissing0"
        for (label, gateway) in [("candidate", candidate), ("reference", reference)] {
            let codes = [
                await code { _ = try await gateway.get(className, objectId: missing, keys: nil, caller: .master, logger: logger) },
                await code { _ = try await gateway.update(className, objectId: missing, body: ["name": .string("x")], caller: .master, logger: logger) },
                await code { try await gateway.delete(className, objectId: missing, caller: .master, logger: logger) },
            ]
            if codes != [101, 101, 101] { problems.append("\(label): missing object get/update/delete answered \(codes), expected 101 each") }
        }
        for (ida, idb) in pairs {
            let deleted = await code { try await candidate.delete(className, objectId: ida, caller: .master, logger: logger) }
            _ = await code { try await reference.delete(className, objectId: idb, caller: .master, logger: logger) }
            let after = await code { _ = try await candidate.get(className, objectId: ida, keys: nil, caller: .master, logger: logger) }
            let again = await code { try await candidate.delete(className, objectId: ida, caller: .master, logger: logger) }
            if deleted != nil || after != 101 || again != 101 {
                problems.append("delete \(ida): answered \(String(describing: deleted)), then get \(String(describing: after)), delete again \(String(describing: again))")
            }
        }
        return problems
    }

    /// Calls `connector` directly with what it declares and checks it really does it: pushed filters select
    /// exactly the reference's rows, sorting gives the reference order, paging returns the reference page,
    /// projection returns no other fields, counting agrees. Returns the differences.
    public static func checkDeclaredCapabilities(_ connector: any Connector, reference: Gateway, className: String = "Item",
                                                 logger: Logger) async -> [String] {
        var problems: [String] = []
        let context = ConnectorContext.system(logger)
        guard let schema = connector.collections.first(where: { $0.className == className }),
              let all = try? await reference.find(className, try reference.parseFind(className, ["limit": .int(1_000_000)]), caller: .master, logger: logger).objects
        else { return ["\(className) is not served"] }
        let caps = connector.capabilities
        let numericIds = schema.objectId.type == .integer
        do {
            try await connector.ready()
            for q in queries.dropLast(inMemoryOnly) {
                let query = try reference.parseFind(className, ["where": .string(q.whereJSON)])
                guard let filter = query.filter else { continue }
                guard filter.conjuncts.allSatisfy({ QueryPlanner.pushable($0, connector, schema) }) else { continue }
                let expected = Set(all.filter { QueryEvaluator.matches($0, filter) }.compactMap(\.objectId))
                let got = try await connector.find(SourceQuery(filter: filter), in: schema, context: context)
                if Set(got.compactMap(\.objectId)) != expected { problems.append("filter \(q.whereJSON): \(got.count) rows, reference \(expected.count)") }
                if caps.counting {
                    let n = try await connector.count(filter, in: schema, context: context)
                    if n != expected.count { problems.append("count \(q.whereJSON): \(n), reference \(expected.count)") }
                }
            }
            if caps.sorting {
                for keys in [[SortKey.field("score", descending: true)], [.field("name", descending: false)], []] {
                    let expected = QueryEvaluator.sort(all, by: keys, numericIds: numericIds).compactMap(\.objectId)
                    let got = try await connector.find(SourceQuery(sort: keys), in: schema, context: context).compactMap(\.objectId)
                    if got != expected { problems.append("sort \(keys): order differs from the reference") }
                    if caps.paging {
                        let page = try await connector.find(SourceQuery(sort: keys, skip: 3, limit: 5), in: schema, context: context).compactMap(\.objectId)
                        if page != Array(expected.dropFirst(3).prefix(5)) { problems.append("page skip 3 limit 5 of sort \(keys) differs from the reference") }
                    }
                }
            }
            if caps.projection {
                let got = try await connector.find(SourceQuery(limit: caps.paging ? 20 : nil, fields: ["name", "tags"]), in: schema, context: context)
                for o in got where !Set(o.fields.keys).isSubset(of: ["name", "tags"]) {
                    problems.append("projection on name,tags returned \(o.fields.keys.sorted())")
                    break
                }
            }
        } catch {
            problems.append("a declared capability failed: \(error)")
        }
        return problems
    }
}

extension ParseValue {
    /// The value as a JSON client sees it: a number is a number (`113.0` and `113` are the same JSON value;
    /// sources differ in which they store), everything else unchanged.
    var asJSONNumber: ParseValue {
        switch self {
        case .double(let d) where d.rounded() == d && abs(d) < 9.0e15: return .int(Int64(d))
        case .array(let items): return .array(items.map(\.asJSONNumber))
        case .object(let o): return .object(o.mapValues(\.asJSONNumber))
        default: return self
        }
    }
}

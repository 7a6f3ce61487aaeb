import CausewayCore

/// A find's object ids and count, or the error code it failed with, as one comparable line: tests that run one
/// query two ways (pushed down and in steps) expect both to end alike, failures included.
public func findOutcome(_ body: () async throws -> ([String], Int?)) async -> String {
    do {
        let (ids, count) = try await body()
        return ids.joined(separator: ",") + " count \(count.map(String.init) ?? "-")"
    } catch let error as GatewayError {
        return "error \(error.code)"
    } catch {
        return "error \(error)"
    }
}

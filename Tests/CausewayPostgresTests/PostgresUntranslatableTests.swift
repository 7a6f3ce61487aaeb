import CausewayCore
@testable import CausewayPostgres
import Testing

/// A condition the planner should never push (a planner bug) is refused with an internal error (code 1),
/// never a crash of the whole process.
@Suite struct PostgresUntranslatableTests {
    /// A connector with one class, Thing (a text label), over an empty table.
    func withThings(_ body: (PostgresFixture, PostgresConnector, CollectionSchema) async throws -> Void) async throws {
        try await withPostgresFixture(setupSQL: "CREATE TABLE things (id text PRIMARY KEY, label text)") { fx in
            let connector = try await fx.connector("""
                  Thing:
                    schema: SCHEMA
                    table: things
                    fields:
                      label: { type: string }
                """)
            try await body(fx, connector, try #require(connector.collections.first))
        }
    }

    @Test func anUntranslatableConditionIsAnInternalErrorNotACrash() async throws {
        try await withThings { fx, connector, schema in
            for condition: (String, FieldCondition) in [("label", .all([.string("x")])), ("objectId", .regex(pattern: "a", options: ""))] {
                let error = await #expect(throws: GatewayError.self) {
                    _ = try await connector.find(SourceQuery(filter: .field(condition.0, condition.1)), in: schema, context: .system(fx.logger))
                }
                #expect(error?.code == .internalServerError && error?.message == "Internal server error.", "\(String(describing: error))")
                #expect(error?.detail?.contains("PostgreSQL translation") == true, "\(String(describing: error?.detail))")
            }
        }
    }

    /// PostgreSQL text cannot hold NUL: a value with one, in a condition or a write, is the client's misfit (111),
    /// not an internal error.
    @Test func aNULInATextValueIsTheClientsMisfit() async throws {
        try await withThings { fx, connector, schema in
            let find = await #expect(throws: GatewayError.self) {
                _ = try await connector.find(SourceQuery(filter: .field("label", .equal(.string("a\u{0}b")))), in: schema, context: .system(fx.logger))
            }
            #expect(find?.code == .incorrectType && find?.message.contains("NUL") == true, "\(String(describing: find))")
            let write = await #expect(throws: GatewayError.self) {
                _ = try await connector.create(ParseObject(objectId: "t1", fields: ["label": .string("a\u{0}b")]), in: schema, context: .system(fx.logger))
            }
            #expect(write?.code == .incorrectType, "\(String(describing: write))")
        }
    }
}

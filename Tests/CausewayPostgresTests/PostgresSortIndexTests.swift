import CausewayCore
@testable import CausewayPostgres
import Foundation
import Logging
import PostgresNIO
import Testing

/// On 100,000 rows with a plain index on a nullable column, the statement the connector runs for a sorted,
/// limited find is served by the index (its `EXPLAIN` shows an index scan and no sequential scan), and its
/// page equals the in-memory evaluator's, missing values placed as Parse places them. Large skips become a
/// keyset condition with the same page.
@Suite struct PostgresSortIndexTests {
    static let setupSQL = """
        CREATE TABLE scores (id bigint PRIMARY KEY, score integer, name text, rank integer NOT NULL,
                             tags text[] NOT NULL DEFAULT '{}');
        INSERT INTO scores
          SELECT g, CASE WHEN g % 10 = 0 THEN NULL ELSE (g * 7919) % 50000 END,
                 CASE WHEN g % 7 = 0 THEN NULL ELSE 'n' || (g % 997) END, (g * 31) % 100003,
                 ARRAY['t' || (g % 7), 't' || (g % 13)]
          FROM generate_series(1, 100000) AS g;
        CREATE INDEX scores_score ON scores (score);
        CREATE INDEX scores_rank ON scores (rank);
        VACUUM ANALYZE scores
        """

    static let mapping = """
          Score:
            schema: SCHEMA
            table: scores
            objectId: { column: id, type: integer }
            indexHints: [score, name]
            fields:
              score: { type: number }
              name: { type: string }
              rank: { type: number }
              tags: { type: array }
        """

    struct Case: CustomStringConvertible {
        var label: String
        var query: SourceQuery
        var shape: PostgresFindStatement.Shape
        /// Whether the plan must come from an index (no `Seq Scan` anywhere in it).
        var indexed = true
        var description: String { label }
    }

    @Test func sortsUseTheIndexAndPlaceMissingValuesAsParseDoes() async throws {
        try await withPostgresFixture(setupSQL: Self.setupSQL) { fx in
            let connector = try await fx.connector(Self.mapping)
            let schema = try #require(connector.collections.first)
            let context = ConnectorContext.system(fx.logger)
            // The reference: every row, through the connector unsorted, then the evaluator.
            let all = try await connector.find(SourceQuery(), in: schema, context: context)
            #expect(all.count == 100_000)
            let byId = Dictionary(uniqueKeysWithValues: all.map { ($0.objectId!, $0) })

            // {"score":{"$gte":40000},"tags":"t3"} and {"score":{"$exists":true}}
            let contains = QueryFilter.and([.field("score", .greaterThanOrEqual(.int(40_000))), .field("tags", .equal(.string("t3")))])
            let exists = QueryFilter.field("score", .exists(true))
            let cases: [Case] = [
                Case(label: "-score, limit 20", query: SourceQuery(sort: [.field("score", descending: true)], limit: 20), shape: .split),
                Case(label: "score, limit 20 (missing first)", query: SourceQuery(sort: [.field("score", descending: false)], limit: 20), shape: .split),
                Case(label: "score, across the missing values", query: SourceQuery(sort: [.field("score", descending: false)], skip: 9_990, limit: 20),
                     shape: .split, indexed: false),
                Case(label: "-score, across into the missing values", query: SourceQuery(sort: [.field("score", descending: true)], skip: 89_990, limit: 20),
                     shape: .split, indexed: false),
                Case(label: "-score, name", query: SourceQuery(sort: [.field("score", descending: true), .field("name", descending: false)], limit: 30),
                     shape: .split),
                Case(label: "filtered -score (the issue's query)", query: SourceQuery(filter: contains, sort: [.field("score", descending: true)], limit: 20),
                     shape: .plain),
                Case(label: "filtered score ascending", query: SourceQuery(filter: contains, sort: [.field("score", descending: false)], limit: 20),
                     shape: .plain),
                Case(label: "rank (NOT NULL), limit 20", query: SourceQuery(sort: [.field("rank", descending: false)], limit: 20), shape: .plain),
                Case(label: "keyset: -rank, skip 50,000", query: SourceQuery(sort: [.field("rank", descending: true)], skip: 50_000, limit: 20),
                     shape: .keyset),
                Case(label: "keyset: score exists, -score, skip 5,000", query: SourceQuery(filter: exists, sort: [.field("score", descending: true)], skip: 5_000, limit: 20),
                     shape: .keyset),
                Case(label: "keyset: -score, rank (ties on score), skip 5,001", query: SourceQuery(filter: exists, sort: [.field("score", descending: true), .field("rank", descending: false)], skip: 5_001, limit: 20),
                     shape: .keyset),
                Case(label: "keyset: -rank, skip past the end", query: SourceQuery(sort: [.field("rank", descending: true)], skip: 150_000, limit: 20),
                     shape: .keyset, indexed: false),
            ]
            for c in cases {
                let (statement, shape) = try await connector.findStatement(c.query, in: schema)
                #expect(shape == c.shape, "\(c): \(statement.sql)")
                let plan = try await connector.explain(statement)
                if c.indexed {
                    #expect(plan.contains("Index Scan") || plan.contains("Index Only Scan"), "\(c): \(plan)")
                    #expect(!plan.contains("Seq Scan"), "\(c): \(plan)")
                }
                let page = try await connector.find(c.query, in: schema, context: context)
                Self.expectEvaluatorPage(page, of: all, byId: byId, c.query, "\(c): \(statement.sql)")
            }
            // And once literally: the evaluator's own run of the issue's query gives the same page.
            let issue = cases[5].query
            #expect(try await connector.find(issue, in: schema, context: context)
                    == QueryEvaluator.run(all, filter: issue.filter, sort: issue.sort, skip: issue.skip, limit: issue.limit, numericIds: true))

            // The placement is Parse's: descending ends with the missing scores, ascending starts with them.
            let last = try await connector.find(SourceQuery(sort: [.field("score", descending: true)], skip: 89_995, limit: 10), in: schema, context: context)
            #expect(last.prefix(5).allSatisfy { $0.fields["score"] != nil } && last.suffix(5).allSatisfy { $0.fields["score"] == nil })
            let first = try await connector.find(SourceQuery(sort: [.field("score", descending: false)], limit: 3), in: schema, context: context)
            #expect(first.map(\.objectId) == ["10", "20", "30"])

            // No NULLS clause where the catalog says the column is NOT NULL or the filter excludes missing values.
            let (plainNotNull, _) = try await connector.findStatement(SourceQuery(sort: [.field("rank", descending: true)], limit: 5), in: schema)
            #expect(plainNotNull.sql.contains(#"ORDER BY "rank" DESC, "id" ASC LIMIT"#), "\(plainNotNull.sql)")
            let (filtered, _) = try await connector.findStatement(SourceQuery(filter: contains, sort: [.field("score", descending: true)], limit: 5), in: schema)
            #expect(filtered.sql.contains(#"ORDER BY "score" DESC, "id" ASC LIMIT"#), "\(filtered.sql)")
        }
    }

    /// Whether `page` is exactly the evaluator's page of `query` over `all`, by the evaluator's own comparator:
    /// every row matches the filter and is the stored object, the page is in strictly increasing order, exactly
    /// `skip` matching rows order before its first row and `skip + count` up to its last, and it is as long as the
    /// limit allows. (The evaluator's order is total, ties broken by the key, so this pins the page down; it costs
    /// two comparisons per row instead of sorting 100,000 objects per case.)
    static func expectEvaluatorPage(_ page: [ParseObject], of all: [ParseObject], byId: [String: ParseObject], _ query: SourceQuery,
                                    _ label: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let matching = all.filter { QueryEvaluator.matches($0, query.filter) }
        func cmp(_ a: ParseObject, _ b: ParseObject) -> Int { QueryEvaluator.compare(a, b, by: query.sort, numericIds: true) }
        #expect(page.allSatisfy { QueryEvaluator.matches($0, query.filter) && byId[$0.objectId ?? ""] == $0 }, "\(label): stored, matching rows",
                sourceLocation: sourceLocation)
        #expect(zip(page, page.dropFirst()).allSatisfy { cmp($0, $1) < 0 }, "\(label): in the evaluator's order", sourceLocation: sourceLocation)
        let expectedCount = max(0, min(query.limit ?? Int.max, matching.count - query.skip))
        #expect(page.count == expectedCount, "\(label): \(page.count) rows, expected \(expectedCount)", sourceLocation: sourceLocation)
        guard let first = page.first, let last = page.last else { return }
        let before = matching.reduce(0) { $0 + (cmp($1, first) < 0 ? 1 : 0) }
        let upToLast = matching.reduce(0) { $0 + (cmp($1, last) <= 0 ? 1 : 0) }
        #expect(before == query.skip && upToLast == query.skip + page.count,
                "\(label): \(before) rows before the page (expected \(query.skip)), \(upToLast) up to its end", sourceLocation: sourceLocation)
    }

    /// An index built with Parse's placement (`DESC NULLS LAST`) is used as it is: one plain statement.
    @Test func anIndexWithParsesPlacementIsUsedDirectly() async throws {
        try await withPostgresFixture(setupSQL: """
            CREATE TABLE s2 (id bigint PRIMARY KEY, score integer);
            INSERT INTO s2 SELECT g, CASE WHEN g % 4 = 0 THEN NULL ELSE g % 5000 END FROM generate_series(1, 20000) AS g;
            CREATE INDEX s2_score ON s2 (score DESC NULLS LAST);
            VACUUM ANALYZE s2
            """) { fx in
            let connector = try await fx.connector("""
                  S2:
                    schema: SCHEMA
                    table: s2
                    objectId: { column: id, type: integer }
                    fields:
                      score: { type: number }
                """)
            let schema = try #require(connector.collections.first)
            let query = SourceQuery(sort: [.field("score", descending: true)], limit: 10)
            let (statement, shape) = try await connector.findStatement(query, in: schema)
            #expect(shape == .plain && statement.sql.contains(#""score" DESC NULLS LAST, "id" ASC"#), "\(statement.sql)")
            let plan = try await connector.explain(statement)
            #expect(plan.contains("s2_score") && !plan.contains("Seq Scan"), "\(plan)")
            let all = try await connector.find(SourceQuery(), in: schema, context: .system(fx.logger))
            let page = try await connector.find(query, in: schema, context: .system(fx.logger))
            #expect(page == QueryEvaluator.run(all, filter: nil, sort: query.sort, skip: 0, limit: 10, numericIds: true))
        }
    }

    /// `causeway check` warns about `indexHints` fields no index serves, naming the file, line and key.
    @Test func checkWarnsAboutHintedFieldsWithoutAnIndex() async throws {
        try await withPostgresFixture(setupSQL: """
            CREATE TABLE h (id bigint PRIMARY KEY, score integer, name text, code text);
            CREATE INDEX h_score ON h (score);
            CREATE INDEX h_code ON h (code COLLATE "C")
            """) { fx in
            let connector = try await fx.connector("""
                  H:
                    schema: SCHEMA
                    table: h
                    objectId: { column: id, type: integer }
                    indexHints: [score, name, code, objectId]
                    fields:
                      score: { type: number }
                      name: { type: string }
                      code: { type: string }
                """, name: "hinted")
            let findings = await connector.verify(logger: fx.logger)
            let warnings = findings.filter { $0.severity == .warning }.map(\.message)
            #expect(warnings.count == 1, "\(findings)")
            let w = warnings.first ?? ""
            #expect(w.contains("hinted.yaml:") && w.contains("indexHints") && w.contains("name (column name)") && w.contains("no index"), "\(w)")
            #expect(!warnings.contains { $0.contains("score") || $0.contains("code") }, "\(warnings)")
        }
    }

    /// The keyset condition for mixed directions is lexicographic and starts with the bound an index serves.
    @Test func keysetConditionShape() {
        let t = [
            PostgresFindStatement.Term(expression: "a", descending: true, nonNull: true, column: nil, parseNullsFirst: false),
            PostgresFindStatement.Term(expression: "b", descending: false, nonNull: true, column: nil, parseNullsFirst: true),
            PostgresFindStatement.Term(expression: "id", descending: false, nonNull: true, column: nil, parseNullsFirst: true),
        ]
        #expect(PostgresFindStatement.keysetCondition(t, boundary: { "$\($0)" })
                == "a <= $0 AND (a < $0 OR (a = $0 AND (b > $1 OR (b = $1 AND id >= $2))))")
        #expect(PostgresFindStatement.keysetCondition([t[2]], boundary: { "$\($0)" }) == "id >= $0")
    }
}

import CausewayCore

/// Checks a metadata store's `findUsers` (with the part of each query that stays in memory) against the
/// in-memory evaluator over every user, which is Parse's semantics: the same users in the same order, and the
/// same count, for filters, sorts and pages of the kinds `GET /users` sends; and the role names `GET /roles`
/// lists. Each store's tests run it.
public enum UserQueryConformance {
    static let base: Int64 = 1_700_000_000_000

    /// Twelve users: names that sort differently by code point than by dictionary order, missing emails, two
    /// providers, two users created in the same millisecond, a directory attribute on some.
    public static let users: [UserRecord] = {
        let rows: [(String, String?, String, Int64, String?)] = [
            ("alice", "alice@example.com", "local", 0, "IT"), ("Bob", nil, "corp", 1000, "Sales"),
            ("carol", "carol@example.com", "corp", 1000, "IT"), ("dave", nil, "local", 3000, nil),
            ("Émile", "emile@example.com", "corp", 4000, "HR"), ("zoë", "zoe@example.com", "local", 5000, nil),
            ("_svc", nil, "local", 6000, nil), ("alice2", "alice2@example.com", "corp", 7000, "IT"),
            ("ALICE", "upper@example.com", "local", 8000, "Sales"), ("bob", "bob@example.com", "corp", 9000, nil),
            ("eve", nil, "corp", 10000, "IT"), ("mallory", "m@example.com", "local", 11000, "HR"),
        ]
        return rows.enumerated().map { i, r in
            let created = ParseDate(millisecondsSince1970: base + r.3)
            let n = (i * 7) % 12  // objectId order is not insertion order
            return UserRecord(objectId: "u" + (n < 10 ? "0" : "") + String(n) + "x", username: r.0, email: r.1, provider: r.2,
                              attributes: r.4.map { ["department": $0] } ?? [:], roles: [[], ["Staff"], ["Staff", "Ops"], ["Zoë's team"]][i % 4],
                              rolesRefreshedAt: created, createdAt: created,
                              updatedAt: ParseDate(millisecondsSince1970: base + 20000 - r.3))
        }
    }()

    static func date(_ offsetMs: Int64) -> String {
        #"{"__type":"Date","iso":"\#(ParseDate(millisecondsSince1970: base + offsetMs).iso8601)"}"#
    }

    /// `where` texts: pushed down, partly pushed, and left in memory.
    public static let wheres: [String?] = [
        nil, #"{"username":"alice"}"#, #"{"username":{"$in":["alice","Bob","nobody"]}}"#, #"{"username":{"$nin":["alice","eve"]}}"#,
        #"{"username":{"$ne":"alice"}}"#, #"{"username":{"$gt":"B","$lte":"dave"}}"#, #"{"username":{"$lt":"_"}}"#,
        #"{"email":{"$exists":false}}"#, #"{"email":{"$exists":true}}"#, #"{"email":null}"#, #"{"email":{"$ne":null}}"#,
        #"{"email":{"$ne":"bob@example.com"}}"#, #"{"email":{"$nin":["bob@example.com"]}}"#, #"{"email":"bob@example.com"}"#,
        #"{"email":{"$gte":"c"}}"#, #"{"username":{"$in":[]}}"#, #"{"username":{"$nin":[]}}"#,
        #"{"createdAt":{"$gte":\#(date(1000)),"$lt":\#(date(9000))}}"#, #"{"updatedAt":\#(date(19000))}"#, #"{"authProvider":"corp"}"#,
        #"{"objectId":{"$in":["u00x","u07x","nope"]}}"#, #"{"department":"IT"}"#, #"{"authProvider":"corp","department":"IT"}"#,
        #"{"username":{"$regex":"^a"}}"#, #"{"$or":[{"username":"alice"},{"email":{"$exists":false}}]}"#, #"{"username":5}"#,
        #"{"createdAt":"yesterday"}"#, #"{"username":{"$in":["alice",null]}}"#, #"{"username":"al\u0000ice"}"#,
        #"{"username":{"$ne":"al\u0000ice"}}"#,
        // Two lists of 6,000: together beyond the store's bind budget, so the second runs in memory.
        #"{"username":{"$in":["alice","Bob",\#(filler("n"))]},"objectId":{"$nin":["u03x",\#(filler("x"))]}}"#,
    ]

    static func filler(_ prefix: String) -> String { (0..<6000).map { "\"\(prefix)\($0)\"" }.joined(separator: ",") }

    public static let sorts: [[SortKey]] = [
        [], [.field("username", descending: false)], [.field("username", descending: true)], [.field("email", descending: false)],
        [.field("email", descending: true)], [.field("createdAt", descending: true)],
        [.field("createdAt", descending: false), .field("username", descending: true)], [.field("department", descending: false)],
        [.field("objectId", descending: true)],
    ]

    public static let pages: [(skip: Int, limit: Int, count: Bool)] = [(0, 100, false), (2, 3, true), (0, 0, true), (20, 5, true)]

    /// Inserts `users` into an empty store.
    public static func seed(_ store: any MetadataStore) async throws {
        for u in users { try await store.insertUser(u) }
    }

    /// One line per query on which the store and the in-memory reference disagree; empty when they agree.
    public static func check(_ store: any MetadataStore) async throws -> [String] {
        var problems: [String] = []
        let all = try await store.allUsers()
        let roles = Set(try await store.roleNames()), expectedRoles = Set(all.flatMap(\.roles))
        if roles != expectedRoles { problems.append("roleNames \(roles.sorted()), expected \(expectedRoles.sorted())") }
        for emailVisible in [true, false] {
            // (The long lists' where is printed by its start only.)
            let reference = all.map { $0.parseObject(includeEmail: emailVisible) }
            for whereText in wheres {
                let filter = try whereText.flatMap { try QueryParser(schema: nil).parse(try JSONParser.parse(Array($0.utf8))) }
                for sort in sorts {
                    for p in pages {
                        let query = FindQuery(filter: filter, sort: sort, skip: p.skip, limit: p.limit, count: p.count)
                        let expected = QueryEvaluator.run(reference, filter: filter, sort: sort, skip: p.skip, limit: p.limit).map(\.objectId)
                        let expectedCount = p.count ? QueryEvaluator.run(reference, filter: filter, sort: [], skip: 0, limit: nil).count : nil
                        let (page, count) = try await UserQueryPlan.plan(query, emailVisible: emailVisible)
                            .run(query, store: store) { _ in emailVisible }
                        if page.map(\.objectId) != expected || count != expectedCount {
                            problems.append("where \(whereText.map { String($0.prefix(120)) } ?? "-") sort \(sort) skip \(p.skip) limit \(p.limit) email \(emailVisible): "
                                            + "\(page.map(\.objectId)) count \(String(describing: count)), expected \(expected) count \(String(describing: expectedCount))")
                        }
                    }
                }
            }
        }
        return problems
    }
}

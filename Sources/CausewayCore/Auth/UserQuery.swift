/// A `GET /users` query as far as the metadata store can run it on its own columns, so that finding a user
/// by name among tens of thousands of directory users reads one row, not all of them.
///
/// `plan` splits a `FindQuery`: top-level conjuncts on `objectId`, `username`, `authProvider`, `createdAt`,
/// `updatedAt` (and `email` when the caller may see every email) with `=`, `$ne`, `$lt(e)`, `$gt(e)`, `$in`,
/// `$nin` and `$exists` go to the store; the rest stays in memory. Sorting and paging go to the store only
/// when nothing stays in memory and every sort key is a store column.
public struct UserQuery: Sendable, Hashable {
    public enum Column: String, Sendable, Hashable, CaseIterable {
        case objectId = "object_id", username, email, provider, createdAt = "created_at", updatedAt = "updated_at"

        /// The Parse field this column is.
        public var field: String {
            switch self {
            case .objectId: return "objectId"
            case .username: return "username"
            case .email: return "email"
            case .provider: return "authProvider"
            case .createdAt: return "createdAt"
            case .updatedAt: return "updatedAt"
            }
        }

        /// Text columns hold strings; the others milliseconds since 1970.
        public var isText: Bool { self != .createdAt && self != .updatedAt }
        /// Only `email` may be missing.
        public var isNullable: Bool { self == .email }

        init?(field: String) {
            guard let c = Column.allCases.first(where: { $0.field == field }) else { return nil }
            self = c
        }
    }

    public enum Value: Sendable, Hashable {
        case text(String)
        case millis(Int64)
    }

    public enum Comparison: String, Sendable, Hashable {
        case equal = "=", notEqual = "<>", less = "<", lessOrEqual = "<=", greater = ">", greaterOrEqual = ">="
    }

    public enum Condition: Sendable, Hashable {
        case compare(Column, Comparison, Value)
        case isIn(Column, [Value], negated: Bool)
        /// `$exists`, and equality with null (`false`) or inequality with it (`true`).
        case exists(Column, Bool)

        /// How many values the condition binds.
        var bindCount: Int {
            switch self {
            case .compare: return 1
            case .isIn(_, let values, _): return values.count
            case .exists: return 0
            }
        }
    }

    public struct Order: Sendable, Hashable {
        public var column: Column
        public var descending: Bool

        public init(_ column: Column, descending: Bool) {
            self.column = column
            self.descending = descending
        }
    }

    public var conditions: [Condition] = []
    /// Ties are broken by `objectId`, ascending, as in memory.
    public var sort: [Order] = []
    public var skip = 0
    public var limit: Int?
    /// Also count every matching user (ignoring skip and limit).
    public var count = false

    public init(conditions: [Condition] = [], sort: [Order] = [], skip: Int = 0, limit: Int? = nil, count: Bool = false) {
        self.conditions = conditions
        self.sort = sort
        self.skip = skip
        self.limit = limit
        self.count = count
    }
}

/// What the store answers: the users in order, and the count when asked for.
public struct UserQueryResult: Sendable {
    public var users: [UserRecord]
    public var count: Int?

    public init(users: [UserRecord], count: Int?) {
        self.users = users
        self.count = count
    }
}

/// How a `FindQuery` on `_User` is divided between the store and memory.
public struct UserQueryPlan: Sendable {
    public var store: UserQuery
    /// Conjuncts evaluated in memory on what the store returns; nil when the store ran the whole filter.
    public var residualFilter: QueryFilter?
    /// Whether the store's page (and count) is the answer; otherwise sort, skip, limit and count run in memory.
    public var pagedInStore: Bool

    /// `emailVisible`: whether the caller sees every user's email (the master key). Others see only their own,
    /// so conditions and sorting on `email` run in memory on what they may see.
    public static func plan(_ query: FindQuery, emailVisible: Bool) -> UserQueryPlan {
        var pushed: [UserQuery.Condition] = []
        var residual: [QueryFilter] = []
        var binds = 0
        for conjunct in query.filter?.conjuncts ?? [] {
            // Within the bind budget (long `$in` lists beyond it run in memory).
            if let c = condition(conjunct, emailVisible: emailVisible), binds + c.bindCount <= maxBinds {
                pushed.append(c)
                binds += c.bindCount
            } else {
                residual.append(conjunct)
            }
        }
        var sort: [UserQuery.Order] = []
        var sortPushable = true
        for key in query.sort {
            guard case .field(let path, let descending) = key, let column = UserQuery.Column(field: path),
                  column != .email || emailVisible else { sortPushable = false; break }
            sort.append(.init(column, descending: descending))
        }
        let residualFilter = QueryFilter.conjunction(residual)
        let paged = sortPushable && residualFilter == nil
        let store = paged
            ? UserQuery(conditions: pushed, sort: sort, skip: query.skip, limit: query.limit, count: query.count)
            : UserQuery(conditions: pushed)
        return UserQueryPlan(store: store, residualFilter: residualFilter, pagedInStore: paged)
    }

    /// Runs the plan: the store's part in `store`, the rest in memory on what it returns, each user as the caller
    /// may see them (`includeEmail`). The page in `query`'s order, and the count when it asks for one.
    public func run(_ query: FindQuery, store: any MetadataStore,
                    includeEmail: (UserRecord) -> Bool) async throws -> (page: [ParseObject], count: Int?) {
        let found = try await store.findUsers(self.store)
        let objects = found.users.map { $0.parseObject(includeEmail: includeEmail($0)) }
        if pagedInStore { return (objects, found.count) }
        let page = QueryEvaluator.run(objects, filter: residualFilter, sort: query.sort, skip: query.skip, limit: query.limit)
        let count = query.count ? QueryEvaluator.run(objects, filter: residualFilter, sort: [], skip: 0, limit: nil).count : nil
        return (page, count)
    }

    /// Values bound in one statement at most: far below PostgreSQL's 65,535 and SQLite's 32,766 (its default
    /// build; sqlite-nio allows more).
    public static let maxBinds = 10_000

    static func condition(_ filter: QueryFilter, emailVisible: Bool) -> UserQuery.Condition? {
        guard case .field(let path, let condition) = filter, let column = UserQuery.Column(field: path),
              column != .email || emailVisible else { return nil }
        func value(_ v: ParseValue) -> UserQuery.Value? {
            switch (v, column.isText) {
            // PostgreSQL text cannot hold NUL (SQLSTATE 22021): such a value matches nothing stored, in memory.
            case (.string(let s), true): return s.utf8.contains(0) ? nil : .text(s)
            case (.date(let d), false): return .millis(d.millisecondsSince1970)
            default: return nil
            }
        }
        switch condition {
        case .equal(.null): return .exists(column, false)
        case .notEqual(.null): return .exists(column, true)
        case .exists(let e): return .exists(column, e)
        case .equal(let v): return value(v).map { .compare(column, .equal, $0) }
        case .notEqual(let v): return value(v).map { .compare(column, .notEqual, $0) }
        case .lessThan(let v): return value(v).map { .compare(column, .less, $0) }
        case .lessThanOrEqual(let v): return value(v).map { .compare(column, .lessOrEqual, $0) }
        case .greaterThan(let v): return value(v).map { .compare(column, .greater, $0) }
        case .greaterThanOrEqual(let v): return value(v).map { .compare(column, .greaterOrEqual, $0) }
        case .isIn(let vs), .notIn(let vs):
            // Every value must be of the column's kind (a null or a number in the list stays in memory).
            let values = vs.compactMap(value)
            guard values.count == vs.count else { return nil }
            if case .notIn = condition { return .isIn(column, values, negated: true) }
            return .isIn(column, values, negated: false)
        default: return nil
        }
    }
}

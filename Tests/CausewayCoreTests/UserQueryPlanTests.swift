@testable import CausewayCore
import Testing

/// How `GET /users` is divided between the metadata store and memory.
@Suite struct UserQueryPlanTests {
    func filter(_ json: String) throws -> QueryFilter? {
        try QueryParser(schema: nil).parse(try JSONParser.parse(Array(json.utf8)))
    }

    @Test func aLookupByNameIsTheStoresAlonePagedAndCountedThere() throws {
        let query = FindQuery(filter: try filter(#"{"username":"ann"}"#), sort: [.field("username", descending: true)], skip: 2, limit: 5, count: true)
        let plan = UserQueryPlan.plan(query, emailVisible: false)
        #expect(plan.store == UserQuery(conditions: [.compare(.username, .equal, .text("ann"))], sort: [.init(.username, descending: true)],
                                        skip: 2, limit: 5, count: true))
        #expect(plan.residualFilter == nil && plan.pagedInStore)
    }

    @Test func whatTheStoreCannotRunStaysInMemoryAndSoDoPagingAndCounting() throws {
        let query = FindQuery(filter: try filter(#"{"authProvider":"corp","department":"IT","username":{"$regex":"^a"}}"#), skip: 1, limit: 5, count: true)
        let plan = UserQueryPlan.plan(query, emailVisible: true)
        #expect(plan.store == UserQuery(conditions: [.compare(.provider, .equal, .text("corp"))]))
        #expect(plan.residualFilter?.conjuncts.count == 2 && !plan.pagedInStore)
        // A sort on an attribute keeps the page in memory though the filter is the store's.
        let sorted = UserQueryPlan.plan(FindQuery(filter: try filter(#"{"authProvider":"corp"}"#), sort: [.field("department", descending: false)]), emailVisible: true)
        #expect(sorted.residualFilter == nil && !sorted.pagedInStore && sorted.store.limit == nil)
    }

    @Test func emailIsTheStoresOnlyForTheMasterKey() throws {
        let query = FindQuery(filter: try filter(#"{"email":"ann@example.com"}"#), sort: [.field("email", descending: false)])
        let master = UserQueryPlan.plan(query, emailVisible: true)
        #expect(master.store.conditions == [.compare(.email, .equal, .text("ann@example.com"))] && master.pagedInStore)
        // Others see only their own email: matching and ordering by it happen on what they may see.
        let user = UserQueryPlan.plan(query, emailVisible: false)
        #expect(user.store.conditions.isEmpty && user.residualFilter != nil && !user.pagedInStore)
    }

    @Test func valuesOfTheWrongKindAndNullsInListsStayInMemory() throws {
        for json in [#"{"username":5}"#, #"{"createdAt":"yesterday"}"#, #"{"username":{"$in":["a",null]}}"#, #"{"objectId":{"$all":["a"]}}"#] {
            let plan = UserQueryPlan.plan(FindQuery(filter: try filter(json)), emailVisible: true)
            #expect(plan.store.conditions.isEmpty && plan.residualFilter != nil, "\(json)")
        }
        let nulls = UserQueryPlan.plan(FindQuery(filter: try filter(#"{"email":null,"username":{"$ne":null}}"#)), emailVisible: true)
        #expect(Set(nulls.store.conditions) == [.exists(.email, false), .exists(.username, true)])
    }

    @Test func theSQLTreatsMissingEmailsAsParseDoes() {
        let q = UserQuery(conditions: [.compare(.email, .notEqual, .text("a")), .isIn(.email, [.text("b")], negated: true), .isIn(.username, [], negated: false),
                                       .compare(.username, .greater, .text("m"))],
                          sort: [.init(.email, descending: false)])
        let sql = q.sql(placeholder: { "$\($0)" }, byteOrder: #" COLLATE "C""#, nullsExplicit: true)
        #expect(sql.whereClause == #"(email IS NULL OR email <> $1) AND (email IS NULL OR email NOT IN ($2)) AND FALSE AND username COLLATE "C" > $3"#)
        #expect(sql.orderBy == #"email COLLATE "C" ASC NULLS FIRST, object_id COLLATE "C" ASC"#)
        #expect(sql.binds == [.text("a"), .text("b"), .text("m")])
    }

    @Test func listsBeyondTheBindBudgetAndNULsStayInMemory() throws {
        let list = (0..<6000).map { "\"n\($0)\"" }.joined(separator: ",")
        let query = FindQuery(filter: try filter(#"{"username":{"$in":[\#(list)]},"objectId":{"$nin":[\#(list)]},"authProvider":"corp"}"#))
        let plan = UserQueryPlan.plan(query, emailVisible: true)
        #expect(plan.store.conditions.count == 2 && plan.residualFilter?.conjuncts.count == 1 && !plan.pagedInStore)
        let nul = UserQueryPlan.plan(FindQuery(filter: try filter(#"{"username":"a\u0000b"}"#)), emailVisible: true)
        #expect(nul.store.conditions.isEmpty && nul.residualFilter != nil)
    }
}

/// Users' role lists as the stores keep them (JSON text), read leniently.
@Suite struct RoleListTests {
    @Test func aDamagedListIsNoRolesAndNamesAreListedOnce() {
        #expect(RoleList.parse(#"["Staff","Ops"]"#) == ["Staff", "Ops"])
        #expect(RoleList.parse(#"["Staff",1,null,{"a":"b"}]"#) == ["Staff"])
        #expect(RoleList.parse("not json") == [] && RoleList.parse(#"{"a":"Staff"}"#) == [] && RoleList.parse("") == [])
        #expect(RoleList.parse(#"["a\u0000b"]"#) == ["a\u{0}b"])
        #expect(Set(RoleList.names([#"["Staff"]"#, #"["Staff","Ops"]"#, "garbage"])) == ["Staff", "Ops"])
    }
}

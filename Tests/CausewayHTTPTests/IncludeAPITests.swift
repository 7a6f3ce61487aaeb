import CausewayCore
import CausewayHTTPTesting
import Foundation
import Testing

/// `include`, `keys` with dotted paths and sub-queries through the Parse REST dialect: GET finds, gets,
/// `_method: GET` posts (as the SDKs send them, include as a string or an array) and batch GETs.
@Suite struct IncludeAPITests {
    static let connectors = """
    kind: sqlite
    connection:
      path: store.sqlite
    collections:
      Booking:
        table: bookings
        fields:
          room: { type: string }
          employee: { type: pointer, targetClass: Employee }
          tickets: { type: array }
          secret: { type: pointer, targetClass: Secret }
      Employee:
        table: employees
        acl: true
        fields:
          name: { type: string }
          city: { type: string }
          salary: { type: number }
          manager: { type: pointer, targetClass: Employee }
        protectedFields:
          "*": [salary]
      Ticket:
        table: tickets
        fields:
          title: { type: string }
      Secret:
        table: secrets
        fields:
          code: { type: string }
        permissions: { get: [], find: [], count: [], create: [], update: [], delete: [] }
    """

    static let master = ParseClient.masterHeaders

    func create(_ c: ParseClient, _ className: String, _ body: String) async throws -> String {
        let r = try await c.request(.post, "/parse/classes/\(className)", body, headers: Self.master)
        #expect(r.status == 201, "\(className): \(r.text)")
        return r["objectId"]?.stringValue ?? ""
    }

    func pointer(_ className: String, _ id: String) -> String { #"{"__type":"Pointer","className":"\#(className)","objectId":"\#(id)"}"# }

    /// Ada ← Ben (manager Ada); Eve hidden by her ACL; a booking of Ben with two tickets and a missing one,
    /// one of Eve, and one pointing to a missing employee.
    func seed(_ c: ParseClient) async throws -> (ben: String, booking: String) {
        let ada = try await create(c, "Employee", #"{"name":"Ada","city":"Zurich","salary":100}"#)
        let ben = try await create(c, "Employee", #"{"name":"Ben","city":"Basel","salary":90,"manager":\#(pointer("Employee", ada))}"#)
        let eve = try await create(c, "Employee", #"{"name":"Eve","city":"Bern","ACL":{}}"#)
        let t1 = try await create(c, "Ticket", #"{"title":"Printer"}"#)
        let booking = try await create(c, "Booking", #"{"room":"R1","employee":\#(pointer("Employee", ben)),"tickets":[\#(pointer("Ticket", t1)),\#(pointer("Ticket", "nothere"))]}"#)
        _ = try await create(c, "Booking", #"{"room":"R2","employee":\#(pointer("Employee", eve))}"#)
        _ = try await create(c, "Booking", #"{"room":"R3","employee":\#(pointer("Employee", "nothere"))}"#)
        return (ben, booking)
    }

    func byRoom(_ r: ParseResult) -> [String: JSONValue] {
        var out: [String: JSONValue] = [:]
        for row in r.results { if let room = row["room"]?.stringValue { out[room] = row } }
        return out
    }

    @Test func includeOnFindGetPostAndBatch() async throws {
        try await ParseTestApp(connectors: Self.connectors).run { c in
            let (ben, booking) = try await seed(c)
            let found = try await c.find("Booking", ["include": "employee.manager,tickets", "order": "room"])
            #expect(found.status == 200, "\(found.text)")
            let rooms = byRoom(found)
            let employee = rooms["R1"]?["employee"]
            #expect(employee?["__type"]?.stringValue == "Object" && employee?["className"]?.stringValue == "Employee")
            #expect(employee?["objectId"]?.stringValue == ben && employee?["name"]?.stringValue == "Ben" && employee?["salary"] == nil)
            #expect(employee?["manager"]?["name"]?.stringValue == "Ada")
            #expect(rooms["R1"]?["tickets"]?.arrayValue?.count == 1, "the missing ticket is removed from the array")
            #expect(rooms["R2"]?["employee"] == nil, "Eve's ACL hides her: the key is removed")
            #expect(rooms["R3"]?["employee"] == nil, "a missing target: the key is removed")

            let got = try await c.get("/parse/classes/Booking/\(booking)?include=employee")
            #expect(got["employee"]?["name"]?.stringValue == "Ben" && got["employee"]?["manager"]?["__type"]?.stringValue == "Pointer")
            let star = try await c.get("/parse/classes/Booking/\(booking)?include=*")
            #expect(star["employee"]?["name"]?.stringValue == "Ben" && star["tickets"]?.arrayValue?.first?["title"]?.stringValue == "Printer")
            let includeAllOnGet = try await c.get("/parse/classes/Booking/\(booking)?includeAll=true")
            #expect(includeAllOnGet.status == 400 && includeAllOnGet.code == 102, "includeAll is a find parameter: \(includeAllOnGet.text)")

            // The SDKs' POST with _method GET: include as a string and as an array.
            for include in [#""employee""#, #"["employee"]"#] {
                let post = try await c.request(.post, "/parse/classes/Booking", #"{"_method":"GET","include":\#(include),"where":{"room":"R1"}}"#)
                #expect(post.results.first?["employee"]?["name"]?.stringValue == "Ben", "\(include): \(post.text)")
            }
            let includeAll = try await c.request(.post, "/parse/classes/Booking", #"{"_method":"GET","includeAll":true,"where":{"room":"R1"}}"#)
            #expect(includeAll.results.first?["tickets"]?.arrayValue?.first?["title"]?.stringValue == "Printer", "\(includeAll.text)")

            let batch = try await c.request(.post, "/parse/batch", #"""
            {"requests":[{"method":"GET","path":"/parse/classes/Booking?include=employee&where=%7B%22room%22%3A%22R1%22%7D"},
                         {"method":"GET","path":"/parse/classes/Booking/\#(booking)","body":{"include":"employee.manager"}}]}
            """#)
            #expect(batch.json?.arrayValue?.first?["success"]?["results"]?.arrayValue?.first?["employee"]?["name"]?.stringValue == "Ben", "\(batch.text)")
            #expect(batch.json?.arrayValue?.last?["success"]?["employee"]?["manager"]?["name"]?.stringValue == "Ada", "\(batch.text)")
        }
    }

    @Test func dottedKeysDeniedGetAndSubQueries() async throws {
        try await ParseTestApp(connectors: Self.connectors).run { c in
            _ = try await seed(c)
            let keys = try await c.find("Booking", ["keys": "employee.name", "where": #"{"room":"R1"}"#])
            let row = keys.results.first
            #expect(row?["employee"]?["name"]?.stringValue == "Ben" && row?["employee"]?["city"] == nil && row?["room"] == nil, "\(keys.text)")

            let s1 = try await create(c, "Secret", #"{"code":"1234"}"#)
            _ = try await create(c, "Booking", #"{"room":"R9","secret":\#(pointer("Secret", s1))}"#)
            let denied = try await c.find("Booking", ["include": "secret"])
            #expect(denied.status == 400 && denied.code == 119, "\(denied.text)")
            let asMaster = try await c.find("Booking", ["include": "secret", "where": #"{"room":"R9"}"#], headers: Self.master)
            #expect(asMaster.results.first?["secret"]?["code"]?.stringValue == "1234")

            let inQuery = try await c.find("Booking", ["where": #"{"employee":{"$inQuery":{"className":"Employee","where":{"city":"Basel"}}}}"#])
            #expect(inQuery.ids("room") == ["R1"], "\(inQuery.text)")
            let select = try await c.find("Booking", ["where": #"{"room":{"$select":{"query":{"className":"Booking","where":{"room":{"$in":["R2","R3"]}}},"key":"room"}}}"#, "order": "room"])
            #expect(select.ids("room") == ["R2", "R3"], "\(select.text)")
            let improper = try await c.find("Booking", ["where": #"{"employee":{"$inQuery":{"className":"Employee"}}}"#])
            #expect(improper.status == 400 && improper.code == 102, "\(improper.text)")
            let tooDeep = try await c.find("Booking", ["include": "a.b.c.d.e.f"])
            #expect(tooDeep.code == 102 && tooDeep.errorMessage.contains("limits.maxIncludeDepth"), "\(tooDeep.text)")
        }
    }
}

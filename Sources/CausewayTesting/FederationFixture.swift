import CausewayCore

/// The cross-source fixture of the federation tests: `Booking` (one source) points to an `Employee`
/// (another source; `manager` points back into Employee, with a cycle Dan ↔ Eve) and to `Ticket`s (a third
/// source), and may point to a `Secret` whose `get` nobody but the master key has.
///
/// Employees: e1 Ada (Zurich, no manager), e2 Ben (Basel → e1), e3 Cleo (Zurich → e2), e4 Dan (Bern → e5),
/// e5 Eve (Bern → e4; her ACL lets only user `u-boss` read her). `salary` is protected from everyone.
/// Bookings `b001`…: employee e1…e5 in turn; every tenth has tickets [t1, t404 (missing), t2];
/// the last one points to the missing employee `e404`.
public enum FederationFixture {
    public static func bookingSchema(connector: String) -> CollectionSchema {
        CollectionSchema(className: "Booking", connectorName: connector, fields: [
            "room": FieldMapping(name: "room", type: .string, column: "room"),
            "city": FieldMapping(name: "city", type: .string, column: "city"),
            "employee": FieldMapping(name: "employee", type: .pointer, column: "employee_id", targetClass: "Employee"),
            "tickets": FieldMapping(name: "tickets", type: .array, column: "tickets"),
            "secret": FieldMapping(name: "secret", type: .pointer, column: "secret_id", targetClass: "Secret"),
        ], objectId: ObjectIdMapping(column: "id"))
    }

    public static func employeeSchema(connector: String) -> CollectionSchema {
        var s = CollectionSchema(className: "Employee", connectorName: connector, fields: [
            "name": FieldMapping(name: "name", type: .string, column: "name"),
            "city": FieldMapping(name: "city", type: .string, column: "city"),
            "salary": FieldMapping(name: "salary", type: .number, column: "salary"),
            "manager": FieldMapping(name: "manager", type: .pointer, column: "manager_id", targetClass: "Employee"),
            "ACL": FieldMapping(name: "ACL", type: .object, column: "acl"),
        ], objectId: ObjectIdMapping(column: "id"))
        s.access.protectedFields = ["*": ["salary"]]
        return s
    }

    public static func ticketSchema(connector: String) -> CollectionSchema {
        CollectionSchema(className: "Ticket", connectorName: connector, fields: [
            "title": FieldMapping(name: "title", type: .string, column: "title"),
        ], objectId: ObjectIdMapping(column: "id"))
    }

    public static func secretSchema(connector: String) -> CollectionSchema {
        CollectionSchema(className: "Secret", connectorName: connector, fields: [
            "code": FieldMapping(name: "code", type: .string, column: "code"),
        ], objectId: ObjectIdMapping(column: "id"),
        permissions: ClassPermissions(rules: [.get: [], .find: [], .count: [], .create: [], .update: [], .delete: []]))
    }

    /// (id, name, city, manager, salary)
    public static let employeeRows: [(String, String, String, String?, Int64)] = [
        ("e1", "Ada", "Zurich", nil, 100), ("e2", "Ben", "Basel", "e1", 90), ("e3", "Cleo", "Zurich", "e2", 80),
        ("e4", "Dan", "Bern", "e5", 70), ("e5", "Eve", "Bern", "e4", 60),
    ]

    public static func employees() -> [ParseObject] {
        employeeRows.map { id, name, city, manager, salary in
            var fields: [String: ParseValue] = ["name": .string(name), "city": .string(city), "salary": .int(salary)]
            if let manager { fields["manager"] = .pointer(className: "Employee", objectId: manager) }
            if id == "e5" { fields["ACL"] = .object(["u-boss": .object(["read": .bool(true)])]) }
            return ParseObject(objectId: id, fields: fields)
        }
    }

    public static func tickets() -> [ParseObject] {
        [ParseObject(objectId: "t1", fields: ["title": .string("Printer")]), ParseObject(objectId: "t2", fields: ["title": .string("VPN")])]
    }

    public static func secrets() -> [ParseObject] { [ParseObject(objectId: "s1", fields: ["code": .string("1234")])] }

    public static func bookingId(_ i: Int) -> String {
        "b" + String(repeating: "0", count: max(0, 3 - String(i).count)) + String(i)
    }

    public static func bookings(count: Int) -> [ParseObject] {
        (1...count).map { i in
            let employee = i == count ? "e404" : "e\((i - 1) % 5 + 1)"
            var fields: [String: ParseValue] = [
                "room": .string("R\(i)"), "city": .string(i % 2 == 0 ? "Zurich" : "Bern"),
                "employee": .pointer(className: "Employee", objectId: employee),
            ]
            if i % 10 == 0 {
                fields["tickets"] = .array([.pointer(className: "Ticket", objectId: "t1"), .pointer(className: "Ticket", objectId: "t404"),
                                            .pointer(className: "Ticket", objectId: "t2")])
            }
            return ParseObject(objectId: bookingId(i), fields: fields)
        }
    }
}

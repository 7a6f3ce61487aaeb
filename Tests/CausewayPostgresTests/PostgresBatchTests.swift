import CausewayCore
import CausewayHTTP
@testable import CausewayPostgres
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

/// `/batch` with `"transaction": true` on a PostgreSQL connector: all or nothing.
@Suite struct PostgresBatchTests {
    @Test func transactionalBatchesAreAllOrNothing() async throws {
        try await withPostgresFixture(setupSQL: """
            CREATE TABLE accounts (id text PRIMARY KEY, owner text NOT NULL, balance integer NOT NULL CHECK (balance >= 0));
            INSERT INTO accounts VALUES ('a', 'alice', 100), ('b', 'bob', 0)
            """) { fx in
            let connector = try await fx.connector("""
                  Account:
                    schema: SCHEMA
                    table: accounts
                    fields:
                      owner: { type: string }
                      balance: { type: number }
                """)
            var config = GatewayConfig()
            config.app.applicationId = "tx"
            let app = CausewayApplication.build(configuration: LoadedConfiguration(gateway: config, connectors: [connector]), logger: fx.logger)
            try await app.test(.router) { client in
                func batch(_ body: String) async throws -> (Int, JSONValue?) {
                    let r = try await client.execute(uri: "/parse/batch", method: .post, headers: [HTTPField.Name("X-Parse-Application-Id")!: "tx"], body: ByteBuffer(string: body))
                    return (Int(r.status.code), try? JSONParser.parse(String(buffer: r.body)))
                }
                // A transfer that would overdraw: the second update violates the CHECK, so the first is rolled back.
                let (failed, error) = try await batch(#"""
                    {"transaction":true,"requests":[
                      {"method":"PUT","path":"/parse/classes/Account/b","body":{"balance":{"__op":"Increment","amount":150}}},
                      {"method":"PUT","path":"/parse/classes/Account/a","body":{"balance":{"__op":"Increment","amount":-150}}}]}
                    """#)
                #expect(failed == 400 && error?["code"] == .int(142), "\(String(describing: error))")
                #expect(try await fx.scalar("SELECT string_agg(id || '=' || balance, ',' ORDER BY id) FROM \(fx.schemaName).accounts") == "a=100,b=0")

                // The same transfer within the balance commits both.
                let (ok, results) = try await batch(#"""
                    {"transaction":true,"requests":[
                      {"method":"PUT","path":"/parse/classes/Account/b","body":{"balance":{"__op":"Increment","amount":60}}},
                      {"method":"PUT","path":"/parse/classes/Account/a","body":{"balance":{"__op":"Increment","amount":-60}}},
                      {"method":"POST","path":"/parse/classes/Account","body":{"owner":"carol","balance":5}},
                      {"method":"GET","path":"/parse/classes/Account","body":{"where":{"balance":{"$gt":0}},"count":1}}]}
                    """#)
                #expect(ok == 200)
                let items = results?.arrayValue ?? []
                #expect(items.count == 4)
                #expect(items[0]["success"]?["balance"] == .int(60) && items[1]["success"]?["balance"] == .int(40))
                #expect(items[3]["success"]?["count"] == .int(3), "reads inside the transaction see its writes")
                #expect(try await fx.scalar("SELECT sum(balance)::text FROM \(fx.schemaName).accounts") == "105")

                // Without "transaction", the same failing batch applies what succeeds.
                let (partial, answers) = try await batch(#"""
                    {"requests":[
                      {"method":"PUT","path":"/parse/classes/Account/b","body":{"balance":{"__op":"Increment","amount":1}}},
                      {"method":"PUT","path":"/parse/classes/Account/a","body":{"balance":{"__op":"Increment","amount":-1000}}}]}
                    """#)
                #expect(partial == 200 && answers?.arrayValue?[1]["error"]?["code"] == .int(142))
                #expect(try await fx.scalar("SELECT balance::text FROM \(fx.schemaName).accounts WHERE id = 'b'") == "61")
            }
        }
    }
}

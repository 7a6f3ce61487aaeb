import Logging
import PostgresNIO
import Synchronization

// Named prepared statements through PostgresNIO's public API, whose statement types carry their SQL
// statically: a fixed set of slot types reads its SQL from a process-wide registry that assigns each
// distinct statement text one slot, for good. PostgresNIO then prepares a slot once per connection and
// reuses it (Parse/Describe once; Bind/Execute after), which PostgreSQL answers about twice as fast as
// statements parsed on every call. Statements beyond the slots run unprepared.

/// Which statement text each slot holds.
final class PreparedStatementRegistry: Sendable {
    static let shared = PreparedStatementRegistry()
    static let capacity = 64
    private struct State {
        var slots: [String: Int] = [:]
        var texts: [String] = []
    }
    private let state = Mutex(State())

    /// The slot for `sql`, assigning a free one; nil when all are taken.
    func slot(for sql: String) -> Int? {
        state.withLock { s in
            if let i = s.slots[sql] { return i }
            guard s.texts.count < PreparedStatementRegistry.capacity else { return nil }
            s.texts.append(sql)
            s.slots[sql] = s.texts.count - 1
            return s.texts.count - 1
        }
    }

    func sql(_ slot: Int) -> String { state.withLock { $0.texts[slot] } }
}

protocol StatementSlot { static var index: Int { get } }

/// One slot's statement: the SQL comes from the registry, the bindings from the caller.
struct SlotStatement<Slot: StatementSlot>: PostgresPreparedStatement {
    typealias Row = PostgresRow
    static var name: String { "causeway_s\(Slot.index)" }
    static var sql: String { PreparedStatementRegistry.shared.sql(Slot.index) }
    let bindings: PostgresBindings
    func makeBindings() throws -> PostgresBindings { bindings }
    func decodeRow(_ row: PostgresRow) throws -> PostgresRow { row }
}

enum Slot0: StatementSlot { static let index = 0 }
enum Slot1: StatementSlot { static let index = 1 }
enum Slot2: StatementSlot { static let index = 2 }
enum Slot3: StatementSlot { static let index = 3 }
enum Slot4: StatementSlot { static let index = 4 }
enum Slot5: StatementSlot { static let index = 5 }
enum Slot6: StatementSlot { static let index = 6 }
enum Slot7: StatementSlot { static let index = 7 }
enum Slot8: StatementSlot { static let index = 8 }
enum Slot9: StatementSlot { static let index = 9 }
enum Slot10: StatementSlot { static let index = 10 }
enum Slot11: StatementSlot { static let index = 11 }
enum Slot12: StatementSlot { static let index = 12 }
enum Slot13: StatementSlot { static let index = 13 }
enum Slot14: StatementSlot { static let index = 14 }
enum Slot15: StatementSlot { static let index = 15 }
enum Slot16: StatementSlot { static let index = 16 }
enum Slot17: StatementSlot { static let index = 17 }
enum Slot18: StatementSlot { static let index = 18 }
enum Slot19: StatementSlot { static let index = 19 }
enum Slot20: StatementSlot { static let index = 20 }
enum Slot21: StatementSlot { static let index = 21 }
enum Slot22: StatementSlot { static let index = 22 }
enum Slot23: StatementSlot { static let index = 23 }
enum Slot24: StatementSlot { static let index = 24 }
enum Slot25: StatementSlot { static let index = 25 }
enum Slot26: StatementSlot { static let index = 26 }
enum Slot27: StatementSlot { static let index = 27 }
enum Slot28: StatementSlot { static let index = 28 }
enum Slot29: StatementSlot { static let index = 29 }
enum Slot30: StatementSlot { static let index = 30 }
enum Slot31: StatementSlot { static let index = 31 }
enum Slot32: StatementSlot { static let index = 32 }
enum Slot33: StatementSlot { static let index = 33 }
enum Slot34: StatementSlot { static let index = 34 }
enum Slot35: StatementSlot { static let index = 35 }
enum Slot36: StatementSlot { static let index = 36 }
enum Slot37: StatementSlot { static let index = 37 }
enum Slot38: StatementSlot { static let index = 38 }
enum Slot39: StatementSlot { static let index = 39 }
enum Slot40: StatementSlot { static let index = 40 }
enum Slot41: StatementSlot { static let index = 41 }
enum Slot42: StatementSlot { static let index = 42 }
enum Slot43: StatementSlot { static let index = 43 }
enum Slot44: StatementSlot { static let index = 44 }
enum Slot45: StatementSlot { static let index = 45 }
enum Slot46: StatementSlot { static let index = 46 }
enum Slot47: StatementSlot { static let index = 47 }
enum Slot48: StatementSlot { static let index = 48 }
enum Slot49: StatementSlot { static let index = 49 }
enum Slot50: StatementSlot { static let index = 50 }
enum Slot51: StatementSlot { static let index = 51 }
enum Slot52: StatementSlot { static let index = 52 }
enum Slot53: StatementSlot { static let index = 53 }
enum Slot54: StatementSlot { static let index = 54 }
enum Slot55: StatementSlot { static let index = 55 }
enum Slot56: StatementSlot { static let index = 56 }
enum Slot57: StatementSlot { static let index = 57 }
enum Slot58: StatementSlot { static let index = 58 }
enum Slot59: StatementSlot { static let index = 59 }
enum Slot60: StatementSlot { static let index = 60 }
enum Slot61: StatementSlot { static let index = 61 }
enum Slot62: StatementSlot { static let index = 62 }
enum Slot63: StatementSlot { static let index = 63 }

extension PostgresConnector {
    /// Runs a statement as a named prepared statement when it has (or gets) a slot; nil otherwise.
    func executePrepared(_ query: PostgresQuery, on connection: PostgresConnection, logger: Logger) async throws -> [PostgresRow]? {
        guard let slot = PreparedStatementRegistry.shared.slot(for: query.sql) else { return nil }
        func run<S: StatementSlot>(_: S.Type) async throws -> [PostgresRow] {
            var rows: [PostgresRow] = []
            for try await row in try await connection.execute(SlotStatement<S>(bindings: query.binds), logger: logger) { rows.append(row) }
            return rows
        }
        switch slot {
        case 0: return try await run(Slot0.self)
        case 1: return try await run(Slot1.self)
        case 2: return try await run(Slot2.self)
        case 3: return try await run(Slot3.self)
        case 4: return try await run(Slot4.self)
        case 5: return try await run(Slot5.self)
        case 6: return try await run(Slot6.self)
        case 7: return try await run(Slot7.self)
        case 8: return try await run(Slot8.self)
        case 9: return try await run(Slot9.self)
        case 10: return try await run(Slot10.self)
        case 11: return try await run(Slot11.self)
        case 12: return try await run(Slot12.self)
        case 13: return try await run(Slot13.self)
        case 14: return try await run(Slot14.self)
        case 15: return try await run(Slot15.self)
        case 16: return try await run(Slot16.self)
        case 17: return try await run(Slot17.self)
        case 18: return try await run(Slot18.self)
        case 19: return try await run(Slot19.self)
        case 20: return try await run(Slot20.self)
        case 21: return try await run(Slot21.self)
        case 22: return try await run(Slot22.self)
        case 23: return try await run(Slot23.self)
        case 24: return try await run(Slot24.self)
        case 25: return try await run(Slot25.self)
        case 26: return try await run(Slot26.self)
        case 27: return try await run(Slot27.self)
        case 28: return try await run(Slot28.self)
        case 29: return try await run(Slot29.self)
        case 30: return try await run(Slot30.self)
        case 31: return try await run(Slot31.self)
        case 32: return try await run(Slot32.self)
        case 33: return try await run(Slot33.self)
        case 34: return try await run(Slot34.self)
        case 35: return try await run(Slot35.self)
        case 36: return try await run(Slot36.self)
        case 37: return try await run(Slot37.self)
        case 38: return try await run(Slot38.self)
        case 39: return try await run(Slot39.self)
        case 40: return try await run(Slot40.self)
        case 41: return try await run(Slot41.self)
        case 42: return try await run(Slot42.self)
        case 43: return try await run(Slot43.self)
        case 44: return try await run(Slot44.self)
        case 45: return try await run(Slot45.self)
        case 46: return try await run(Slot46.self)
        case 47: return try await run(Slot47.self)
        case 48: return try await run(Slot48.self)
        case 49: return try await run(Slot49.self)
        case 50: return try await run(Slot50.self)
        case 51: return try await run(Slot51.self)
        case 52: return try await run(Slot52.self)
        case 53: return try await run(Slot53.self)
        case 54: return try await run(Slot54.self)
        case 55: return try await run(Slot55.self)
        case 56: return try await run(Slot56.self)
        case 57: return try await run(Slot57.self)
        case 58: return try await run(Slot58.self)
        case 59: return try await run(Slot59.self)
        case 60: return try await run(Slot60.self)
        case 61: return try await run(Slot61.self)
        case 62: return try await run(Slot62.self)
        case 63: return try await run(Slot63.self)
        default: return nil
        }
    }
}

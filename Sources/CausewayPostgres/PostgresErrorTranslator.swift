import CausewayCore
import PostgresNIO

/// Maps PostgreSQL failures to Parse errors with client-safe messages; details go to logs only.
enum PostgresErrorTranslator {
    static func translate(_ error: PSQLError, connector: String) -> GatewayError {
        let detail = String(reflecting: error)
        guard error.code == .server, let info = error.serverInfo else {
            switch error.code {
            case .queryCancelled:
                return GatewayError(.timeout, "The PostgreSQL statement was cancelled; retry the request.", detail: detail)
            default:
                return GatewayError(.connectionFailed, "The PostgreSQL source of connector '\(connector)' is unreachable; retry the request.", detail: detail)
            }
        }
        return translateServerError(state: info[.sqlState] ?? "", column: info[.columnName], constraint: info[.constraintName],
                                    message: info[.message], connector: connector, detail: detail)
    }

    /// The same for the error type of PostgresNIO's EventLoopFuture API (prepared statements use it).
    static func translate(_ error: PostgresError, connector: String) -> GatewayError {
        let detail = String(reflecting: error)
        switch error {
        case .server(let e):
            return translateServerError(state: e.fields[.sqlState] ?? "", column: e.fields[.columnName], constraint: e.fields[.constraintName],
                                        message: e.fields[.message], connector: connector, detail: detail)
        case .connectionClosed, .protocol:
            return GatewayError(.connectionFailed, "The PostgreSQL source of connector '\(connector)' is unreachable; retry the request.", detail: detail)
        }
    }

    private static func translateServerError(state: String, column: String?, constraint: String?, message: String?,
                                             connector: String, detail: String) -> GatewayError {
        let column = column.map { " (\($0))" } ?? ""
        let constraint = constraint.map { " (\($0))" } ?? ""
        switch state {
        case "23505":
            return GatewayError(.duplicateValue, "A duplicate value for a field with unique values was provided", detail: detail)
        case "23502":
            return GatewayError(.validationError, "A required field is missing\(column).", detail: detail)
        case "23503":
            return GatewayError(.validationError, "The value refers to a row that does not exist\(constraint).", detail: detail)
        case "23514", "23P01":
            return GatewayError(.validationError, "The values violate a rule of the source\(constraint).", detail: detail)
        case "22P02", "22003", "22007", "22008", "22001", "22023", "2202E", "22021", "22P05":
            // PostgreSQL's own text stays in the log; the client learns which kind of misfit it was.
            let kind = ["22003": "a number out of range", "22007": "an invalid date or time", "22008": "a date or time out of range",
                        "22001": "a text longer than the column allows", "22021": "a text with a NUL character (\\u0000)",
                        "22P05": "a text the database's encoding cannot hold"][state] ?? "a value of the wrong form"
            return GatewayError(.incorrectType, "A value does not fit its column\(column): \(kind).", detail: detail)
        case "57014":
            return GatewayError(.timeout, "The PostgreSQL statement timed out; retry the request or narrow the query.", detail: detail)
        case "40001", "40P01", "55P03":
            return GatewayError(.timeout, "PostgreSQL could not serialize the request; retry it.", detail: detail)
        case "42P01", "42703", "42883":
            return GatewayError(.internalServerError, "The source no longer matches the mapping; run causeway check.", detail: detail)
        case "42501":
            return GatewayError(.operationForbidden, "The database user of connector '\(connector)' may not do this.", detail: detail)
        case _ where state.hasPrefix("08") || state.hasPrefix("57P") || state.hasPrefix("53"):
            return GatewayError(.connectionFailed, "The PostgreSQL source of connector '\(connector)' is unavailable; retry the request.", detail: detail)
        default:
            return GatewayError(.internalServerError, "Internal server error.", detail: detail)
        }
    }
}

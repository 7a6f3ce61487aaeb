/// How log lines are written (`logging.format` in causeway.yaml).
public enum LogFormat: String, Sendable, CaseIterable {
    /// One human-readable line per event (swift-log's stream handler).
    case text
    /// One JSON object per line, for log shippers (`JSONLogHandler`).
    case json
}

/// The `admin:` block of causeway.yaml: the operator page (Docs/operations.md, "Admin page").
public struct AdminSettings: Sendable, Equatable {
    /// Whether the admin page is served.
    public var enabled = true
    /// Where it is served (outside the Parse mount path), default `/admin`.
    public var path = "/admin"
    /// Besides the master key, members of this role may use it (a directory group mapped to a role).
    public var role: String?

    public init() {}

    static func read(_ r: YAMLReader, mountPath: String) throws(ConfigError) -> AdminSettings {
        var a = AdminSettings()
        a.enabled = try r.bool("enabled", default: true)
        if let path = try r.optionalString("path") {
            let trimmed = path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path
            guard trimmed.hasPrefix("/"), trimmed.count > 1, !trimmed.contains(" "), !trimmed.contains("?"), !trimmed.contains("#") else {
                throw r.error("path", "expected a path such as /admin, found '\(path)'")
            }
            let mount = mountPath == "/" ? "" : mountPath
            if mountPath == "/" || trimmed == mount || trimmed.hasPrefix(mount + "/") {
                throw r.error("path", "must lie outside the Parse mount path \(mountPath)")
            }
            a.path = trimmed
        }
        if let role = try r.optionalString("role"), !role.isEmpty { a.role = role }
        try r.finish()
        return a
    }
}

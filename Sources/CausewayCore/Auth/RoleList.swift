/// A user's roles as the metadata stores keep them: a JSON array of names in a text column.
public enum RoleList {
    /// The names in `text`; whatever is not an array of strings counts as none (a damaged row lists no roles
    /// rather than failing every read of it).
    public static func parse(_ text: String) -> [String] {
        guard case .array(let list)? = try? JSONParser.parse(Array(text.utf8)) else { return [] }
        return list.compactMap(\.stringValue)
    }

    /// Every name in any of `lists`, once.
    public static func names(_ lists: [String]) -> [String] {
        Array(Set(lists.flatMap(parse)))
    }
}

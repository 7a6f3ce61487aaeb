/// A place in a configuration file: file, line, column and key path.
public struct ConfigLocation: Sendable, Hashable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int
    public var keyPath: String

    public init(file: String, line: Int, column: Int, keyPath: String) {
        self.file = file
        self.line = line
        self.column = column
        self.keyPath = keyPath
    }

    public static let unknown = ConfigLocation(file: "<none>", line: 0, column: 0, keyPath: "")

    public var description: String {
        let key = keyPath.isEmpty ? "(top level)" : keyPath
        return "\(file):\(line):\(column): \(key)"
    }
}

/// Parse Server's numeric error codes (the subset Causeway emits).
public struct ParseErrorCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }

    public static let internalServerError = ParseErrorCode(rawValue: 1)
    public static let connectionFailed = ParseErrorCode(rawValue: 100)
    public static let objectNotFound = ParseErrorCode(rawValue: 101)
    public static let invalidQuery = ParseErrorCode(rawValue: 102)
    public static let invalidClassName = ParseErrorCode(rawValue: 103)
    public static let missingObjectId = ParseErrorCode(rawValue: 104)
    public static let invalidKeyName = ParseErrorCode(rawValue: 105)
    public static let invalidPointer = ParseErrorCode(rawValue: 106)
    public static let invalidJSON = ParseErrorCode(rawValue: 107)
    public static let commandUnavailable = ParseErrorCode(rawValue: 108)
    public static let incorrectType = ParseErrorCode(rawValue: 111)
    public static let objectTooLarge = ParseErrorCode(rawValue: 116)
    public static let operationForbidden = ParseErrorCode(rawValue: 119)
    public static let invalidNestedKey = ParseErrorCode(rawValue: 121)
    public static let invalidACL = ParseErrorCode(rawValue: 123)
    public static let timeout = ParseErrorCode(rawValue: 124)
    public static let duplicateValue = ParseErrorCode(rawValue: 137)
    public static let validationError = ParseErrorCode(rawValue: 142)
    public static let requestLimitExceeded = ParseErrorCode(rawValue: 155)
    public static let usernameMissing = ParseErrorCode(rawValue: 200)
    public static let passwordMissing = ParseErrorCode(rawValue: 201)
    public static let usernameTaken = ParseErrorCode(rawValue: 202)
    public static let emailTaken = ParseErrorCode(rawValue: 203)
    public static let invalidEmailAddress = ParseErrorCode(rawValue: 125)
    public static let sessionMissing = ParseErrorCode(rawValue: 206)
    public static let invalidSessionToken = ParseErrorCode(rawValue: 209)

    public var description: String { String(rawValue) }
}

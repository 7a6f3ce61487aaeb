import CausewayCore
import Testing

@Suite struct LogTextTests {
    @Test func controlCharactersAreEscaped() {
        #expect(LogText.clean("bob\nINFO forged line") == "bob\\u{a}INFO forged line")
        #expect(LogText.clean("a\u{0}b\u{1b}[31m") == "a\\u{0}b\\u{1b}[31m")
        #expect(LogText.clean("line\u{2028}sep") == "line\\u{2028}sep")
        #expect(LogText.clean("plain ümlaut") == "plain ümlaut")
    }

    @Test func longValuesAreCutWithTheirLength() {
        let huge = String(repeating: "x", count: 900_000)
        let cleaned = LogText.clean(huge, limit: 100)
        #expect(cleaned.hasPrefix(String(repeating: "x", count: 100)))
        #expect(cleaned.hasSuffix("…(900000 bytes)"))
        #expect(cleaned.count < 130)
    }
}

import CausewayCore
import Testing

/// Session tokens and the hex form of their hashes (stored, so it must never change).
@Suite struct SessionTokenTests {
    @Test func hashesAreTheSHA256InLowerCaseHex() {
        #expect(SessionToken.hash("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SessionToken.hex([0, 1, 15, 16, 255]) == "00010f10ff" && SessionToken.hex([UInt8]()) == "")
    }

    @Test func tokensAreRAnd32HexDigits() {
        let tokens = (0..<50).map { _ in SessionToken.make() }
        for t in tokens {
            #expect(t.hasPrefix("r:") && t.count == 34 && t.dropFirst(2).allSatisfy { "0123456789abcdef".contains($0) }, "\(t)")
        }
        #expect(Set(tokens).count == 50)
    }
}

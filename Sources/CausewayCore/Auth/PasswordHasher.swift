import Crypto
import _CryptoExtras

/// Salted, slow password hashes: PBKDF2-HMAC-SHA256 (swift-crypto), stored as
/// `pbkdf2-sha256$<rounds>$<salt base64>$<hash base64>` so the cost can rise without breaking old hashes.
public struct PasswordHasher: Sendable {
    /// OWASP's current floor for PBKDF2-HMAC-SHA256.
    public static let minimumRounds = 210_000
    public var rounds: Int

    public init(rounds: Int = PasswordHasher.minimumRounds) {
        self.rounds = max(rounds, PasswordHasher.minimumRounds)
    }

    public func hash(_ password: String) throws -> String {
        var rng = SystemRandomNumberGenerator()
        let salt = (0..<16).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let key = try derive(password, salt: salt, rounds: rounds)
        return "pbkdf2-sha256$\(rounds)$\(Base64.encode(salt))$\(Base64.encode(key))"
    }

    /// Whether `password` matches `stored`; compares in constant time.
    public func verify(_ password: String, against stored: String) -> Bool {
        let parts = stored.split(separator: "$", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "pbkdf2-sha256", let n = Int(parts[1]), n >= PasswordHasher.minimumRounds,
              let salt = Base64.decode(String(parts[2])), let expected = Base64.decode(String(parts[3])),
              let key = try? derive(password, salt: salt, rounds: n), key.count == expected.count else { return false }
        var diff: UInt8 = 0
        for i in 0..<key.count { diff |= key[i] ^ expected[i] }
        return diff == 0
    }

    private func derive(_ password: String, salt: [UInt8], rounds: Int) throws -> [UInt8] {
        let key = try KDF.Insecure.PBKDF2.deriveKey(from: Array(password.utf8), salt: salt, using: .sha256, outputByteCount: 32, rounds: rounds)
        return key.withUnsafeBytes { Array($0) }
    }
}

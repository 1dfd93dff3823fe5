internal import CSodium

/// Password hashes for people's logins: libsodium's `crypto_pwhash_str` (Argon2id with the
/// interactive limits), a self-describing ASCII string (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`)
/// that carries its own salt and parameters, verified by `crypto_pwhash_str_verify` in
/// constant time.
public enum PasswordHash {
    /// Password lengths accepted, in UTF-8 bytes.
    public static let lengths = 1...1024
    /// The longest stored hash accepted (libsodium writes at most `crypto_pwhash_STRBYTES` - 1 = 127).
    public static let maxHashBytes = 127

    /// Hashes `password` with a fresh random salt. Throws for an empty or over-long password.
    public static func hash(_ password: String) throws -> String {
        let bytes = Array(password.utf8)
        guard lengths.contains(bytes.count) else {
            throw CryptoError(.badLength, "a password must be \(lengths.lowerBound)...\(lengths.upperBound) bytes")
        }
        Sodium.ensure()
        var out = [CChar](repeating: 0, count: Int(crypto_pwhash_STRBYTES))
        let rc = bytes.withUnsafeBufferPointer { p in
            p.withMemoryRebound(to: CChar.self) { c in
                crypto_pwhash_str(&out, c.baseAddress!, UInt64(c.count),
                                  UInt64(crypto_pwhash_OPSLIMIT_INTERACTIVE), Int(crypto_pwhash_MEMLIMIT_INTERACTIVE))
            }
        }
        guard rc == 0 else { throw CryptoError(.randomness, "crypto_pwhash_str failed (out of memory?)") }
        let end = out.firstIndex(of: 0) ?? out.count
        return String(decoding: out[..<end].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Whether `password` matches `hash` (constant time in the password; false for a malformed
    /// hash or a password outside `lengths`).
    public static func verify(_ password: String, hash: String) -> Bool {
        let bytes = Array(password.utf8)
        guard lengths.contains(bytes.count), isWellFormed(hash) else { return false }
        Sodium.ensure()
        var stored = Array(hash.utf8).map { CChar(bitPattern: $0) }
        stored.append(0)
        return bytes.withUnsafeBufferPointer { p in
            p.withMemoryRebound(to: CChar.self) { c in
                crypto_pwhash_str_verify(stored, c.baseAddress!, UInt64(c.count)) == 0
            }
        }
    }

    /// Whether `hash` looks like what `hash(_:)` returns: an Argon2id string of printable ASCII.
    public static func isWellFormed(_ hash: String) -> Bool {
        let u = Array(hash.utf8)
        return u.count <= maxHashBytes && hash.hasPrefix("$argon2id$") && u.allSatisfy { $0 > 0x20 && $0 < 0x7f }
    }
}

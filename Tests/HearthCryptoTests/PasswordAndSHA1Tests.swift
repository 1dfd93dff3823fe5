import Foundation
import HearthCrypto
import Testing

@Suite struct PasswordHashTests {
    @Test func hashesVerifyAndRefuseWrongPasswords() throws {
        let h = try PasswordHash.hash("correct horse battery staple")
        #expect(h.hasPrefix("$argon2id$v=19$") && PasswordHash.isWellFormed(h))
        #expect(PasswordHash.verify("correct horse battery staple", hash: h))
        #expect(!PasswordHash.verify("correct horse battery stapl", hash: h))
        #expect(!PasswordHash.verify("Correct horse battery staple", hash: h))
        // A fresh salt each time: two hashes of one password differ, both verify.
        let h2 = try PasswordHash.hash("correct horse battery staple")
        #expect(h2 != h && PasswordHash.verify("correct horse battery staple", hash: h2))
        // Interactive limits, as libsodium writes them.
        #expect(h.contains("m=65536,t=2,p=1"))
    }

    @Test func limitsAndMalformedHashes() throws {
        #expect(throws: CryptoError.self) { try PasswordHash.hash("") }
        #expect(throws: CryptoError.self) { try PasswordHash.hash(String(repeating: "x", count: 1025)) }
        let long = String(repeating: "é", count: 512)  // 1024 bytes
        let h = try PasswordHash.hash(long)
        #expect(PasswordHash.verify(long, hash: h))
        #expect(!PasswordHash.verify("", hash: h))
        #expect(!PasswordHash.verify(long + "x", hash: h))
        for bad in ["", "plaintext", "$argon2i$v=19$m=4096,t=3,p=1$c2FsdA$aGFzaA", "$argon2id$" + String(repeating: "a", count: 200),
                    String(h.dropLast(4))] {
            #expect(!PasswordHash.verify(long, hash: bad))
        }
    }
}

@Suite struct SHA1Tests {
    /// FIPS 180 test vectors.
    @Test func knownAnswers() {
        #expect(Hex.encode(SHA1.digest(Array("abc".utf8))) == "a9993e364706816aba3e25717850c26c9cd0d89d")
        #expect(Hex.encode(SHA1.digest([])) == "da39a3ee5e6b4b0d3255bfef95601890afd80709")
        #expect(SHA1.base64(SHA1.digest(Array("abc".utf8))) == "qZk+NkcGgWq6PiVxeFDCbJzQ2J0=")
        #expect(SHA1.isBase64Digest("qZk+NkcGgWq6PiVxeFDCbJzQ2J0="))
        #expect(!SHA1.isBase64Digest("qZk+NkcGgWq6PiVxeFDCbJzQ2J0") && !SHA1.isBase64Digest("not base64 at all, 28 chars!"))
    }

    @Test func streamingMatchesOneShotAndFiles() throws {
        var rng = SystemRandomNumberGenerator()
        let data = (0..<3_000_001).map { _ in UInt8.random(in: 0...255, using: &rng) }
        var h = SHA1()
        var i = 0
        for step in [1, 63, 64, 65, 4096, 1 << 20] where i < data.count {
            let end = min(data.count, i + step)
            h.update(Array(data[i..<end]))
            i = end
        }
        h.update(Array(data[i...]))
        #expect(h.finalize() == SHA1.digest(data))
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("sha1-\(UUID().uuidString)").path
        try Data(data).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(try SHA1.digest(fileAt: path) == SHA1.digest(data))
        #expect(throws: CryptoError.self) { try SHA1.digest(fileAt: path + ".missing") }
    }
}

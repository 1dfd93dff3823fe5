import Testing
import Foundation
@testable import HearthCrypto

@Suite struct HashTests {
    @Test func blake2bMatchesKnownVector() {
        // BLAKE2b-256("abc"), as printed by `printf abc | b2sum -l 256`.
        #expect(Blake2b.hash256(Array("abc".utf8)).hex ==
                "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319")
    }

    @Test func streamingEqualsOneShot() {
        let data = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        var h = Blake2b()
        var i = 0
        while i < data.count {
            let n = min(777, data.count - i)
            data[i..<(i + n)].withUnsafeBytes { h.update($0) }
            i += n
        }
        #expect(h.finalize256() == Blake2b.hash256(data))
    }

    @Test func deviceIDRoundTripsAndDetectsTypos() throws {
        let id = Identity.fromSeed([UInt8](repeating: 7, count: 32)).deviceID
        let s = id.string
        #expect(s.count == 63)
        #expect(DeviceID(string: s) == id)
        #expect(DeviceID(string: s.lowercased().replacingOccurrences(of: "-", with: "")) == id)
        var chars = Array(s)
        chars[3] = chars[3] == "A" ? "B" : "A"
        #expect(DeviceID(string: String(chars)) == nil)
    }

    @Test func signAndVerify() {
        let me = Identity.generate()
        let msg = Array("hello".utf8)
        let sig = me.sign(msg)
        #expect(Identity.verify(signature: sig, message: msg, publicKey: me.publicKey))
        #expect(!Identity.verify(signature: sig, message: msg + [0], publicKey: me.publicKey))
    }
}

import Testing
@testable import HearthCrypto

/// Runs a whole handshake between two in-memory peers, payloads in order.
private func handshake(_ a: NoiseHandshake, _ b: NoiseHandshake, payloads: [[UInt8]] = []) throws -> [[UInt8]] {
    var received = [[UInt8]]()
    var i = 0
    while !a.isComplete || !b.isComplete {
        let (writer, reader) = a.isMyTurnToWrite ? (a, b) : (b, a)
        let payload = i < payloads.count ? payloads[i] : []
        received.append(try reader.readMessage(try writer.writeMessage(payload)))
        i += 1
    }
    return received
}

@Suite struct NoiseHandshakeTests {
    let alice = Identity.fromSeed([UInt8](repeating: 1, count: 32))
    let bob = Identity.fromSeed([UInt8](repeating: 2, count: 32))
    let prologue = Array("hearth/1".utf8)

    @Test func xxBetweenDeviceIdentitiesAuthenticatesBoth() throws {
        let a = try NoiseHandshake(role: .initiator, pattern: .XX, identity: alice, prologue: prologue)
        let b = try NoiseHandshake(role: .responder, pattern: .XX, identity: bob, prologue: prologue)
        let got = try handshake(a, b, payloads: [[], bob.publicKey, alice.publicKey])
        #expect(got == [[], bob.publicKey, alice.publicKey])
        #expect(a.handshakeHash == b.handshakeHash)
        #expect(a.remoteStaticMatches(ed25519PublicKey: bob.publicKey))
        #expect(b.remoteStaticMatches(ed25519PublicKey: alice.publicKey))
        #expect(!b.remoteStaticMatches(ed25519PublicKey: bob.publicKey))
        #expect(!b.remoteStaticMatches(ed25519PublicKey: [1, 2, 3]))

        let ta = a.transportCipher(), tb = b.transportCipher()
        for n in 0..<5 {
            let m = [UInt8](repeating: UInt8(n), count: n * 100)
            #expect(try tb.decrypt(try ta.encrypt(m)) == m)
            #expect(try ta.decrypt(try tb.encrypt(m)) == m)
        }
    }

    @Test func xxpsk3NeedsTheSameKeyOnBothSides() throws {
        let psk = [UInt8](repeating: 9, count: 32)
        let a = try NoiseHandshake(role: .initiator, pattern: .XXpsk3, identity: alice, prologue: prologue, psk: psk)
        let b = try NoiseHandshake(role: .responder, pattern: .XXpsk3, identity: bob, prologue: prologue, psk: psk)
        _ = try handshake(a, b)
        #expect(a.handshakeHash == b.handshakeHash)

        var wrong = psk
        wrong[0] ^= 1
        let c = try NoiseHandshake(role: .initiator, pattern: .XXpsk3, identity: alice, prologue: prologue, psk: psk)
        let d = try NoiseHandshake(role: .responder, pattern: .XXpsk3, identity: bob, prologue: prologue, psk: wrong)
        #expect(throws: CryptoError.self) { try handshake(c, d) }
        #expect(throws: CryptoError.self) {
            try NoiseHandshake(role: .initiator, pattern: .XXpsk3, identity: alice, prologue: prologue)
        }
        #expect(throws: CryptoError.self) {
            try NoiseHandshake(role: .initiator, pattern: .XXpsk3, identity: alice, psk: [1, 2, 3])
        }
    }

    @Test func prologueMismatchFailsTheHandshake() throws {
        let a = try NoiseHandshake(role: .initiator, pattern: .XX, identity: alice, prologue: prologue)
        let b = try NoiseHandshake(role: .responder, pattern: .XX, identity: bob, prologue: Array("other".utf8))
        _ = try b.readMessage(try a.writeMessage())
        let m2 = try b.writeMessage()
        let error = #expect(throws: CryptoError.self) { try a.readMessage(m2) }
        #expect(error?.code == .decryptFailed)
    }

    @Test func everyTamperedHandshakeByteFailsCleanly() throws {
        for position in [0, 31, 32, 40, 79, 80, 95] {
            let a = try NoiseHandshake(role: .initiator, pattern: .XX, identity: alice, prologue: prologue)
            let b = try NoiseHandshake(role: .responder, pattern: .XX, identity: bob, prologue: prologue)
            _ = try b.readMessage(try a.writeMessage())
            var m2 = try b.writeMessage([7, 7])
            #expect(m2.count == 32 + 48 + 2 + 16)
            m2[position] ^= 0x40
            #expect(throws: CryptoError.self) { try a.readMessage(m2) }
            // The failure sticks: a retry with the genuine bytes is refused too.
            m2[position] ^= 0x40
            #expect(throws: CryptoError.self) { try a.readMessage(m2) }
        }
    }

    @Test func truncatedAndOversizedHandshakeMessagesAreRefused() throws {
        let b = try NoiseHandshake(role: .responder, pattern: .XX, identity: bob)
        let error = #expect(throws: CryptoError.self) { try b.readMessage([1, 2, 3]) }
        #expect(error?.code == .badLength)

        let a = try NoiseHandshake(role: .initiator, pattern: .XX, identity: alice)
        let tooBig = #expect(throws: CryptoError.self) { try a.writeMessage([UInt8](repeating: 0, count: 65535)) }
        #expect(tooBig?.code == .badLength)
        // A refused write leaves the handshake usable.
        let c = try NoiseHandshake(role: .responder, pattern: .XX, identity: bob)
        _ = try handshake(a, c)
        #expect(a.isComplete && c.isComplete)
    }

    @Test func outOfTurnMessagesAreRefused() throws {
        let a = try NoiseHandshake(role: .initiator, pattern: .XX, identity: alice)
        let error = #expect(throws: CryptoError.self) { try a.readMessage([UInt8](repeating: 0, count: 32)) }
        #expect(error?.code == .handshake)
    }

    @Test func patternsParseFromNames() throws {
        #expect(try NoisePattern(protocolName: "Noise_XXpsk3_25519_ChaChaPoly_BLAKE2b") == .XXpsk3)
        #expect(try NoisePattern(name: "KKpsk0+psk2").pskCount == 2)
        #expect(throws: CryptoError.self) { try NoisePattern(name: "QQ") }
        #expect(throws: CryptoError.self) { try NoisePattern(name: "XXpsk9") }
        #expect(throws: CryptoError.self) { try NoisePattern(protocolName: "Noise_XX_448_AESGCM_SHA512") }
    }

    @Test func hmacMatchesRFC2104Construction() {
        // HMAC-BLAKE2b-512(key = 0x0b * 20, "Hi There"), by Python's hmac module with hashlib.blake2b.
        let mac = Noise.hmac(key: [UInt8](repeating: 0x0b, count: 20), Array("Hi There".utf8))
        #expect(Hex.encode(mac) == "358a6a184924894fc34bee5680eedf57d84a37bb38832f288e3b27dc63a98cc8c91e76da476b508bc6b2d408a248857452906e4a20b48c6b4b55d2df0fe1dd24")
    }
}

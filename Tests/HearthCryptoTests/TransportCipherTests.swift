import Testing
@testable import HearthCrypto

private func session(rekeyInterval: UInt64 = TransportCipher.defaultRekeyInterval,
                     responderInterval: UInt64? = nil) throws -> (TransportCipher, TransportCipher) {
    let a = try NoiseHandshake(role: .initiator, pattern: .XX, identity: Identity.fromSeed([UInt8](repeating: 3, count: 32)))
    let b = try NoiseHandshake(role: .responder, pattern: .XX, identity: Identity.fromSeed([UInt8](repeating: 4, count: 32)))
    _ = try b.readMessage(try a.writeMessage())
    _ = try a.readMessage(try b.writeMessage())
    _ = try b.readMessage(try a.writeMessage())
    return (a.transportCipher(rekeyInterval: rekeyInterval),
            b.transportCipher(rekeyInterval: responderInterval ?? rekeyInterval))
}

@Suite struct TransportCipherTests {
    @Test func sealAndOpenAcrossNoiseMessageBoundaries() throws {
        let (a, b) = try session()
        let m = TransportCipher.maxPlaintextLength
        for length in [0, 1, m - 1, m, m + 1, 2 * m, 2 * m + 5, 1 << 20] {
            let plaintext = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 7) }
            let body = try a.seal(plaintext)
            #expect(body.count == TransportCipher.sealedLength(plaintextLength: length), "length \(length)")
            #expect(try b.open(body) == plaintext, "length \(length)")
        }
        #expect(TransportCipher.sealedLength(plaintextLength: 1 << 20) == 1_048_848)
    }

    @Test func replayedOrTamperedMessagesEndTheSession() throws {
        let (a, b) = try session()
        let first = try a.encrypt([1, 2, 3])
        #expect(try b.decrypt(first) == [1, 2, 3])
        let replay = #expect(throws: CryptoError.self) { try b.decrypt(first) }
        #expect(replay?.code == .decryptFailed)
        // Once failed, even a genuine next message is refused.
        let second = try a.encrypt([4])
        #expect(throws: CryptoError.self) { try b.decrypt(second) }

        let (c, d) = try session()
        var tampered = try c.encrypt([9, 9, 9])
        tampered[1] ^= 1
        #expect(throws: CryptoError.self) { try d.decrypt(tampered) }
        #expect(throws: CryptoError.self) { try d.open([UInt8](repeating: 0, count: 5)) }
    }

    @Test func oversizedMessagesAreRefused() throws {
        let (a, b) = try session()
        #expect(throws: CryptoError.self) { try a.encrypt([UInt8](repeating: 0, count: TransportCipher.maxPlaintextLength + 1)) }
        #expect(throws: CryptoError.self) { try b.decrypt([UInt8](repeating: 0, count: Noise.maxMessageLength + 1)) }
        #expect(throws: CryptoError.self) { try b.open([]) }
    }

    @Test func rekeyEveryIntervalKeepsBothSidesInStep() throws {
        let (a, b) = try session(rekeyInterval: 3)
        for n in 0..<10 {
            #expect(try b.decrypt(try a.encrypt([UInt8(n)])) == [UInt8(n)])
            #expect(try a.decrypt(try b.encrypt([UInt8(n)])) == [UInt8(n)])
        }
        #expect(a.messagesSent == 10 && b.messagesReceived == 10)
        a.rekeyNow()
        b.rekeyNow()
        #expect(try b.decrypt(try a.encrypt([42])) == [42])
    }

    @Test func rekeyMismatchIsDetected() throws {
        let (a, b) = try session(rekeyInterval: 2, responderInterval: 0)
        #expect(try b.decrypt(try a.encrypt([1])) == [1])
        #expect(try b.decrypt(try a.encrypt([2])) == [2])
        // a rekeyed after its second message, b did not.
        #expect(throws: CryptoError.self) { try b.decrypt(try a.encrypt([3])) }
    }

    @Test func rekeyMatchesTheSpecDefinition() throws {
        let key = [UInt8](repeating: 5, count: 32)
        var core = CipherCore(key: key)
        core.rekey()
        let expected = Array(Noise.encrypt(key: key, nonce: .max, ad: [], plaintext: [UInt8](repeating: 0, count: 32))[0..<32])
        #expect(core.key?.bytes == expected)
        #expect(core.nonce == 0)
    }

    @Test func theReservedNonceIsNeverUsed() throws {
        let send = CipherState(core: CipherCore(key: [UInt8](repeating: 6, count: 32)))
        send.core.setNonce(.max - 1)
        _ = try send.encrypt([1])
        let error = #expect(throws: CryptoError.self) { try send.encrypt([2]) }
        #expect(error?.code == .nonceExhausted)
        let receive = CipherState(core: CipherCore(key: [UInt8](repeating: 6, count: 32)))
        receive.core.setNonce(.max)
        #expect(throws: CryptoError.self) { try receive.decrypt([UInt8](repeating: 0, count: 16)) }
    }
}

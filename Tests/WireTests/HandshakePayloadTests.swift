import HearthCrypto
import Testing
@testable import Wire

@Suite struct HandshakePayloadTests {
    @Test func payloadMapsTheNoiseStaticKeyToTheDevice() throws {
        let alice = Identity.fromSeed([UInt8](repeating: 1, count: 32))
        let bob = Identity.fromSeed([UInt8](repeating: 2, count: 32))
        let mallory = Identity.fromSeed([UInt8](repeating: 3, count: 32))
        let a = try NoiseHandshake(role: .initiator, pattern: .XX, identity: alice)
        let b = try NoiseHandshake(role: .responder, pattern: .XX, identity: bob)
        _ = try b.readMessage(try a.writeMessage())
        let fromBob = try a.readMessage(try b.writeMessage(HandshakePayload(identity: bob).encoded()))
        let fromAlice = try b.readMessage(try a.writeMessage(HandshakePayload(identity: alice).encoded()))

        #expect(try HandshakePayload(decoding: fromBob).verifiedDevice(of: a) == bob.deviceID)
        #expect(try HandshakePayload(decoding: fromAlice).verifiedDevice(of: b) == alice.deviceID)
        // Claiming someone else's identity over your own static key is refused.
        #expect(throws: WireError.self) { try HandshakePayload(identity: mallory).verifiedDevice(of: b) }
    }

    @Test func malformedPayloadsAreRefused() throws {
        let key = [UInt8](repeating: 4, count: 32)
        #expect(HandshakePayload(ed25519PublicKey: key).encoded() == [0, 1] + key)
        #expect(throws: WireError.self) { try HandshakePayload(decoding: [0, 2] + key) }
        #expect(throws: WireError.self) { try HandshakePayload(decoding: [0, 1] + key.dropLast()) }
        #expect(throws: WireError.self) { try HandshakePayload(decoding: [0, 1] + key + [0]) }
        #expect(throws: WireError.self) { try HandshakePayload(decoding: []) }
    }
}

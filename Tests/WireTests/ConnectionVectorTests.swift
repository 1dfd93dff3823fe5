import Foundation
import Testing
@testable import HearthCrypto
@testable import Wire

/// `protocol/vectors/transport.json`: whole connections (framing, handshake with identity
/// payloads, sealed transport messages, a rekey) produced by an independent implementation.
@Suite struct ConnectionVectorTests {
    struct File: Decodable {
        struct Connection: Decodable {
            struct Transport: Decodable {
                let sender: String
                let skip_empty_noise_messages: Int
                let plaintext_length: Int
                let frame: String?
                let frame_prefix: String?
                let frame_blake2b256: String?
            }
            let name: String
            let protocol_name: String
            let prologue: String
            let psk: String?
            let initiator_ed25519_seed: String
            let responder_ed25519_seed: String
            let initiator_ephemeral: String
            let responder_ephemeral: String
            let handshake_frames: [String]
            let handshake_hash: String
            let transport: [Transport]
        }
        let connections: [Connection]
    }

    /// Decodes exactly one frame from `bytes`, as a receiver would.
    private func unframe(_ bytes: [UInt8], maxBodyLength: Int = Framing.defaultMaxBodyLength) throws -> [UInt8] {
        var decoder = FrameDecoder(maxBodyLength: maxBodyLength)
        let frames = try decoder.feed(bytes)
        try decoder.finish()
        try #require(frames.count == 1)
        return frames[0]
    }

    @Test func connectionVectors() throws {
        let file = try JSONDecoder().decode(File.self, from: protocolVector("transport.json"))
        #expect(file.connections.count == 2)
        for c in file.connections { try run(c) }
    }

    private func run(_ c: File.Connection) throws {
        let pattern = try NoisePattern(protocolName: c.protocol_name)
        let alice = Identity.fromSeed(hexBytes(c.initiator_ed25519_seed))
        let bob = Identity.fromSeed(hexBytes(c.responder_ed25519_seed))
        let psk = c.psk.map(hexBytes)
        let a = try NoiseHandshake(role: .initiator, pattern: pattern, identity: alice, prologue: hexBytes(c.prologue), psk: psk)
        let b = try NoiseHandshake(role: .responder, pattern: pattern, identity: bob, prologue: hexBytes(c.prologue), psk: psk)
        a.useEphemeral(try NoiseKeyPair(secretKey: hexBytes(c.initiator_ephemeral)))
        b.useEphemeral(try NoiseKeyPair(secretKey: hexBytes(c.responder_ephemeral)))
        let hs = Framing.maxHandshakeBodyLength
        #expect(hexBytes(c.prologue) == HandshakePayload.prologue)

        let f1 = try Framing.encode(try a.writeMessage(), maxBodyLength: hs)
        #expect(Hex.encode(f1) == c.handshake_frames[0], "\(c.name) handshake frame 1")
        #expect(try b.readMessage(try unframe(f1, maxBodyLength: hs)) == [])

        let f2 = try Framing.encode(try b.writeMessage(HandshakePayload(identity: bob).encoded()), maxBodyLength: hs)
        #expect(Hex.encode(f2) == c.handshake_frames[1], "\(c.name) handshake frame 2")
        let bobPayload = try HandshakePayload(decoding: try a.readMessage(try unframe(f2, maxBodyLength: hs)))
        #expect(try bobPayload.verifiedDevice(of: a) == bob.deviceID)

        let f3 = try Framing.encode(try a.writeMessage(HandshakePayload(identity: alice).encoded()), maxBodyLength: hs)
        #expect(Hex.encode(f3) == c.handshake_frames[2], "\(c.name) handshake frame 3")
        let alicePayload = try HandshakePayload(decoding: try b.readMessage(try unframe(f3, maxBodyLength: hs)))
        #expect(try alicePayload.verifiedDevice(of: b) == alice.deviceID)
        #expect(Hex.encode(a.handshakeHash) == c.handshake_hash && b.handshakeHash == a.handshakeHash)

        let ciphers = ["initiator": a.transportCipher(), "responder": b.transportCipher()]
        for (i, t) in c.transport.enumerated() {
            let tx = ciphers[t.sender]!, rx = ciphers[t.sender == "initiator" ? "responder" : "initiator"]!
            for _ in 0..<t.skip_empty_noise_messages { _ = try rx.decrypt(try tx.encrypt([])) }
            let plaintext = (0..<t.plaintext_length).map { UInt8(truncatingIfNeeded: $0 &* 7) }
            let frame = try Framing.encode(try tx.seal(plaintext))
            if let hex = t.frame {
                #expect(Hex.encode(frame) == hex, "\(c.name) transport \(i)")
            } else {
                #expect(Hex.encode(frame.prefix(64)) == t.frame_prefix, "\(c.name) transport \(i)")
                #expect(Blake2b.hash256(frame).hex == t.frame_blake2b256, "\(c.name) transport \(i)")
            }
            #expect(try rx.open(try unframe(frame)) == plaintext, "\(c.name) transport \(i)")
        }
    }
}

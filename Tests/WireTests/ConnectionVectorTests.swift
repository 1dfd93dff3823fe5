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
            /// The pairing connection: the name message 3 carries, and other message 3s.
            let joiner_name: String?
            let message3_cases: [Message3Case]?
        }
        struct Message3Case: Decodable {
            let name: String
            let payload: String
            let frame: String
            let device_name: String?
            let verdict: String
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

    /// The pairing connection's other message 3s (`message3_cases`): each payload decodes to its
    /// name or is refused, as the vector says. `HandshakeTests` runs the same frames through the
    /// responder's state machine.
    @Test func pairingMessage3Cases() throws {
        let file = try JSONDecoder().decode(File.self, from: protocolVector("transport.json"))
        let c = try #require(file.connections.first { $0.psk != nil })
        let cases = try #require(c.message3_cases)
        #expect(cases.count >= 8 && Set(cases.map(\.verdict)) == ["accept", "refuse"])
        let alice = Identity.fromSeed(hexBytes(c.initiator_ed25519_seed))
        let bob = Identity.fromSeed(hexBytes(c.responder_ed25519_seed))
        let hs = Framing.maxHandshakeBodyLength
        for k in cases {
            let b = try NoiseHandshake(role: .responder, pattern: .XXpsk3, identity: bob, prologue: hexBytes(c.prologue),
                                       psk: c.psk.map(hexBytes))
            b.useEphemeral(try NoiseKeyPair(secretKey: hexBytes(c.responder_ephemeral)))
            _ = try b.readMessage(try unframe(hexBytes(c.handshake_frames[0]), maxBodyLength: hs))
            #expect(Hex.encode(try Framing.encode(try b.writeMessage(HandshakePayload(identity: bob).encoded()), maxBodyLength: hs))
                    == c.handshake_frames[1])
            let payload = try b.readMessage(try unframe(hexBytes(k.frame), maxBodyLength: hs))
            #expect(Hex.encode(payload) == k.payload, "\(k.name)")
            switch (k.verdict, Result { try PairingPayload(decoding: payload) }) {
            case ("accept", .success(let p)):
                #expect(p.name == k.device_name && p.identity == HandshakePayload(identity: alice), "\(k.name)")
                #expect(p.encoded() == payload, "\(k.name) re-encodes")
            case ("refuse", .failure):
                #expect(k.device_name == nil, "\(k.name)")
            case (let v, let r):
                Issue.record("\(k.name): the vector says \(v), the decoder gave \(r)")
            }
        }
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

        // Message 3: the identity; on the pairing connection followed by the joiner's name (SPEC 3.1).
        let m3 = psk == nil ? HandshakePayload(identity: alice).encoded()
            : PairingPayload(identity: HandshakePayload(identity: alice), name: try #require(c.joiner_name)).encoded()
        let f3 = try Framing.encode(try a.writeMessage(m3), maxBodyLength: hs)
        #expect(Hex.encode(f3) == c.handshake_frames[2], "\(c.name) handshake frame 3")
        let read3 = try b.readMessage(try unframe(f3, maxBodyLength: hs))
        let alicePayload = psk == nil ? try HandshakePayload(decoding: read3) : try PairingPayload(decoding: read3).identity
        #expect(try alicePayload.verifiedDevice(of: b) == alice.deviceID)
        if psk != nil { #expect(try PairingPayload(decoding: read3).name == c.joiner_name) }
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

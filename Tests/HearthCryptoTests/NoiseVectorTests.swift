import Foundation
import Testing
@testable import HearthCrypto

/// The public cacophony vectors for `*_25519_ChaChaPoly_BLAKE2b`
/// (format: https://github.com/noiseprotocol/noise_wiki/wiki/Test-vectors).
struct CacophonyFile: Decodable {
    struct Vector: Decodable {
        struct Message: Decodable { let payload: String; let ciphertext: String }
        let protocol_name: String
        let init_prologue: String
        let init_static: String?
        let init_ephemeral: String
        let init_remote_static: String?
        let init_psks: [String]?
        let resp_prologue: String
        let resp_static: String?
        let resp_ephemeral: String?
        let resp_remote_static: String?
        let resp_psks: [String]?
        let handshake_hash: String?
        let messages: [Message]
    }
    let vectors: [Vector]

    static let name = "noise-cacophony-25519-ChaChaPoly-BLAKE2b.json"

    /// `HEARTH_VECTORS` (a file or a folder) or `../shared/vectors` beside the package root; nil
    /// when neither holds the file (the test is then reported skipped).
    static let location: URL? = {
        var candidates = [URL]()
        if let env = ProcessInfo.processInfo.environment["HEARTH_VECTORS"] {
            let url = URL(fileURLWithPath: env)
            candidates += [url, url.appendingPathComponent(name)]
        }
        let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        candidates.append(packageRoot.deletingLastPathComponent().appendingPathComponent("shared/vectors/\(name)"))
        return candidates.first { url in
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) && !isDirectory.boolValue
        }
    }()

    static func load(_ url: URL) throws -> CacophonyFile {
        try JSONDecoder().decode(CacophonyFile.self, from: Data(contentsOf: url))
    }
}

func hex(_ s: String) -> [UInt8] { Hex.decode(s)! }

@Suite struct NoiseVectorTests {
    @Test(.enabled(if: CacophonyFile.location != nil,
                   "no cacophony vectors (set HEARTH_VECTORS or put \(CacophonyFile.name) in ../shared/vectors)"))
    func everyCacophonyVectorPasses() throws {
        let file = try CacophonyFile.load(try #require(CacophonyFile.location))
        var covered = [String]()
        for v in file.vectors {
            try run(v)
            covered.append(try NoisePattern(protocolName: v.protocol_name).name)
        }
        print("Noise vectors run: \(covered.count)/\(file.vectors.count): \(covered.sorted().joined(separator: " "))")
        #expect(covered.count == file.vectors.count)
    }

    private func run(_ v: CacophonyFile.Vector) throws {
        let pattern = try NoisePattern(protocolName: v.protocol_name)
        let initiator = try NoiseHandshake(
            role: .initiator, pattern: pattern,
            staticKey: try v.init_static.map { try NoiseKeyPair(secretKey: hex($0)) },
            remoteStaticKey: v.init_remote_static.map(hex), prologue: hex(v.init_prologue),
            psks: (v.init_psks ?? []).map(hex))
        let responder = try NoiseHandshake(
            role: .responder, pattern: pattern,
            staticKey: try v.resp_static.map { try NoiseKeyPair(secretKey: hex($0)) },
            remoteStaticKey: v.resp_remote_static.map(hex), prologue: hex(v.resp_prologue),
            psks: (v.resp_psks ?? []).map(hex))
        initiator.useEphemeral(try NoiseKeyPair(secretKey: hex(v.init_ephemeral)))
        if let e = v.resp_ephemeral { responder.useEphemeral(try NoiseKeyPair(secretKey: hex(e))) }

        var ciphers: (initiator: TransportCipher, responder: TransportCipher)?
        for (i, m) in v.messages.enumerated() {
            let fromInitiator = pattern.isOneWay || i % 2 == 0
            let payload = hex(m.payload)
            if let c = ciphers {
                let (tx, rx) = fromInitiator ? (c.initiator, c.responder) : (c.responder, c.initiator)
                let sent = try tx.encrypt(payload)
                #expect(Hex.encode(sent) == m.ciphertext, "\(v.protocol_name) transport message \(i)")
                #expect(try rx.decrypt(sent) == payload)
                continue
            }
            let (writer, reader) = fromInitiator ? (initiator, responder) : (responder, initiator)
            #expect(writer.isMyTurnToWrite && !reader.isMyTurnToWrite)
            let sent = try writer.writeMessage(payload)
            #expect(Hex.encode(sent) == m.ciphertext, "\(v.protocol_name) handshake message \(i)")
            #expect(try reader.readMessage(sent) == payload)
            if initiator.isComplete {
                #expect(responder.isComplete)
                if let h = v.handshake_hash {
                    #expect(Hex.encode(initiator.handshakeHash) == h, "\(v.protocol_name) handshake hash")
                    #expect(responder.handshakeHash == initiator.handshakeHash)
                }
                ciphers = (initiator.transportCipher(rekeyInterval: 0), responder.transportCipher(rekeyInterval: 0))
            }
        }
        #expect(ciphers != nil, "\(v.protocol_name): vector ended before the handshake completed")
        if let s = v.init_static, pattern.messages.joined().contains(.s) || !pattern.initiatorPreMessage.isEmpty {
            #expect(responder.remoteStaticKey == (try NoiseKeyPair(secretKey: hex(s))).publicKey)
        }
    }
}

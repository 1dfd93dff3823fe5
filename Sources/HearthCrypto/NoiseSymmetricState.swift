/// The Noise SymmetricState (§5.2): chaining key, handshake hash and the handshake cipher.
struct SymmetricState: Sendable {
    private(set) var cipher = CipherCore()
    private var chainingKey: SecretBytes
    private(set) var handshakeHash: [UInt8]

    /// InitializeSymmetric(protocol_name).
    init(protocolName: String) {
        let name = Array(protocolName.utf8)
        if name.count <= Noise.hashLength {
            handshakeHash = name + [UInt8](repeating: 0, count: Noise.hashLength - name.count)
        } else {
            handshakeHash = Noise.hash(name)
        }
        chainingKey = SecretBytes(handshakeHash)
    }

    mutating func mixKey(_ inputKeyMaterial: [UInt8]) {
        var out = Noise.hkdf(chainingKey: chainingKey.bytes, inputKeyMaterial: inputKeyMaterial, outputs: 2)
        chainingKey = SecretBytes(out[0])
        cipher.initializeKey(Array(out[1][0..<Noise.keyLength]))
        for i in out.indices { secureZero(&out[i]) }
    }

    mutating func mixHash(_ data: [UInt8]) {
        handshakeHash = Noise.hash(handshakeHash, data)
    }

    /// MixKeyAndHash(psk): the PSK feeds both the key and the transcript.
    mutating func mixKeyAndHash(_ inputKeyMaterial: [UInt8]) {
        var out = Noise.hkdf(chainingKey: chainingKey.bytes, inputKeyMaterial: inputKeyMaterial, outputs: 3)
        chainingKey = SecretBytes(out[0])
        mixHash(out[1])
        cipher.initializeKey(Array(out[2][0..<Noise.keyLength]))
        for i in out.indices { secureZero(&out[i]) }
    }

    mutating func encryptAndHash(_ plaintext: [UInt8]) throws -> [UInt8] {
        let ciphertext = try cipher.encrypt(ad: handshakeHash, plaintext: plaintext)
        mixHash(ciphertext)
        return ciphertext
    }

    mutating func decryptAndHash(_ ciphertext: [UInt8]) throws -> [UInt8] {
        let plaintext = try cipher.decrypt(ad: handshakeHash, ciphertext: ciphertext)
        mixHash(ciphertext)
        return plaintext
    }

    /// Split(): the two transport ciphers, initiator-to-responder first.
    func split() -> (CipherCore, CipherCore) {
        var out = Noise.hkdf(chainingKey: chainingKey.bytes, inputKeyMaterial: [], outputs: 2)
        let c1 = CipherCore(key: Array(out[0][0..<Noise.keyLength]))
        let c2 = CipherCore(key: Array(out[1][0..<Noise.keyLength]))
        for i in out.indices { secureZero(&out[i]) }
        return (c1, c2)
    }
}

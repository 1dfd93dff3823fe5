/// The value core of a Noise CipherState (§5.1): a key (or none) and a nonce counter.
/// Handshake code copies it freely; anything handed to callers wraps it in a reference
/// (`CipherState`, `TransportCipher`) so that a copy can never reuse a nonce.
struct CipherCore: Sendable {
    private(set) var key: SecretBytes?
    private(set) var nonce: UInt64 = 0

    /// The nonce 2^64-1 is reserved for rekeying and is never used for a message.
    static let reservedNonce = UInt64.max

    init(key: [UInt8]? = nil) {
        self.key = key.map(SecretBytes.init)
    }

    var hasKey: Bool { key != nil }

    mutating func initializeKey(_ newKey: [UInt8]) {
        precondition(newKey.count == Noise.keyLength)
        key = SecretBytes(newKey)
        nonce = 0
    }

    /// The nonce of the next message; 2^64-1 is never used (`sending` only words the error).
    private func nextNonce(sending: Bool) throws -> UInt64 {
        guard nonce < Self.reservedNonce else {
            throw CryptoError(.nonceExhausted, "cipher has \(sending ? "sent" : "received") 2^64-1 messages; start a new session")
        }
        return nonce
    }

    mutating func encrypt(ad: [UInt8], plaintext: [UInt8]) throws -> [UInt8] {
        guard let key else { return plaintext }
        let out = Noise.encrypt(key: key.bytes, nonce: try nextNonce(sending: true), ad: ad, plaintext: plaintext)
        nonce += 1
        return out
    }

    /// Encrypts into `out` (room for `plaintext.count + tagLength` bytes); needs a key.
    mutating func encrypt(plaintext: UnsafeRawBufferPointer, into out: UnsafeMutableRawPointer) throws {
        guard let key else { preconditionFailure("transport encryption without a key") }
        Noise.encrypt(key: key.bytes, nonce: try nextNonce(sending: true), ad: [], plaintext: plaintext, into: out)
        nonce += 1
    }

    /// Decrypts into `out` (room for `ciphertext.count - tagLength` bytes); needs a key.
    /// On an authentication failure the nonce is not advanced (§5.1).
    mutating func decrypt(ciphertext: UnsafeRawBufferPointer, into out: UnsafeMutableRawPointer) throws {
        guard let key else { preconditionFailure("transport decryption without a key") }
        let n = try nextNonce(sending: false)
        guard ciphertext.count >= Noise.tagLength else {
            throw CryptoError(.decryptFailed, "encrypted message of \(ciphertext.count) bytes is shorter than its \(Noise.tagLength)-byte tag")
        }
        try Noise.decrypt(key: key.bytes, nonce: n, ad: [], ciphertext: ciphertext, into: out)
        nonce += 1
    }

    /// On an authentication failure the nonce is not advanced (§5.1).
    mutating func decrypt(ad: [UInt8], ciphertext: [UInt8]) throws -> [UInt8] {
        guard let key else { return ciphertext }
        let out = try Noise.decrypt(key: key.bytes, nonce: try nextNonce(sending: false), ad: ad, ciphertext: ciphertext)
        nonce += 1
        return out
    }

    /// REKEY(k): the first 32 bytes of ENCRYPT(k, 2^64-1, "", 32 zero bytes); the nonce is kept (§4.2, §11.3).
    mutating func rekey() {
        guard let key else { return }
        let zeros = [UInt8](repeating: 0, count: Noise.keyLength)
        var next = Noise.encrypt(key: key.bytes, nonce: Self.reservedNonce, ad: [], plaintext: zeros)
        self.key = SecretBytes(Array(next[0..<Noise.keyLength]))
        secureZero(&next)
    }

    /// Test hook for the nonce-exhaustion rule (Noise's SetNonce, §5.1).
    mutating func setNonce(_ n: UInt64) { nonce = n }
}

/// A Noise CipherState after `split()`: one direction of a session.
///
/// A reference type on purpose: two copies of a cipher would encrypt two messages under
/// the same nonce. Not `Sendable`; keep it on the connection's event loop.
public final class CipherState {
    var core: CipherCore

    init(core: CipherCore) { self.core = core }

    /// Messages processed so far in this direction (the next nonce).
    public var nonce: UInt64 { core.nonce }

    /// EncryptWithAd: ciphertext ‖ 16-byte tag. Throws `.nonceExhausted` at the reserved nonce.
    public func encrypt(_ plaintext: [UInt8], ad: [UInt8] = []) throws -> [UInt8] {
        try core.encrypt(ad: ad, plaintext: plaintext)
    }

    /// DecryptWithAd: throws `.decryptFailed` for a tampered or misordered message.
    public func decrypt(_ ciphertext: [UInt8], ad: [UInt8] = []) throws -> [UInt8] {
        try core.decrypt(ad: ad, ciphertext: ciphertext)
    }

    /// Replaces the key with REKEY(k); both ends must rekey at the same message.
    public func rekey() { core.rekey() }
}

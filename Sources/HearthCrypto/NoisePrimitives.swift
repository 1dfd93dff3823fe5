internal import CSodium

/// Secret bytes (keys, chaining keys) that are zeroed with `sodium_memzero` when released
/// and never printed. Immutable once made, so value types can share one safely.
final class SecretBytes: @unchecked Sendable, CustomStringConvertible {
    private var storage: [UInt8]
    init(_ bytes: [UInt8]) { storage = bytes }
    deinit { secureZero(&storage) }
    var bytes: [UInt8] { storage }
    var description: String { "SecretBytes(\(storage.count) bytes, redacted)" }
}

/// An X25519 key pair for Noise (`crypto_scalarmult_base`). The secret half is zeroed on release.
public struct NoiseKeyPair: Sendable, CustomStringConvertible {
    public let publicKey: [UInt8]
    let secret: SecretBytes

    /// Wraps a 32-byte X25519 secret key and derives its public key.
    public init(secretKey: [UInt8]) throws {
        guard secretKey.count == Noise.dhLength else {
            throw CryptoError(.badKey, "X25519 secret key must be \(Noise.dhLength) bytes, got \(secretKey.count)")
        }
        Sodium.ensure()
        var pk = [UInt8](repeating: 0, count: Noise.dhLength)
        guard crypto_scalarmult_base(&pk, secretKey) == 0 else {
            throw CryptoError(.badKey, "X25519 secret key gives no usable public key")
        }
        publicKey = pk
        secret = SecretBytes(secretKey)
    }

    /// The Noise static key of a device: the X25519 form of its Ed25519 identity.
    public init(identity: Identity) {
        var sk = identity.curve25519SecretKey()
        defer { secureZero(&sk) }
        // The converted key of a valid Ed25519 identity is always a usable X25519 key.
        try! self.init(secretKey: sk)
    }

    /// A fresh random key pair (`randombytes_buf` + `crypto_scalarmult_base`).
    public static func generate() -> NoiseKeyPair {
        var sk = secureRandomBytes(Noise.dhLength)
        defer { secureZero(&sk) }
        return try! NoiseKeyPair(secretKey: sk)
    }

    public var description: String { "NoiseKeyPair(public: \(Hex.encode(publicKey)))" }
}

/// The `25519_ChaChaPoly_BLAKE2b` functions of the Noise Protocol Framework (revision 34, §4).
public enum Noise {
    public static let dhLength = 32
    public static let hashLength = 64
    public static let keyLength = 32
    public static let tagLength = 16
    /// Largest Noise message, handshake or transport (§3).
    public static let maxMessageLength = 65535
    static let blockLength = 128

    /// DH(key_pair, public_key) with `crypto_scalarmult`; refuses low-order points (all-zero output).
    static func dh(_ keyPair: NoiseKeyPair, _ publicKey: [UInt8]) throws -> [UInt8] {
        guard publicKey.count == dhLength else {
            throw CryptoError(.badKey, "X25519 public key must be \(dhLength) bytes, got \(publicKey.count)")
        }
        Sodium.ensure()
        var out = [UInt8](repeating: 0, count: dhLength)
        let rc = keyPair.secret.bytes.withUnsafeBufferPointer { sk in
            crypto_scalarmult(&out, sk.baseAddress!, publicKey)
        }
        guard rc == 0 else { throw CryptoError(.badKey, "peer sent a low-order X25519 public key") }
        return out
    }

    /// HASH(data): BLAKE2b-512.
    static func hash(_ parts: [UInt8]...) -> [UInt8] {
        var h = Blake2b(outputLength: hashLength)
        for p in parts { h.update(p) }
        return h.finalize()
    }

    /// HMAC-BLAKE2b per RFC 2104 with a 128-byte block. libsodium's keyed BLAKE2b is a
    /// different MAC, so this builds HMAC from plain `crypto_generichash`.
    static func hmac(key: [UInt8], _ parts: [UInt8]...) -> [UInt8] {
        var k = key.count > blockLength ? hash(key) : key
        k += [UInt8](repeating: 0, count: blockLength - k.count)
        defer { secureZero(&k) }
        var ipad = k.map { $0 ^ 0x36 }
        var opad = k.map { $0 ^ 0x5c }
        defer { secureZero(&ipad); secureZero(&opad) }
        var inner = Blake2b(outputLength: hashLength)
        inner.update(ipad)
        for p in parts { inner.update(p) }
        var innerDigest = inner.finalize()
        defer { secureZero(&innerDigest) }
        var outer = Blake2b(outputLength: hashLength)
        outer.update(opad)
        outer.update(innerDigest)
        return outer.finalize()
    }

    /// HKDF(chaining_key, input_key_material, num_outputs) as defined in Noise §4.3.
    static func hkdf(chainingKey: [UInt8], inputKeyMaterial: [UInt8], outputs: Int) -> [[UInt8]] {
        precondition((2...3).contains(outputs))
        var tempKey = hmac(key: chainingKey, inputKeyMaterial)
        defer { secureZero(&tempKey) }
        let out1 = hmac(key: tempKey, [0x01])
        let out2 = hmac(key: tempKey, out1, [0x02])
        if outputs == 2 { return [out1, out2] }
        return [out1, out2, hmac(key: tempKey, out2, [0x03])]
    }

    /// The 96-bit ChaChaPoly nonce: 32 zero bits then the 64-bit counter, little-endian.
    static func nonceBytes(_ n: UInt64) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 12)
        for i in 0..<8 { out[4 + i] = UInt8(truncatingIfNeeded: n >> (8 * UInt64(i))) }
        return out
    }

    /// ENCRYPT(k, n, ad, plaintext): `crypto_aead_chacha20poly1305_ietf_encrypt`.
    static func encrypt(key: [UInt8], nonce: UInt64, ad: [UInt8], plaintext: [UInt8]) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: plaintext.count + tagLength) { out, count in
            plaintext.withUnsafeBytes { m in
                encrypt(key: key, nonce: nonce, ad: ad, plaintext: m, into: UnsafeMutableRawPointer(out.baseAddress!))
            }
            count = plaintext.count + tagLength
        }
    }

    /// ENCRYPT into `out`, which has room for `plaintext.count + tagLength` bytes.
    static func encrypt(key: [UInt8], nonce: UInt64, ad: [UInt8], plaintext: UnsafeRawBufferPointer,
                        into out: UnsafeMutableRawPointer) {
        Sodium.ensure()
        var outLength: UInt64 = 0
        let npub = nonceBytes(nonce)
        ad.withUnsafeBufferPointer { a in
            _ = crypto_aead_chacha20poly1305_ietf_encrypt(
                out.assumingMemoryBound(to: UInt8.self), &outLength,
                plaintext.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(plaintext.count),
                a.baseAddress, UInt64(a.count), nil, npub, key)
        }
    }

    /// DECRYPT(k, n, ad, ciphertext): `crypto_aead_chacha20poly1305_ietf_decrypt`.
    static func decrypt(key: [UInt8], nonce: UInt64, ad: [UInt8], ciphertext: [UInt8]) throws -> [UInt8] {
        guard ciphertext.count >= tagLength else {
            throw CryptoError(.decryptFailed, "encrypted message of \(ciphertext.count) bytes is shorter than its \(tagLength)-byte tag")
        }
        // Capacity at least 1 so the buffer has an address even for an empty plaintext.
        return try [UInt8](unsafeUninitializedCapacity: max(1, ciphertext.count - tagLength)) { out, count in
            try ciphertext.withUnsafeBytes { c in
                try decrypt(key: key, nonce: nonce, ad: ad, ciphertext: c, into: UnsafeMutableRawPointer(out.baseAddress!))
            }
            count = ciphertext.count - tagLength
        }
    }

    /// DECRYPT into `out`, which has room for `ciphertext.count - tagLength` bytes; the caller
    /// has checked that the ciphertext holds at least a tag.
    static func decrypt(key: [UInt8], nonce: UInt64, ad: [UInt8], ciphertext: UnsafeRawBufferPointer,
                        into out: UnsafeMutableRawPointer) throws {
        precondition(ciphertext.count >= tagLength)
        Sodium.ensure()
        var outLength: UInt64 = 0
        let npub = nonceBytes(nonce)
        let rc = ad.withUnsafeBufferPointer { a in
            crypto_aead_chacha20poly1305_ietf_decrypt(
                out.assumingMemoryBound(to: UInt8.self), &outLength, nil,
                ciphertext.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt64(ciphertext.count),
                a.baseAddress, UInt64(a.count), npub, key)
        }
        guard rc == 0 else {
            throw CryptoError(.decryptFailed, "message failed authentication (tampered, truncated or wrong key)")
        }
    }
}

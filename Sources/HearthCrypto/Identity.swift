internal import CSodium

/// An Ed25519 secret key (`crypto_sign_*`). Zeroed on deinit, never printed.
public final class SecretKey: @unchecked Sendable, CustomStringConvertible {
    fileprivate var bytes: [UInt8]
    init(_ bytes: [UInt8]) { self.bytes = bytes }
    deinit { secureZero(&bytes) }
    public var description: String { "SecretKey(redacted)" }
    /// The raw 64-byte libsodium secret key, for writing the identity file only.
    public func exportBytes() -> [UInt8] { bytes }
}

/// A device's long-term identity: one Ed25519 key pair. Its X25519 form is the Noise
/// static key; its device id is derived from the public key.
public struct Identity: Sendable {
    public let publicKey: [UInt8]
    public let secretKey: SecretKey

    /// A fresh random key pair (`crypto_sign_keypair`).
    public static func generate() -> Identity {
        Sodium.ensure()
        var pk = [UInt8](repeating: 0, count: Int(crypto_sign_publickeybytes()))
        var sk = [UInt8](repeating: 0, count: Int(crypto_sign_secretkeybytes()))
        _ = crypto_sign_keypair(&pk, &sk)
        return Identity(publicKey: pk, secretKey: SecretKey(sk))
    }

    /// Deterministic key pair from a 32-byte seed (`crypto_sign_seed_keypair`): simulations and tests.
    public static func fromSeed(_ seed: [UInt8]) -> Identity {
        precondition(seed.count == 32)
        Sodium.ensure()
        var pk = [UInt8](repeating: 0, count: Int(crypto_sign_publickeybytes()))
        var sk = [UInt8](repeating: 0, count: Int(crypto_sign_secretkeybytes()))
        _ = crypto_sign_seed_keypair(&pk, &sk, seed)
        return Identity(publicKey: pk, secretKey: SecretKey(sk))
    }

    /// Restores a key pair from a 64-byte libsodium secret key (the public key is its second half).
    public init(secretKeyBytes sk: [UInt8]) throws {
        guard sk.count == 64 else { throw CryptoError(.badKey, "secret key must be 64 bytes, got \(sk.count)") }
        self.publicKey = Array(sk[32..<64])
        self.secretKey = SecretKey(sk)
    }

    init(publicKey: [UInt8], secretKey: SecretKey) {
        self.publicKey = publicKey
        self.secretKey = secretKey
    }

    public var deviceID: DeviceID { DeviceID(publicKey: publicKey) }

    /// Detached Ed25519 signature (`crypto_sign_detached`), 64 bytes.
    public func sign(_ message: [UInt8]) -> [UInt8] {
        var sig = [UInt8](repeating: 0, count: Int(crypto_sign_bytes()))
        message.withUnsafeBufferPointer { m in
            _ = crypto_sign_detached(&sig, nil, m.baseAddress, UInt64(m.count), secretKey.bytes)
        }
        return sig
    }

    /// Verifies a detached Ed25519 signature (`crypto_sign_verify_detached`).
    public static func verify(signature: [UInt8], message: [UInt8], publicKey: [UInt8]) -> Bool {
        guard signature.count == 64, publicKey.count == 32 else { return false }
        Sodium.ensure()
        return message.withUnsafeBufferPointer { m in
            crypto_sign_verify_detached(signature, m.baseAddress, UInt64(m.count), publicKey) == 0
        }
    }

    /// The X25519 secret key for Noise (`crypto_sign_ed25519_sk_to_curve25519`).
    public func curve25519SecretKey() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        _ = crypto_sign_ed25519_sk_to_curve25519(&out, secretKey.bytes)
        return out
    }

    /// The X25519 public key for Noise (`crypto_sign_ed25519_pk_to_curve25519`).
    public static func curve25519PublicKey(ed25519 pk: [UInt8]) throws -> [UInt8] {
        guard pk.count == 32 else { throw CryptoError(.badKey, "public key must be 32 bytes") }
        Sodium.ensure()
        var out = [UInt8](repeating: 0, count: 32)
        guard crypto_sign_ed25519_pk_to_curve25519(&out, pk) == 0 else {
            throw CryptoError(.badKey, "not a valid Ed25519 public key")
        }
        return out
    }
}

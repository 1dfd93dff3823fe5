internal import CSodium

/// Process-wide libsodium initialisation; `sodium_init()` is safe to call repeatedly
/// but we call it once, lazily, from every entry point that touches libsodium.
enum Sodium {
    static let ready: Bool = {
        let rc = sodium_init()
        precondition(rc >= 0, "sodium_init failed")
        return true
    }()

    @inline(__always) static func ensure() { _ = ready }
}

/// One error type for everything that crosses the libsodium boundary.
public struct CryptoError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Code: String, Sendable {
        case badSignature, badKey, decryptFailed, badLength, handshake, randomness
        /// A Noise cipher has used its last nonce; the session must end.
        case nonceExhausted
    }
    public let code: Code
    public let message: String
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
    public var description: String { "\(code.rawValue): \(message)" }
}

/// Cryptographically secure random bytes (`randombytes_buf`).
public func secureRandomBytes(_ count: Int) -> [UInt8] {
    Sodium.ensure()
    var out = [UInt8](repeating: 0, count: count)
    out.withUnsafeMutableBytes { randombytes_buf($0.baseAddress!, count) }
    return out
}

/// Overwrites secrets in place (`sodium_memzero`); the compiler may not elide it.
public func secureZero(_ bytes: inout [UInt8]) {
    Sodium.ensure()
    bytes.withUnsafeMutableBytes { if let b = $0.baseAddress { sodium_memzero(b, $0.count) } }
}

/// Constant-time comparison (`sodium_memcmp`).
public func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    Sodium.ensure()
    return a.withUnsafeBytes { pa in b.withUnsafeBytes { pb in
        sodium_memcmp(pa.baseAddress!, pb.baseAddress!, a.count) == 0 } }
}

internal import CSodium

/// BLAKE2b (`crypto_generichash`), one-shot and streaming.
///
/// `crypto_generichash_state` is not imported into Swift on this toolchain, so the
/// streaming state is a 64-byte-aligned buffer of `crypto_generichash_statebytes()`.
public struct Blake2b: ~Copyable {
    private let state: UnsafeMutableRawPointer
    private let outputLength: Int

    /// - Parameters:
    ///   - outputLength: 16...64 bytes.
    ///   - key: optional key, 16...64 bytes (keyed BLAKE2b, used as a MAC).
    public init(outputLength: Int = 32, key: [UInt8] = []) {
        precondition((16...64).contains(outputLength) && key.count <= 64)
        Sodium.ensure()
        self.outputLength = outputLength
        state = UnsafeMutableRawPointer.allocate(byteCount: crypto_generichash_statebytes(), alignment: 64)
        let st = OpaquePointer(state)
        key.withUnsafeBufferPointer { k in
            _ = crypto_generichash_init(st, k.isEmpty ? nil : k.baseAddress, k.count, outputLength)
        }
    }

    deinit {
        sodium_memzero(state, crypto_generichash_statebytes())
        state.deallocate()
    }

    public mutating func update(_ data: UnsafeRawBufferPointer) {
        guard data.count > 0 else { return }
        let st = OpaquePointer(state)
        _ = crypto_generichash_update(st, data.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt64(data.count))
    }

    public mutating func update(_ data: [UInt8]) {
        data.withUnsafeBytes { update($0) }
    }

    public consuming func finalize() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: outputLength)
        let st = OpaquePointer(state)
        out.withUnsafeMutableBufferPointer { _ = crypto_generichash_final(st, $0.baseAddress!, outputLength) }
        return out
    }

    /// One-shot BLAKE2b of a buffer.
    public static func hash(_ data: UnsafeRawBufferPointer, outputLength: Int = 32, key: [UInt8] = []) -> [UInt8] {
        Sodium.ensure()
        var out = [UInt8](repeating: 0, count: outputLength)
        out.withUnsafeMutableBufferPointer { o in
            key.withUnsafeBufferPointer { k in
                _ = crypto_generichash(o.baseAddress!, outputLength,
                                       data.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(data.count),
                                       k.isEmpty ? nil : k.baseAddress, k.count)
            }
        }
        return out
    }

    public static func hash(_ data: [UInt8], outputLength: Int = 32, key: [UInt8] = []) -> [UInt8] {
        data.withUnsafeBytes { hash($0, outputLength: outputLength, key: key) }
    }

    /// BLAKE2b-256 as a `Hash256`.
    public static func hash256(_ data: UnsafeRawBufferPointer) -> Hash256 {
        Hash256(unchecked: hash(data))
    }

    public static func hash256(_ data: [UInt8]) -> Hash256 {
        Hash256(unchecked: hash(data))
    }
}

extension Blake2b {
    /// Finishes a 32-byte stream as a `Hash256`.
    public consuming func finalize256() -> Hash256 {
        precondition(outputLength == 32)
        return Hash256(unchecked: finalize())
    }
}

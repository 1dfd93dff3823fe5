import Crypto
import Foundation

/// SHA-1 (swift-crypto's `Insecure.SHA1`), one-shot and streaming. Not a security hash here:
/// it is the checksum Immich clients deduplicate uploads by, stored beside each asset's
/// BLAKE2b id. Content ids stay BLAKE2b.
public struct SHA1 {
    private var hasher = Insecure.SHA1()

    public init() {}

    public mutating func update(_ data: UnsafeRawBufferPointer) {
        guard data.count > 0 else { return }
        hasher.update(bufferPointer: data)
    }

    public mutating func update(_ data: [UInt8]) {
        data.withUnsafeBytes { update($0) }
    }

    /// The 20-byte digest.
    public func finalize() -> [UInt8] { Array(hasher.finalize()) }

    /// The digest as standard base64 (28 characters), the form the catalog stores.
    public func finalizeBase64() -> String { Data(finalize()).base64EncodedString() }

    /// One-shot SHA-1 of a buffer.
    public static func digest(_ data: [UInt8]) -> [UInt8] {
        var h = SHA1()
        h.update(data)
        return h.finalize()
    }

    /// SHA-1 of a file, read in 1 MiB pieces (never whole in memory).
    public static func digest(fileAt path: String) throws -> [UInt8] {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw CryptoError(.badLength, "\(path): cannot be opened for reading")
        }
        defer { try? handle.close() }
        var h = SHA1()
        while true {
            let piece: Data?
            do { piece = try handle.read(upToCount: 1 << 20) } catch {
                throw CryptoError(.badLength, "\(path): \(error.localizedDescription)")
            }
            guard let piece, !piece.isEmpty else { break }
            piece.withUnsafeBytes { h.update($0) }
        }
        return h.finalize()
    }

    /// Base64 of a digest: 28 characters.
    public static func base64(_ digest: [UInt8]) -> String { Data(digest).base64EncodedString() }

    /// Whether `s` is the base64 of a 20-byte digest (what `finalizeBase64` returns).
    public static func isBase64Digest(_ s: String) -> Bool {
        s.utf8.count == 28 && Data(base64Encoded: s)?.count == 20
    }
}

public import HearthCrypto

/// Appends message fields in Hearth's encoding: big-endian fixed-width integers, unsigned
/// LEB128 varints, varint-length-prefixed bytes and UTF-8 strings, raw 32-byte hashes.
/// Limits are the reader's job; the writer only refuses what no reader could accept.
public struct Writer: Sendable {
    public private(set) var bytes: [UInt8] = []

    public init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    public mutating func writeUInt8(_ v: UInt8) { bytes.append(v) }
    public mutating func writeUInt16(_ v: UInt16) { writeBigEndian(UInt64(v), width: 2) }
    public mutating func writeUInt32(_ v: UInt32) { writeBigEndian(UInt64(v), width: 4) }
    public mutating func writeUInt64(_ v: UInt64) { writeBigEndian(v, width: 8) }
    public mutating func writeBool(_ v: Bool) { bytes.append(v ? 1 : 0) }

    private mutating func writeBigEndian(_ v: UInt64, width: Int) {
        for i in stride(from: width - 1, through: 0, by: -1) {
            bytes.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(i))))
        }
    }

    /// Unsigned LEB128, minimal: 7 bits a byte, low bits first, high bit set on all but the last.
    public mutating func writeVarint(_ v: UInt64) {
        var v = v
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    /// Varint length, then the bytes.
    public mutating func writeBytes<C: Collection>(_ b: C) where C.Element == UInt8 {
        writeVarint(UInt64(b.count))
        bytes.append(contentsOf: b)
    }

    /// Varint byte length, then the UTF-8 bytes.
    public mutating func writeString(_ s: String) { writeBytes(s.utf8) }

    /// The 32 bytes of a digest, no length prefix.
    public mutating func writeHash(_ h: Hash256) { bytes += h.bytes }

    /// Bytes as they are, no length prefix (fixed-size fields).
    public mutating func writeRaw<C: Collection>(_ b: C) where C.Element == UInt8 { bytes.append(contentsOf: b) }
}

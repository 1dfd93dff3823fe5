import HearthCrypto

/// Layout of a pack file (all integers little-endian):
///
/// ```
/// pack   = header record*
/// header = "HEARTHPK" (8 bytes) | version u32 = 1 | reserved u32 = 0          16 bytes
/// record = "CHNK" (4 bytes) | length u32 | chunk id (32 bytes) | length bytes
/// ```
///
/// Packs are append-only. The index stores the offset of a record's data; the record header
/// lets `read` check that the index points at the right record, and lets a tool rebuild
/// an index from packs alone.
enum PackFormat {
    static let magic: [UInt8] = Array("HEARTHPK".utf8)
    static let version: UInt32 = 1
    static let headerSize = 16
    static let recordMagic: [UInt8] = Array("CHNK".utf8)
    static let recordHeaderSize = 40
    /// A pack is closed for appends once it reaches this size.
    static let rollSize: Int64 = 512 * 1024 * 1024

    static var header: [UInt8] {
        magic + le32(version) + le32(0)
    }

    static func recordHeader(id: Hash256, length: Int) -> [UInt8] {
        precondition(length <= FastCDC.maxSize)
        return recordMagic + le32(UInt32(length)) + id.bytes
    }

    /// Checks a pack header; nil when fine, otherwise what is wrong.
    static func problem(inHeader h: [UInt8]) -> String? {
        guard h.count == headerSize, Array(h[0..<8]) == magic else { return "not a Hearth pack (bad magic)" }
        let v = readLE32(h, at: 8)
        guard v == version else { return "pack version \(v) is not supported (this build reads version \(version))" }
        return nil
    }

    /// Checks a record header against the index row that led to it.
    static func recordMatches(_ h: UnsafeRawBufferPointer, id: Hash256, length: Int) -> Bool {
        guard h.count >= recordHeaderSize else { return false }
        let bytes = Array(h[0..<recordHeaderSize])
        return Array(bytes[0..<4]) == recordMagic
            && readLE32(bytes, at: 4) == UInt32(length)
            && Array(bytes[8..<40]) == id.bytes
    }

    /// Relative path of a pack: `packs/NN/<16 hex digits>.pack`, NN = low byte of the id.
    static func relativePath(_ id: Int64) -> String {
        "packs/" + directoryName(id) + "/" + fileName(id)
    }

    static func directoryName(_ id: Int64) -> String {
        hex(UInt64(id) & 0xff, digits: 2)
    }

    static func fileName(_ id: Int64) -> String {
        hex(UInt64(id), digits: 16) + ".pack"
    }

    /// Parses a file name made by `fileName`.
    static func packID(fileName name: String) -> Int64? {
        guard name.hasSuffix(".pack"), name.utf8.count == 21 else { return nil }
        guard let v = UInt64(name.prefix(16), radix: 16), v <= UInt64(Int64.max) else { return nil }
        return Int64(v)
    }

    private static func hex(_ v: UInt64, digits: Int) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: max(0, digits - s.count)) + s
    }

    static func le32(_ v: UInt32) -> [UInt8] {
        [UInt8(v & 0xff), UInt8(v >> 8 & 0xff), UInt8(v >> 16 & 0xff), UInt8(v >> 24)]
    }

    static func readLE32(_ b: [UInt8], at i: Int) -> UInt32 {
        UInt32(b[i]) | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2]) << 16 | UInt32(b[i + 3]) << 24
    }
}

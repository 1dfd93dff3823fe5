/// Bounds-checked integer reads over byte slices: every parser here goes through these,
/// so a bad offset in a file yields nil instead of a trap.
extension ArraySlice where Element == UInt8 {
    func u8(_ offset: Int) -> UInt8? {
        let i = startIndex + offset
        guard offset >= 0, i < endIndex else { return nil }
        return self[i]
    }

    func uint(_ offset: Int, _ width: Int, bigEndian: Bool = true) -> UInt64? {
        guard offset >= 0, width >= 0, width <= 8, offset <= count - width else { return nil }
        var value: UInt64 = 0
        let base = startIndex + offset
        for k in 0..<width {
            let byte = UInt64(self[base + (bigEndian ? k : width - 1 - k)])
            value = value << 8 | byte
        }
        return value
    }

    func be16(_ offset: Int) -> Int? { uint(offset, 2).map(Int.init) }
    func be32(_ offset: Int) -> Int? { uint(offset, 4).map(Int.init) }
    func be64(_ offset: Int) -> UInt64? { uint(offset, 8) }
    func le16(_ offset: Int) -> Int? { uint(offset, 2, bigEndian: false).map(Int.init) }
    func le32(_ offset: Int) -> Int? { uint(offset, 4, bigEndian: false).map(Int.init) }

    func sub(_ offset: Int, _ length: Int) -> ArraySlice<UInt8>? {
        guard offset >= 0, length >= 0, offset <= count, length <= count - offset else { return nil }
        return self[(startIndex + offset)..<(startIndex + offset + length)]
    }

    func ascii(_ offset: Int, _ length: Int) -> String? {
        sub(offset, length).map { String(decoding: $0, as: UTF8.self) }
    }

    /// First index (relative) of `needle` at or after `from`, or nil.
    func firstRange(of needle: [UInt8], from: Int = 0) -> Int? {
        guard let first = needle.first, needle.count <= count else { return nil }
        var i = Swift.max(from, 0)
        let last = count - needle.count
        while i <= last {
            if self[startIndex + i] == first {
                var match = true
                for k in 1..<needle.count where self[startIndex + i + k] != needle[k] { match = false; break }
                if match { return i }
            }
            i += 1
        }
        return nil
    }
}

/// A minimal read-only view of a TIFF structure (header + IFD entries), used to sniff RAWs.
struct TIFFView {
    struct Entry { var tag: Int; var type: Int; var count: Int; var valueOffset: Int }
    let bytes: ArraySlice<UInt8>
    let little: Bool

    init?(bytes: ArraySlice<UInt8>) {
        guard let b0 = bytes.u8(0), let b1 = bytes.u8(1), b0 == b1, b0 == 0x49 || b0 == 0x4D else { return nil }
        self.bytes = bytes
        self.little = b0 == 0x49
    }

    init(bytes: ArraySlice<UInt8>, little: Bool) {
        self.bytes = bytes
        self.little = little
    }

    func u16(_ o: Int) -> Int? { little ? bytes.le16(o) : bytes.be16(o) }
    func u32(_ o: Int) -> Int? { little ? bytes.le32(o) : bytes.be32(o) }

    var ifd0Offset: Int? { u32(4) }

    /// Entries of the IFD at `offset`, at most 512 of them; an IFD that runs off the end is cut short.
    func entries(at offset: Int) -> [Entry] {
        guard let n = u16(offset) else { return [] }
        var out: [Entry] = []
        for k in 0..<Swift.min(n, 512) {
            let e = offset + 2 + 12 * k
            guard let tag = u16(e), let type = u16(e + 2), let count = u32(e + 4) else { break }
            out.append(Entry(tag: tag, type: type, count: count, valueOffset: e + 8))
        }
        return out
    }

    func ascii(_ entry: Entry) -> String? {
        guard entry.type == 2, entry.count > 0, entry.count < 4096 else { return nil }
        let start = entry.count <= 4 ? entry.valueOffset : (u32(entry.valueOffset) ?? -1)
        guard let raw = bytes.sub(start, entry.count) else { return nil }
        let text = raw.prefix { $0 != 0 }
        return String(decoding: text, as: UTF8.self)
    }
}

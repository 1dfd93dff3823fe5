/// FastCDC content-defined chunking with normalized chunking (Xia et al., 2016/2020).
///
/// Boundaries depend only on the bytes near them, so inserting bytes near the start of a
/// file moves one or two boundaries and every later chunk keeps its id. The parameters and
/// `gearTable` are part of the storage format: changing them breaks dedup with old imports.
///
/// The gear hash is `h = (h << 1) + gear[byte]`, so bit k of `h` depends on the last k+1
/// bytes; the masks take the top bits, which makes the condition depend on a 43–64 byte
/// window. Normalization level 2: before the average size the mask has two more bits than
/// log2(average) (cuts are rarer), after it two fewer (cuts are likelier), which pulls chunk
/// sizes towards the average.
public enum FastCDC {
    /// No chunk is shorter than this, except the last one of an object (or a small object).
    public static let minSize = 256 * 1024
    /// The target average (the "normal" size of the paper).
    public static let averageSize = 1024 * 1024
    /// No chunk is longer than this; it is also the largest chunk a store accepts.
    public static let maxSize = 8 * 1024 * 1024

    /// 22 top bits: used while the chunk is shorter than `averageSize`.
    static let maskSmall: UInt64 = ~UInt64(0) << (64 - 22)
    /// 18 top bits: used once the chunk has reached `averageSize`.
    static let maskLarge: UInt64 = ~UInt64(0) << (64 - 18)

    /// Length of the chunk that starts at `data[0]`.
    ///
    /// `data` must hold at least `maxSize` bytes unless it is the end of the object; then the
    /// answer is the same as it would be with the whole object in memory.
    @inline(__always)
    public static func cutPoint(_ data: UnsafeRawBufferPointer) -> Int {
        let n = data.count
        if n <= minSize { return n }
        let end = min(n, maxSize)
        let normal = min(end, averageSize)
        guard let base = data.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return n }
        return gearTable.withUnsafeBufferPointer { g -> Int in
            let gear = g.baseAddress!
            var h: UInt64 = 0
            var i = minSize
            // Two bytes per step: fewer loop tests in the hot loop; the mask test after each byte
            // keeps boundaries identical to the one-byte loop.
            while i + 1 < normal {
                h = (h &<< 1) &+ gear[Int(base[i])]
                if h & maskSmall == 0 { return i + 1 }
                h = (h &<< 1) &+ gear[Int(base[i + 1])]
                if h & maskSmall == 0 { return i + 2 }
                i += 2
            }
            while i < normal {
                h = (h &<< 1) &+ gear[Int(base[i])]
                if h & maskSmall == 0 { return i + 1 }
                i += 1
            }
            while i + 1 < end {
                h = (h &<< 1) &+ gear[Int(base[i])]
                if h & maskLarge == 0 { return i + 1 }
                h = (h &<< 1) &+ gear[Int(base[i + 1])]
                if h & maskLarge == 0 { return i + 2 }
                i += 2
            }
            while i < end {
                h = (h &<< 1) &+ gear[Int(base[i])]
                if h & maskLarge == 0 { return i + 1 }
                i += 1
            }
            return end
        }
    }

    /// Chunk lengths of a whole buffer held in memory.
    public static func chunkLengths(_ data: UnsafeRawBufferPointer) -> [Int] {
        var out: [Int] = []
        var start = 0
        while start < data.count {
            let len = cutPoint(UnsafeRawBufferPointer(rebasing: data[start...]))
            out.append(len)
            start += len
        }
        return out
    }

    public static func chunkLengths(_ data: [UInt8]) -> [Int] {
        data.withUnsafeBytes { chunkLengths($0) }
    }
}

import HearthCrypto
import Testing
@testable import ChunkStore

/// Deterministic pseudo-random bytes (xorshift64*), so tests need no corpus.
func pseudoRandomBytes(_ count: Int, seed: UInt64) -> [UInt8] {
    var s = (seed &+ 1) &* 0x9E37_79B9_7F4A_7C15 | 1
    var out = [UInt8](repeating: 0, count: count)
    out.withUnsafeMutableBytes { raw in
        var i = 0
        while i < count {
            s ^= s >> 12; s ^= s << 25; s ^= s >> 27
            var v = s &* 0x2545_F491_4F6C_DD1D
            for _ in 0..<8 where i < count {
                raw[i] = UInt8(truncatingIfNeeded: v)
                v >>= 8
                i += 1
            }
        }
    }
    return out
}

@Suite struct FastCDCTests {
    @Test func gearTableIsSplitMix64() {
        var g = SplitMix64(state: 0x4845_4152_5448_4745)
        let regenerated = (0..<256).map { _ in g.next() }
        #expect(regenerated == gearTable)
        #expect(Set(gearTable).count == 256)
    }

    @Test func sizesRespectLimitsAndCoverTheBuffer() {
        let data = pseudoRandomBytes(20 * 1024 * 1024, seed: 7)
        let lengths = FastCDC.chunkLengths(data)
        #expect(lengths.reduce(0, +) == data.count)
        for len in lengths.dropLast() {
            #expect(len >= FastCDC.minSize && len <= FastCDC.maxSize)
        }
        #expect(lengths.count >= 10 && lengths.count <= 40, "20 MiB should make about 17 chunks of ~1.1 MiB, got \(lengths.count)")
    }

    @Test func constantDataCutsAtMax() {
        let zeros = [UInt8](repeating: 0, count: 20 * 1024 * 1024)
        let lengths = FastCDC.chunkLengths(zeros)
        #expect(lengths.reduce(0, +) == zeros.count)
        #expect(lengths.dropLast().allSatisfy { $0 == FastCDC.maxSize })
    }

    @Test func boundariesAreDeterministic() {
        let data = pseudoRandomBytes(12 * 1024 * 1024, seed: 99)
        #expect(FastCDC.chunkLengths(data) == FastCDC.chunkLengths(data))
    }

    @Test func smallBuffersAreOneChunk() {
        #expect(FastCDC.chunkLengths([UInt8]()) == [])
        #expect(FastCDC.chunkLengths([1, 2, 3]) == [3])
        #expect(FastCDC.chunkLengths(pseudoRandomBytes(FastCDC.minSize, seed: 1)) == [FastCDC.minSize])
    }

    @Test func insertionNearStartSharesMostChunks() {
        let data = pseudoRandomBytes(20 * 1024 * 1024, seed: 42)
        var edited = data
        edited.insert(contentsOf: pseudoRandomBytes(100, seed: 5), at: 5000)
        let a = ChunkScanner.scan(bytes: data).chunks
        let b = ChunkScanner.scan(bytes: edited).chunks
        let shared = Set(a).intersection(Set(b)).count
        #expect(shared >= a.count - 2, "only \(shared) of \(a.count) chunks survived a 100-byte insertion")
    }

    @Test func scanIDsMatchOneShotHashes() {
        let data = pseudoRandomBytes(5 * 1024 * 1024 + 17, seed: 3)
        let obj = ChunkScanner.scan(bytes: data)
        #expect(obj.id == Blake2b.hash256(data))
        #expect(obj.size == UInt64(data.count))
        var start = 0
        for (len, id) in zip(FastCDC.chunkLengths(data), obj.chunks) {
            #expect(id == Blake2b.hash256(Array(data[start..<start + len])))
            start += len
        }
        #expect(ChunkScanner.scan(bytes: []).id == Blake2b.hash256([UInt8]()))
        #expect(ChunkScanner.scan(bytes: []).chunks.isEmpty)
    }
}

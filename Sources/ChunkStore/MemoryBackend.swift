import HearthCrypto

/// The in-memory backend: deterministic, no files. The simulator runs the real store
/// logic over it; it obeys the same batch rules as the file backend.
final class MemoryBackend: ChunkBackend {
    private var chunks: [Hash256: [UInt8]] = [:]
    private var staged: [Hash256: [UInt8]] = [:]
    private var stagedOrder: [Hash256] = []

    func willRead(_ ids: [Hash256]) {}

    func location(of id: Hash256) throws -> String? {
        chunks[id] == nil ? nil : "memory"
    }

    func contains(_ id: Hash256) throws -> Bool {
        chunks[id] != nil
    }

    func read(_ id: Hash256) throws -> [UInt8] {
        guard let bytes = chunks[id] else {
            throw ChunkStoreError(.missingChunk, "chunk \(id.hex) is not in the store")
        }
        let actual = Blake2b.hash256(bytes)
        guard actual == id else {
            throw ChunkStoreError(.corrupt, "chunk \(id.hex) in memory is corrupt: its bytes hash to \(actual.hex); fetch it again from a peer")
        }
        return bytes
    }

    func append(_ id: Hash256, _ bytes: UnsafeRawBufferPointer) throws -> Bool {
        if chunks[id] != nil || staged[id] != nil { return false }
        staged[id] = [UInt8](bytes)
        stagedOrder.append(id)
        return true
    }

    func commit() throws {
        for id in stagedOrder { chunks[id] = staged[id] }
        rollback()
    }

    func rollback() {
        staged.removeAll()
        stagedOrder.removeAll()
    }

    func mark() -> BatchMark {
        BatchMark(stagedCount: stagedOrder.count, createdCount: 0, packSizes: [:])
    }

    func rollback(to mark: BatchMark) {
        for id in stagedOrder[mark.stagedCount...] { staged[id] = nil }
        stagedOrder.removeSubrange(mark.stagedCount...)
    }

    func allIDs() throws -> [Hash256] {
        chunks.keys.sorted()
    }

    func forget(_ ids: [Hash256]) throws -> Int {
        var n = 0
        for id in Set(ids).sorted() where chunks.removeValue(forKey: id) != nil { n += 1 }
        return n
    }

    func verify(progress: (UInt64, UInt64) -> Void) throws -> VerifyReport {
        let ids = chunks.keys.sorted()
        let total = ids.reduce(UInt64(0)) { $0 + UInt64(chunks[$1]!.count) }
        var report = VerifyReport()
        for id in ids {
            let bytes = chunks[id]!
            if Blake2b.hash256(bytes) != id {
                report.problems.append(ChunkProblem(chunk: id, pack: "memory", kind: .badHash))
            }
            report.chunksChecked += 1
            report.bytesChecked += UInt64(bytes.count)
            progress(report.bytesChecked, total)
        }
        return report
    }

    func gc(keep: Set<Hash256>, stop: GCStop?) throws -> GCReport {
        var report = GCReport()
        for id in chunks.keys.sorted() where !keep.contains(id) {
            let n = chunks.removeValue(forKey: id)!.count
            report.chunksRemoved += 1
            report.bytesRemoved += UInt64(n)
            report.bytesFreed += Int64(n)
        }
        return report
    }

    func integrityProblems() -> [String] { [] }

    func stats() throws -> ChunkStoreStats {
        let bytes = chunks.values.reduce(UInt64(0)) { $0 + UInt64($1.count) }
        return ChunkStoreStats(chunkCount: chunks.count, storedBytes: bytes, packCount: 0, packBytes: bytes)
    }

    /// Flips one bit of a stored chunk, as a failing disk would (tests only).
    func damage(_ id: Hash256) {
        precondition(chunks[id] != nil && !chunks[id]!.isEmpty)
        chunks[id]![0] ^= 0x01
    }
}

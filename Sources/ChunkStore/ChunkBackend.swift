import HearthCrypto

/// Where chunk bytes live: pack files with a SQLite index, or memory (for the simulator).
///
/// Writes are batched: `append` stages a chunk, `commit` makes the whole batch durable and
/// visible (bytes first, index second), `rollback` forgets it. Between a failed `append` or
/// `commit` and `rollback` nothing staged is visible to readers. Callers hold the store lock.
protocol ChunkBackend: AnyObject {
    /// Where a chunk lives, for messages ("packs/00/…pack" or "memory").
    func location(of id: Hash256) throws -> String?
    func contains(_ id: Hash256) throws -> Bool
    /// Returns the chunk's bytes after checking that they hash to `id`.
    func read(_ id: Hash256) throws -> [UInt8]
    /// The chunk's bytes with the record checks but without re-hashing them, for a sender whose
    /// receiver verifies every chunk by hash anyway.
    func readForPeer(_ id: Hash256) throws -> [UInt8]
    /// Hints that these chunks will be read soon (a peer asked for them), so the disk can fetch
    /// them ahead of the reads. Best effort: unknown ids are skipped, nothing is thrown.
    func willRead(_ ids: [Hash256])
    /// Stages a chunk unless it is already stored or staged; returns whether it was staged.
    func append(_ id: Hash256, _ bytes: UnsafeRawBufferPointer) throws -> Bool
    func commit() throws
    func rollback()
    /// A point inside the open batch that `rollback(to:)` can return to.
    func mark() -> BatchMark
    /// Forgets what was staged after `mark`, keeping what was staged before it.
    func rollback(to mark: BatchMark)
    /// Every indexed chunk id, sorted.
    func allIDs() throws -> [Hash256]
    /// Drops chunks from the index so they count as missing (and can be fetched again).
    func forget(_ ids: [Hash256]) throws -> Int
    func verify(progress: (UInt64, UInt64) -> Void) throws -> VerifyReport
    func gc(keep: Set<Hash256>, stop: GCStop?) throws -> GCReport
    func stats() throws -> ChunkStoreStats
    /// SQLite's own check of the index (empty when intact, or for a store without one).
    func integrityProblems() -> [String]
}

struct BatchMark {
    let stagedCount: Int
    let createdCount: Int
    /// Sizes of the packs the batch had touched at the mark.
    let packSizes: [Int64: Int64]
}

/// Fault injection for tests: end `gc` after a step, as a crash would, leaving the
/// directory exactly as it is at that point.
enum GCStop: Sendable {
    /// Unreferenced chunks are gone from the index; no pack touched yet.
    case afterIndexPruned
    /// Live chunks of sparse packs are copied (not yet fsynced or indexed).
    case afterCopiesWritten
    /// The index points at the copies; the old packs are still on disk.
    case afterIndexSwitched
}

extension ChunkBackend {
    func readForPeer(_ id: Hash256) throws -> [UInt8] { try read(id) }
}
